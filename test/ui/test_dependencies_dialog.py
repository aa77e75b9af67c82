"""Tests of ui/dependencies_dialog.py, opened headless and driven as a user would."""
import sys

import insar_deformation_detector.ui.dependencies_dialog as dependencies_dialog

from helpers import wait_until


def test_dependencies_dialog_reports_versions_and_device(qgis_app, tmp_path):
    dialog = dependencies_dialog.DependenciesDialog(str(tmp_path / "packages"))
    text = dialog.log.toPlainText()
    assert "torch: 2.14.1" in text and "numpy: 1." in text and "Device: CPU" in text
    assert f"Plugin package folder: {tmp_path / 'packages'}" in text
    assert "Everything training and detection need is installed." == dialog.status.text()
    assert not dialog.install_button.isEnabled()
    dialog.copy_diagnostics()
    assert "torch: 2.14.1" in qgis_app.clipboard().text()


def test_dependencies_dialog_explains_slow_matrix_products(qgis_app, tmp_path, monkeypatch):
    from insar_deformation_detector.core.common.blas_diagnostics import BlasReport

    dialog = dependencies_dialog.DependenciesDialog(str(tmp_path / "packages"))
    assert dialog.matrix_products.text().startswith("Matrix products run on an optimised BLAS")  # NumPy came first
    gsl = BlasReport(numpy_gflops=2.5, plugin_gflops=30.0, numpy_library="/usr/lib/libgslcblas.so.0",
                     plugin_library="/usr/lib/openblas-pthread/libblas.so.3")
    monkeypatch.setattr(dependencies_dialog, "blas_report", lambda: gsl)
    dialog = dependencies_dialog.DependenciesDialog(str(tmp_path / "packages"))
    assert dialog.matrix_products.text() == (
        "NumPy's matrix products run at 2.5 GFLOP/s on an unoptimised reference CBLAS (libgslcblas.so.0) that this "
        "program loaded before NumPy; the plugin calls SciPy's BLAS instead (30.0 GFLOP/s), so its interpolation is "
        "not slowed.")
    assert "NumPy matrix products: 2.5 GFLOP/s (/usr/lib/libgslcblas.so.0)" in dialog.log.toPlainText()
    reference = BlasReport(numpy_gflops=2.0, plugin_gflops=2.2)
    monkeypatch.setattr(dependencies_dialog, "blas_report", lambda: reference)
    dialog = dependencies_dialog.DependenciesDialog(str(tmp_path / "packages"))
    assert "unoptimised reference BLAS" in dialog.matrix_products.text()
    assert "install OpenBLAS" in dialog.matrix_products.text()


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


def test_a_failed_pip_run_ends_with_the_manual_command(qgis_app, tmp_path, monkeypatch):
    monkeypatch.setattr(dependencies_dialog, "missing_packages", lambda names: ["torch"])
    failing_pip = [sys.executable, "-c", "import sys; print('No module named pip'); sys.exit(1)"]
    monkeypatch.setattr(dependencies_dialog, "pip_arguments", lambda *arguments: failing_pip)
    dialog = dependencies_dialog.DependenciesDialog(str(tmp_path / "packages"))
    dialog.install_button.click()
    assert wait_until(lambda: dialog.process is None)
    log = dialog.log.toPlainText()
    assert "No module named pip" in log and "pip failed (exit 1)" in log
    assert "-m pip install torch==2.14.1" in log and "pip failed (exit 1)" in dialog.status.text()
    sys.path.remove(str(tmp_path / "packages"))


def test_dask_is_offered_as_an_optional_extra(qgis_app, tmp_path, monkeypatch):
    missing = {"distributed"}
    monkeypatch.setattr(dependencies_dialog, "missing_packages", lambda names: [name for name in names
                                                                                if name in missing])
    pip_calls = []

    def fake_pip(python, folder, packages, cuda):
        pip_calls.append(list(packages))
        return [sys.executable, "-c", "print('Successfully installed dask-2026.8.0 distributed-2026.8.0')"]

    monkeypatch.setattr(dependencies_dialog, "pip_arguments", fake_pip)
    folder = tmp_path / "packages"
    dialog = dependencies_dialog.DependenciesDialog(str(folder))
    assert "Everything training and detection need is installed." in dialog.status.text()
    assert "Optional: Dask" in dialog.status.text()
    assert dialog.cluster_button.isEnabled() and not dialog.install_button.isEnabled()
    dialog.cluster_button.click()
    missing.clear()
    assert wait_until(lambda: dialog.process is None)
    assert pip_calls == [["distributed"]] and "pip finished." in dialog.log.toPlainText()
    assert not dialog.cluster_button.isEnabled() and "Optional: Dask" not in dialog.status.text()
    sys.path.remove(str(folder))
