"""insardefo:train and insardefo:evaluate through processing.run and qgis_process.bin in real QGIS."""
import os

import pytest
from qgis.core import QgsProcessingException, QgsProcessingFeedback

from insar_deformation_detector.core.learning.dense_network import DENSE_ARCHITECTURES
from insar_deformation_detector.core.learning.model_file import load_model, read_model_file
from insar_deformation_detector.core.learning.networks import ARCHITECTURES

from helpers import smooth_velocity, write_raster

TINY = {"ARCHITECTURE": 1, "EPOCHS": 1, "BATCH_SIZE": 8, "LEARNING_RATE": 1e-4, "VALIDATION_FRACTION": 0.25,
        "SEED": 4}
METRICS = ("ACCURACY", "PRECISION", "RECALL", "FALSE_POSITIVE_RATE")


def test_train_writes_model_report_and_curve_then_evaluate_scores_it(run, tiny_dataset, tmp_path):
    model, report, curve = (str(tmp_path / name) for name in ("model.pt", "report.html", "curve.png"))
    results = run("train", DATASET=tiny_dataset, **TINY, OUTPUT_MODEL=model, OUTPUT_REPORT=report,
                  OUTPUT_CURVE=curve)
    assert results["OUTPUT_MODEL"] == model and results["EPOCHS_RUN"] == 1 and results["BEST_EPOCH"] == 1
    metadata, _ = read_model_file(model)
    assert metadata["architecture"] == "alexnet_compact" and metadata["status"] == "complete"
    for name in METRICS:
        assert 0.0 <= results[name] <= 100.0 or results[name] != results[name]  # NaN when undefined
    assert results["ACCURACY"] == pytest.approx(metadata["validation_metrics"]["accuracy"])
    page = open(report, encoding="utf-8").read()
    assert "Table I metrics" in page and "Confusion matrix" in page and "data:image/png;base64," in page
    assert open(curve, "rb").read(8) == b"\x89PNG\r\n\x1a\n"

    evaluation = str(tmp_path / "evaluation.html")
    scored = run("evaluate", MODEL=model, DATASET=tiny_dataset, OUTPUT_REPORT=evaluation)
    assert "Confusion matrix" in open(evaluation, encoding="utf-8").read()
    assert 0.0 <= scored["ACCURACY"] <= 100.0
    one_look = run("evaluate", MODEL=model, DATASET=tiny_dataset, INTERVALS="7", OFFSETS="0",
                   OUTPUT_REPORT=str(tmp_path / "one.html"))
    assert 0.0 <= one_look["ACCURACY"] <= 100.0


def test_real_negatives_from_points_join_the_negative_class(run, tiny_dataset, scene_files, tmp_path):
    model = str(tmp_path / "model.pt")
    run("train", DATASET=tiny_dataset, **TINY, REAL_NEGATIVES=scene_files["points"], REAL_NEGATIVES_FIELD="velocity",
        REAL_NEGATIVE_COUNT=3, OUTPUT_MODEL=model, OUTPUT_REPORT=str(tmp_path / "report.html"))
    metadata, _ = read_model_file(model)
    assert metadata["trained_on"]["real_negatives"] >= 1
    assert metadata["trained_on"]["class_counts"]["no_deformation"] == 12 + metadata["trained_on"]["real_negatives"]


@pytest.mark.parametrize("algorithm, parameters, named", [
    ("train", {"DATASET": "/nonexistent/dataset"}, "DATASET"),
    ("train", {"INTERVALS": "14,zero"}, "INTERVALS"),
    ("train", {"OFFSETS": "-1"}, "OFFSETS"),
    ("train", {"INIT_WEIGHTS": "__text__"}, "INIT_WEIGHTS"),
    ("train", {"REAL_NEGATIVES": "__raster_20m__"}, "REAL_NEGATIVES"),
    ("train", {"REAL_NEGATIVES": "__points__"}, "REAL_NEGATIVES_FIELD"),
    ("evaluate", {"MODEL": "__text__"}, "MODEL"),
    ("evaluate", {"MODEL": "__missing__"}, "MODEL"),
])
def test_bad_parameters_name_the_parameter_and_write_nothing(run, tiny_dataset, tiny_model, scene_files, tmp_path,
                                                              algorithm, parameters, named):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "text.pt").write_text("not a model")
    stand_ins = {"__text__": str(inputs / "text.pt"), "__missing__": str(inputs / "missing.pt"),
                 "__points__": scene_files["points"],
                 "__raster_20m__": write_raster(str(inputs / "coarse.tif"), [[0.0] * 80] * 80,
                                                geotransform=(400000.0, 20.0, 0.0, 300000.0, 0.0, -20.0))}
    parameters = {key: stand_ins.get(value, value) for key, value in parameters.items()}
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    common = ({**TINY, "DATASET": tiny_dataset, "OUTPUT_MODEL": str(outputs / "m.pt")} if algorithm == "train"
              else {"MODEL": tiny_model[0], "DATASET": tiny_dataset})
    with pytest.raises(QgsProcessingException) as raised:
        run(algorithm, **{**common, **parameters, "OUTPUT_REPORT": str(outputs / "r.html")})
    assert str(raised.value).startswith(f"{named}: ") or f"\n{named}: " in str(raised.value), str(raised.value)
    assert "Traceback" not in str(raised.value)
    assert os.listdir(outputs) == []


