"""The plugin's dialogs, opened headless and driven as a user would.

The detect dialog's test renders its results to build/test-artefacts/, for a person to look at.
"""
import os
import sys

import pytest
from osgeo import osr
from qgis.core import QgsProject, QgsRasterLayer, QgsVectorLayer
from qgis.PyQt.QtCore import QCoreApplication, QElapsedTimer

import insar_deformation_detector.ui.dependencies_dialog as dependencies_dialog
from conftest import ROOT
from insar_deformation_detector.core.deformation_sources import WIDE_POINT_SOURCES
from insar_deformation_detector.core.line_of_sight import ASCENDING, DESCENDING
from insar_deformation_detector.core.model_file import read_model_file
from insar_deformation_detector.core.raster_grid import GridSpec
from insar_deformation_detector.core.synthetic_scene import make_scene, write_scene_outputs

ARTEFACTS = os.path.join(ROOT, "build", "test-artefacts")


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


def test_dependencies_dialog_explains_slow_matrix_products(qgis_app, tmp_path, monkeypatch):
    from insar_deformation_detector.core.blas_diagnostics import BlasReport

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


@pytest.fixture(scope="module")
def two_passes(tmp_path_factory):
    """An ascending sparse raster and descending points of one 320 x 320 px scene with a wide point source."""
    folder = tmp_path_factory.mktemp("passes")
    paths = {}
    for name, geometry, output in (("ascending", ASCENDING, "sparse"), ("descending", DESCENDING, "points")):
        scene = make_scene(GridSpec(400000.0, 300000.0, 10.0, 320, 320), seed=4, point_sources=1, tunnels=0,
                           geometry=geometry, ranges=WIDE_POINT_SOURCES)
        reference = osr.SpatialReference()
        reference.ImportFromEPSG(27700)
        paths[name] = str(folder / f"{name}.{'tif' if output == 'sparse' else 'gpkg'}")
        write_scene_outputs(scene, {output: paths[name]}, reference.ExportToWkt())
    return paths


@pytest.fixture()
def project(qgis_app):
    QgsProject.instance().clear()
    yield QgsProject.instance()
    QgsProject.instance().clear()


def test_detect_dialog_adds_styled_results_of_both_passes_and_their_combination(qgis_processing, plugin, project,
                                                                                 two_passes, tmp_path):
    from insar_deformation_detector.ui.detect_dialog import DetectDialog
    from insar_deformation_detector.ui.map_image import render_png

    raster = QgsRasterLayer(two_passes["ascending"], "ascending velocities")
    points = QgsVectorLayer(f"{two_passes['descending']}|layername=measurements", "descending points", "ogr")
    project.addMapLayers([raster, points])
    dialog = DetectDialog()
    dialog.rows[0].layer.setLayer(raster)
    dialog.add_pass()
    dialog.rows[1].layer.setLayer(points)
    dialog.rows[1].field.setField("velocity")
    assert dialog.rows[1].pass_name == "descending" and not dialog.rows[0].field.isEnabled()
    dialog.folder.setFilePath(str(tmp_path))
    dialog.panel.start_button.click()
    assert wait_until(lambda: dialog.panel.task is None, seconds=300), dialog.panel.status.text()
    assert dialog.panel.status.text().startswith("Done."), dialog.panel.status.text()
    names = sorted(layer.name() for layer in dialog.added_layers)
    assert names == sorted([f"{prefix} {kind}" for prefix in ("pass 1 (ascending)", "pass 2 (descending)")
                            for kind in ("areas", "probability", "velocity")] + ["combined areas",
                                                                                  "combined probability"])
    group = project.layerTreeRoot().children()[0]
    assert group.name().startswith("Deformation detection ")
    assert len(group.findLayers()) == 8
    for layer in dialog.added_layers:
        assert layer.isValid()
        if layer.name().endswith("areas"):
            assert layer.renderer().type() == "categorizedSymbol" and layer.labelsEnabled()
        else:
            items = layer.renderer().shader().rasterShaderFunction().colorRampItemList()
            if layer.name().endswith("probability"):
                assert items[0].color.alpha() == 0 and items[1].value == 0.5
            else:
                assert items[0].value == pytest.approx(-items[-1].value)
    os.makedirs(ARTEFACTS, exist_ok=True)
    image = render_png([layer for layer in dialog.added_layers if not layer.name().startswith("pass 2")],
                       os.path.join(ARTEFACTS, "detect_dialog_canvas.png"), width_px=640)
    assert os.path.getsize(image) > 10000


