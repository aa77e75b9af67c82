"""Tests of core/distributed/package_shipping.py: the package a worker lacks, zipped and importable."""
import importlib.util
import os
import subprocess
import sys
import zipfile

import pytest

from insar_deformation_detector.core.distributed.package_shipping import PACKAGE, package_zip, ship_package


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


def test_a_worker_without_the_plugin_is_sent_the_package_and_runs_its_tasks(tmp_path):
    distributed = pytest.importorskip("distributed")
    import insar_deformation_detector
    from insar_deformation_detector.core.common.workers import thread_budget

    own = insar_deformation_detector.__file__

    environment = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    environment["OMP_NUM_THREADS"] = "1"
    with distributed.LocalCluster(n_workers=0, dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        worker = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", cluster.scheduler_address,
                                   "--nthreads", "1", "--no-nanny", "--no-dashboard"], cwd=str(tmp_path),
                                  env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            client.wait_for_workers(1, timeout=60)
            assert not any(client.run(lambda: importlib.util.find_spec(PACKAGE) is not None).values())
            assert ship_package(client) is True
            assert client.submit(thread_budget, pure=False).result(timeout=60) == 1
            origins = client.run(lambda: importlib.util.find_spec(PACKAGE).origin)
            assert all(".zip" in origin for origin in origins.values())
            # the scheduler runs in this process: the running package stays the plugin's own
            assert sys.modules["insar_deformation_detector"].__file__ == own and ".zip" not in own
        finally:
            worker.kill()
            worker.wait(timeout=30)