def test_maps_for_fast_detection_train_the_shared_form_to_agree(run, window_dataset, tmp_path):
    scene = write_raster(str(tmp_path / "scene.tif"), smooth_velocity(640, 2))
    model, report = str(tmp_path / "model.pt"), str(tmp_path / "report.html")
    run("train", DATASET=window_dataset, **dict(TINY, BATCH_SIZE=4, VALIDATION_FRACTION=0.34),
        CONTEXT_RASTERS=[scene], OUTPUT_MODEL=model, OUTPUT_REPORT=report)
    shared_form = read_model_file(model)[0]["shared_form_training"]
    assert shared_form["context_rasters"] == ["scene.tif"] and shared_form["steps"] == 2
    assert shared_form["crop_px"] == 512 and shared_form["recent_symmetric_kl"] >= 0.0
    assert "shared form trained to agree on: scene.tif" in open(report, encoding="utf-8").read()


def test_maps_for_fast_detection_need_detector_windows(run, tiny_dataset, tmp_path):
    scene = write_raster(str(tmp_path / "scene.tif"), smooth_velocity(640, 2))
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    with pytest.raises(QgsProcessingException, match="^CONTEXT_RASTERS: apply to datasets of 224-pixel patches"):
        run("train", DATASET=tiny_dataset, **TINY, CONTEXT_RASTERS=[scene], OUTPUT_MODEL=str(outputs / "m.pt"),
            OUTPUT_REPORT=str(outputs / "r.html"))
    assert os.listdir(outputs) == []


def test_cancel_in_the_first_epoch_writes_nothing(run, tiny_dataset, tmp_path):
    feedback = QgsProcessingFeedback()
    feedback.progressChanged.connect(lambda progress: progress > 0 and feedback.cancel())
    results = run("train", feedback=feedback, DATASET=tiny_dataset, **dict(TINY, EPOCHS=3),
                  OUTPUT_MODEL=str(tmp_path / "m.pt"), OUTPUT_REPORT=str(tmp_path / "r.html"))
    assert results == {}
    assert os.listdir(tmp_path) == []


def test_train_and_evaluate_through_qgis_process(qgis_process, tiny_dataset, tmp_path):
    model = str(tmp_path / "model.pt")
    completed, results = qgis_process.run("insardefo:train", {
        **TINY, "DATASET": tiny_dataset, "OUTPUT_MODEL": model, "OUTPUT_REPORT": str(tmp_path / "report.html")})
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert results["BEST_EPOCH"] == 1 and os.path.isfile(model)
    completed, scored = qgis_process.run("insardefo:evaluate", {
        "MODEL": model, "DATASET": tiny_dataset, "OUTPUT_REPORT": str(tmp_path / "evaluation.html")})
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert set(METRICS) <= set(scored)
    (tmp_path / "truncated.pt").write_bytes(open(model, "rb").read()[:1000])
    completed, _ = qgis_process.run("insardefo:evaluate", {
        "MODEL": str(tmp_path / "truncated.pt"), "DATASET": tiny_dataset,
        "OUTPUT_REPORT": str(tmp_path / "bad.html")})
    assert completed.returncode != 0
    assert "MODEL: " in completed.stderr and "truncated" in completed.stderr
    assert not os.path.exists(tmp_path / "bad.html")


class CancelAfterFirstEpoch(QgsProcessingFeedback):
    """Cancels once the log reports the end of epoch 1, as a user pressing Cancel then."""

    def pushInfo(self, info):  # noqa: N802 (QGIS API)
        super().pushInfo(info)
        if info.startswith("Epoch 1:"):
            self.cancel()


def test_cancel_keeps_the_best_epoch_beside_the_model_file_and_never_writes_it(run, tiny_dataset, tmp_path):
    model, report = str(tmp_path / "model.pt"), str(tmp_path / "report.html")
    results = run("train", feedback=CancelAfterFirstEpoch(), DATASET=tiny_dataset, **dict(TINY, EPOCHS=5),
                  OUTPUT_MODEL=model, OUTPUT_REPORT=report)
    assert results == {}
    names = os.listdir(tmp_path)
    assert len(names) == 1 and names[0].startswith("model.checkpoint-") and names[0].endswith(".pt"), names
    metadata, _ = read_model_file(str(tmp_path / names[0]))
    assert metadata["status"] == "checkpoint after epoch 1"


