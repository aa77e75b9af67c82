"""The plugin's dialogs, opened headless and driven as a user would."""
import sys

from qgis.PyQt.QtCore import QCoreApplication, QElapsedTimer

import insar_deformation_detector.ui.dependencies_dialog as dependencies_dialog


def wait_until(condition, seconds=120):
    """Process Qt events until ``condition()`` holds; False on timeout."""
    timer = QElapsedTimer()
    timer.start()
    while not condition():
        if timer.elapsed() > seconds * 1000:
            return False
        QCoreApplication.processEvents()
    return True


def test_dependencies_dialog_reports_versions_and_device(qgis_app, tmp_path):
    dialog = dependencies_dialog.DependenciesDialog(str(tmp_path / "packages"))
    text = dialog.log.toPlainText()
    assert "torch: 2.14.1" in text and "numpy: 1." in text and "Device: CPU" in text
    assert f"Plugin package folder: {tmp_path / 'packages'}" in text
    assert "Everything training and detection need is installed." == dialog.status.text()
    assert not dialog.install_button.isEnabled()
    dialog.copy_diagnostics()
    assert "torch: 2.14.1" in qgis_app.clipboard().text()


def test_dependencies_dialog_installs_what_is_missing_and_shows_the_log(qgis_app, tmp_path, monkeypatch):
    missing = ["torch", "torchvision"]
    monkeypatch.setattr(dependencies_dialog, "missing_packages", lambda names: list(missing))
    monkeypatch.setattr(dependencies_dialog, "has_nvidia_gpu", lambda: False)
    pip_calls = []

    def fake_pip(python, folder, packages, cuda):
        pip_calls.append((folder, list(packages), cuda))
        return [sys.executable, "-c", "print('Successfully installed torch-2.14.1 torchvision-0.29.1')"]

    monkeypatch.setattr(dependencies_dialog, "pip_arguments", fake_pip)
    folder = tmp_path / "packages"
    dialog = dependencies_dialog.DependenciesDialog(str(folder))
    assert "Missing: torch, torchvision" in dialog.status.text() and "CPU-only" in dialog.status.text()
    assert dialog.install_button.isEnabled()
    dialog.install_button.click()
    assert not dialog.install_button.isEnabled()
    missing.clear()  # what pip would have done
    assert wait_until(lambda: dialog.process is None)
    assert pip_calls == [(str(folder), ["torch", "torchvision"], False)] and folder.is_dir()
    log = dialog.log.toPlainText()
    assert "Successfully installed torch-2.14.1" in log and "pip finished." in log
    assert str(folder) in sys.path
    assert dialog.status.text() == "Everything training and detection need is installed."
    sys.path.remove(str(folder))


def test_without_pip_the_dialog_shows_the_manual_command(qgis_app, tmp_path, monkeypatch):
    monkeypatch.setattr(dependencies_dialog, "missing_packages", lambda names: ["torch"])
    monkeypatch.setattr(dependencies_dialog, "qgis_python", lambda: None)
    dialog = dependencies_dialog.DependenciesDialog(str(tmp_path))
    assert "no Python for pip was found" in dialog.status.text()
    assert "-m pip install torch==2.14.1" in dialog.status.text()
    assert not dialog.install_button.isEnabled()