def test_detect_dialog_says_what_is_missing(plugin, project):
    from insar_deformation_detector.ui.detect_dialog import DetectDialog

    dialog = DetectDialog()
    dialog.panel.start_button.click()
    assert dialog.panel.status.text() == "Choose at least one velocity layer" and dialog.panel.task is None


def test_train_wizard_synthesizes_trains_evaluates_and_shows_the_results(qgis_processing, plugin, tmp_path):
    from insar_deformation_detector.ui.train_wizard import TrainWizard

    wizard = TrainWizard()
    wizard.architecture.setCurrentText("alexnet_compact")
    wizard.kind.setCurrentIndex(0)
    wizard.count.setValue(12)
    wizard.epochs.setValue(1)
    wizard.folder.setFilePath(str(tmp_path))
    wizard.panel.start_button.click()
    assert wait_until(lambda: wizard.panel.task is None, seconds=600), wizard.panel.status.text()
    assert wizard.panel.status.text().startswith("Done: 1 epochs"), wizard.panel.status.text()
    for name in ("model", "report", "curve", "evaluation", "dense_scene"):
        assert os.path.isfile(wizard.paths()[name])
    shared_form = read_model_file(wizard.paths()["model"])[0]["shared_form_training"]
    assert shared_form["context_rasters"] == ["context_scene.tif"] and shared_form["steps"] >= 1
    evaluation = wizard.results["Evaluating on the held-out set"]
    assert 0.0 <= evaluation["ACCURACY"] <= 100.0
    assert f"{evaluation['ACCURACY']:.2f} %" in wizard.metrics.text()
    assert "False positive rate" in wizard.metrics.text()
    assert not wizard.curve.pixmap().isNull()


def test_train_wizard_learns_the_shared_form_only_for_padded_alexnets(qgis_processing, plugin, tmp_path):
    from insar_deformation_detector.ui.train_wizard import TrainWizard

    wizard = TrainWizard()
    wizard.folder.setFilePath(str(tmp_path))
    assert wizard.architecture.currentText() == "alexnet_unpadded" and not wizard.fast_detection.isEnabled()
    assert len(wizard.steps()) == 4
    wizard.architecture.setCurrentText("alexnet_compact")
    assert wizard.fast_detection.isEnabled()
    labels = [label for _, _, label in wizard.steps()]
    assert "Interpolating the scene" in labels and labels.index("Interpolating the scene") < labels.index("Training")
    wizard.architecture.setCurrentText("squeezenet1_1")
    assert not wizard.fast_detection.isEnabled()
    assert "CONTEXT_RASTERS" not in dict((label, parameters) for _, parameters, label in wizard.steps())["Training"]
    wizard.architecture.setCurrentText("alexnet_compact")
    wizard.fast_detection.setChecked(False)
    assert len(wizard.steps()) == 4


def test_train_wizard_asks_for_a_folder(qgis_processing, plugin):
    from insar_deformation_detector.ui.train_wizard import TrainWizard

    wizard = TrainWizard()
    wizard.panel.start_button.click()
    assert wizard.panel.status.text() == "Choose an existing folder on the first page" and wizard.panel.task is None


def test_cancel_stops_the_detect_dialog_within_seconds(qgis_processing, plugin, project, two_passes, tmp_path):
    from insar_deformation_detector.ui.detect_dialog import DetectDialog

    raster = QgsRasterLayer(two_passes["ascending"], "ascending velocities")
    project.addMapLayer(raster)
    dialog = DetectDialog()
    dialog.rows[0].layer.setLayer(raster)
    dialog.folder.setFilePath(str(tmp_path))
    dialog.panel.start_button.click()
    assert wait_until(lambda: dialog.panel.progress.value() > 0 or dialog.panel.task is None, seconds=60)
    timer = QElapsedTimer()
    timer.start()
    dialog.panel.cancel_button.click()
    assert wait_until(lambda: dialog.panel.task is None, seconds=30)
    assert timer.elapsed() < 10000
    assert dialog.panel.status.text() == "Cancelled: no layer was added."
    assert dialog.added_layers == [] and len(project.mapLayers()) == 1
    assert os.listdir(tmp_path) == []


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