DENSE_TINY = {"ARCHITECTURE": len(ARCHITECTURES) + list(DENSE_ARCHITECTURES).index("unet_tiny"), "EPOCHS": 4,
              "BATCH_SIZE": 4, "CROP_SIZE": 32, "LEARNING_RATE": 5e-3, "VALIDATION_FRACTION": 0.25, "SEED": 2}


def test_a_dense_architecture_trains_a_calibrated_dense_model_on_training_maps(run, map_dataset, tmp_path):
    model, report, curve = (str(tmp_path / name) for name in ("dense.pt", "report.html", "curve.png"))
    results = run("train", DATASET=map_dataset, **DENSE_TINY, OUTPUT_MODEL=model, OUTPUT_REPORT=report,
                  OUTPUT_CURVE=curve)
    loaded = load_model(model)
    assert loaded.family == "dense" and loaded.metadata["architecture"] == "unet_tiny"
    assert loaded.metadata["status"] == "complete" and 0.2 <= loaded.metadata["temperature"] <= 5.0
    areas = loaded.metadata["area_confidence"]
    assert areas["level"] == 0.5 and len(areas["max_probability"]) == len(areas["share_real"])
    assert 0.5 <= areas["min_peak"] <= 1.0 and len(areas["floor_by_pixel"]["min_peak"]) == 3
    assert loaded.metadata["training"]["steps"] == 4 * 2  # 6 training maps in batches of 4: 2 steps an epoch
    assert results["EPOCHS_RUN"] == 4 and 1 <= results["BEST_EPOCH"] <= 4
    assert results["ACCURACY"] == pytest.approx(loaded.metadata["validation_metrics"]["accuracy"])
    page = open(report, encoding="utf-8").read()
    assert "dense detector" in page and "Temperature" in page and "per pixel" in page and "confidence" in page
    assert "Area floor" in page and "random initialisation" in page
    assert open(curve, "rb").read(8) == b"\x89PNG\r\n\x1a\n"

    tuned = str(tmp_path / "tuned.pt")
    run("train", DATASET=map_dataset, **{**DENSE_TINY, "EPOCHS": 1}, INIT_WEIGHTS=model, OUTPUT_MODEL=tuned,
        OUTPUT_REPORT=str(tmp_path / "tuned.html"))
    assert load_model(tuned).metadata["initial_weights"].startswith("dense.pt (unet_tiny, 8 steps, validation")

    per_pixel = run("evaluate", MODEL=model, DATASET=map_dataset, OUTPUT_REPORT=str(tmp_path / "pixels.html"))
    assert 0.0 <= per_pixel["ACCURACY"] <= 100.0
    assert "per pixel" in open(tmp_path / "pixels.html", encoding="utf-8").read()


def test_evaluate_scores_a_dense_model_per_window_on_a_window_dataset(run, dense_model, window_dataset, tmp_path):
    report = str(tmp_path / "windows.html")
    scored = run("evaluate", MODEL=dense_model, DATASET=window_dataset, OUTPUT_REPORT=report)
    page = open(report, encoding="utf-8").read()
    assert "per window" in page
    assert "9 examples" in page  # three classes x 3 windows, each scored once
    assert all(0.0 <= scored[name] <= 100.0 for name in ("ACCURACY", "FALSE_POSITIVE_RATE"))


@pytest.mark.parametrize("change, named", [
    ({"ARCHITECTURE": 1}, "DATASET"),  # a window architecture on training maps
    ({"DATASET": "__windows__"}, "DATASET"),  # a dense architecture on window patches
    ({"REAL_NEGATIVES": "__raster__"}, "REAL_NEGATIVES"),
    ({"INIT_WEIGHTS": "__window_model__"}, "INIT_WEIGHTS"),
])
def test_the_families_data_and_weights_are_never_mixed(run, map_dataset, tiny_dataset, tiny_model, dense_model,
                                                        tmp_path, change, named):
    stand_ins = {"__windows__": tiny_dataset, "__window_model__": tiny_model[0],
                 "__raster__": write_raster(str(tmp_path / "stable.tif"), [[0.0] * 80] * 80)}
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    parameters = {**DENSE_TINY, "DATASET": map_dataset, **{key: stand_ins.get(value, value)
                                                            for key, value in change.items()}}
    with pytest.raises(QgsProcessingException) as raised:
        run("train", **parameters, OUTPUT_MODEL=str(outputs / "m.pt"), OUTPUT_REPORT=str(outputs / "r.html"))
    assert str(raised.value).startswith(f"{named}: "), str(raised.value)
    assert os.listdir(outputs) == []


def test_a_window_architecture_refuses_dense_initial_weights(run, tiny_dataset, dense_model, tmp_path):
    with pytest.raises(QgsProcessingException, match="^INIT_WEIGHTS: .* dense model"):
        run("train", DATASET=tiny_dataset, **TINY, INIT_WEIGHTS=dense_model, OUTPUT_MODEL=str(tmp_path / "m.pt"),
            OUTPUT_REPORT=str(tmp_path / "r.html"))
