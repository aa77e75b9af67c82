"""Missing optional packages are reported with the exact install command."""
import pytest

from insar_deformation_detector.core.dependencies import (MissingDependency, install_command,
                                                          missing_packages, require)


def test_missing_packages_lists_only_the_missing_ones_in_order():
    assert missing_packages(["numpy", "no_such_package_xyz", "scipy", "another_missing_pkg"]) == [
        "no_such_package_xyz", "another_missing_pkg"]
    assert missing_packages([]) == []


def test_require_passes_when_everything_is_installed():
    require("numpy", "scipy", "osgeo")


def test_message_names_each_package_and_the_pinned_install_command(monkeypatch):
    import insar_deformation_detector.core.dependencies as dependencies

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
