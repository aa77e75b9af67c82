"""Tests of core/distributed/package_shipping.py: the package a worker lacks, zipped and importable."""
import subprocess
import sys
import zipfile

import pytest

from insar_deformation_detector.core.distributed.package_shipping import package_zip, ship_package


def test_the_zip_alone_makes_the_core_importable_without_the_plugin_or_qgis(tmp_path):
    path = package_zip(str(tmp_path))
    names = zipfile.ZipFile(path).namelist()
    assert "insar_deformation_detector/__init__.py" in names
    assert "insar_deformation_detector/core/distributed/detection_job.py" in names
    assert not any(name.startswith(("insar_deformation_detector/processing_provider", "insar_deformation_detector/ui"))
                   for name in names)
    check = (f"import sys; sys.path.insert(0, {path!r}); "
             "import insar_deformation_detector.core.distributed.interpolation_job as job; "
             "assert job.__file__.startswith(sys.path[0]); assert 'qgis' not in sys.modules")
    completed = subprocess.run([sys.executable, "-S", "-c", check], capture_output=True, text=True, timeout=120,
                               env={"PYTHONPATH": "/usr/lib/python3/dist-packages"})
    assert completed.returncode == 0, completed.stderr


def test_workers_that_have_the_package_are_sent_nothing():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        assert ship_package(client) is False
