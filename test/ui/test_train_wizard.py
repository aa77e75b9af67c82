"""Tests of ui/train_wizard.py, opened headless and driven as a user would."""
import os

from insar_deformation_detector.core.learning.model_file import read_model_file

from helpers import wait_until


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


def test_train_wizard_trains_and_scores_a_dense_unet_on_training_maps(qgis_processing, plugin, tmp_path):
    from insar_deformation_detector.ui.train_wizard import TrainWizard

    wizard = TrainWizard()
    wizard.architecture.setCurrentText("unet_tiny")
    assert not wizard.kind.isEnabled() and not wizard.pixel_size.isEnabled() and not wizard.fast_detection.isEnabled()
    assert wizard.count_label.text() == "Training maps"
    wizard.count.setValue(10)
    wizard.map_size.setValue(64)
    wizard.epochs.setValue(1)
    wizard.folder.setFilePath(str(tmp_path))
    assert [algorithm for algorithm, _, _ in wizard.steps()] == [
        "insardefo:trainingmaps", "insardefo:trainingmaps", "insardefo:train", "insardefo:evaluate"]
    wizard.panel.start_button.click()
    assert wait_until(lambda: wizard.panel.task is None, seconds=600), wizard.panel.status.text()
    assert wizard.panel.status.text().startswith("Done: 1 epochs"), wizard.panel.status.text()
    metadata = read_model_file(wizard.paths()["model"])[0]
    assert metadata["family"] == "dense" and metadata["architecture"] == "unet_tiny"
    assert "per pixel" in wizard.metrics.text() and not wizard.curve.pixmap().isNull()
    wizard.architecture.setCurrentText("alexnet_compact")
    assert wizard.kind.isEnabled() and not wizard.map_size.isEnabled()
    assert wizard.count_label.text() == "Examples per class"
