"""Missing optional packages are reported with the exact install command."""
import pytest

from insar_deformation_detector.core.common.dependencies import (
    MissingDependency,
    install_command,
    missing_packages,
    require,
)


def test_missing_packages_lists_only_the_missing_ones_in_order():
    assert missing_packages(["numpy", "no_such_package_xyz", "scipy", "another_missing_pkg"]) == [
        "no_such_package_xyz", "another_missing_pkg"]
    assert missing_packages([]) == []


def test_require_passes_when_everything_is_installed():
    require("numpy", "scipy", "osgeo")


def test_message_names_each_package_and_the_pinned_install_command(monkeypatch):
    import insar_deformation_detector.core.common.dependencies as dependencies

    monkeypatch.setattr(dependencies, "missing_packages", lambda names: list(names))
    with pytest.raises(MissingDependency) as caught:
        require("torch", "torchvision")
    message = str(caught.value)
    assert isinstance(caught.value, ImportError)
    assert caught.value.missing == ["torch", "torchvision"]
    assert "torch, torchvision" in message
    assert "-m pip install torch==2.14.1 torchvision==0.29.1" in message
    assert "QGIS" in message


def test_unknown_package_is_named_unpinned():
    with pytest.raises(MissingDependency) as caught:
        require("numpy", "no_such_package_xyz")
    assert "no_such_package_xyz" in str(caught.value)
    assert "pip install no_such_package_xyz" in str(caught.value)
    assert install_command(["numpy"]).endswith('pip install "numpy<2"')


def test_pip_installs_pinned_packages_into_the_plugin_folder_and_holds_numpy(monkeypatch):
    import numpy

    import insar_deformation_detector.core.common.dependencies as dependencies

    monkeypatch.setattr(dependencies.sys, "platform", "linux")
    cpu = dependencies.pip_arguments("/usr/bin/python3", "/profile/insardefo", ["torch", "torchvision"], cuda=False)
    assert cpu[:4] == ["/usr/bin/python3", "-m", "pip", "install"]
    assert cpu[cpu.index("--target") + 1] == "/profile/insardefo"
    assert "torch==2.14.1+cpu" in cpu and "torchvision==0.29.1+cpu" in cpu
    assert f"numpy=={numpy.__version__}" in cpu  # QGIS's NumPy is held, never upgraded
    assert cpu[cpu.index("--extra-index-url") + 1] == dependencies.CPU_INDEX_URL
    cuda = dependencies.pip_arguments("/usr/bin/python3", "/profile/insardefo", ["torch"], cuda=True)
    assert "torch==2.14.1" in cuda and "--extra-index-url" not in cuda
    dask = dependencies.pip_arguments("/usr/bin/python3", "/profile/insardefo", ["distributed"], cuda=False)
    assert "dask[distributed]==2026.8.0" in dask  # the optional cluster extra, pinned as in requirements.txt


def test_packages_folder_goes_after_qgis_own_packages(tmp_path, monkeypatch):
    import sys

    import insar_deformation_detector.core.common.dependencies as dependencies

    monkeypatch.setattr(sys, "path", list(sys.path))
    dependencies.add_packages_folder(str(tmp_path))
    dependencies.add_packages_folder(str(tmp_path))
    assert sys.path[-1] == str(tmp_path) and sys.path.count(str(tmp_path)) == 1
    dependencies.add_packages_folder(str(tmp_path / "missing"))
    assert str(tmp_path / "missing") not in sys.path


def test_diagnostics_report_versions_and_device():
    from insar_deformation_detector.core.common.dependencies import diagnostics

    text = diagnostics([("Plugin", "9.9")])
    for label in ("Platform:", "Python:", "Plugin: 9.9", "numpy: ", "osgeo.gdal: ", "torch: 2.14.1",
                  "Device: CPU", "NumPy matrix products: ", "Plugin matrix products (SciPy BLAS): "):
        assert label in text
    # pytest's Python loaded NumPy before QGIS's libraries: its products reach the optimised BLAS
    assert "BLAS verdict: Matrix products run on an optimised BLAS" in text
