"""The bundled default model: small enough to ship, ours, three classes, and it sees deformation."""
import json
import os

import numpy as np

from insar_deformation_detector.core.learning.model_file import DEFAULT_MODEL_PATH, load_model
from insar_deformation_detector.core.learning.patch_classifier import classify_patches
from insar_deformation_detector.core.learning.wrapping import DEFAULT_INTERVALS, DEFAULT_OFFSETS
from insar_deformation_detector.core.synthesis.deformation_sources import WIDE_POINT_SOURCES
from insar_deformation_detector.core.synthesis.training_examples import SynthesisConfig, make_example

MODELS = os.path.dirname(DEFAULT_MODEL_PATH)


def test_the_bundled_models_fit_in_the_plugin_zip():
    total = sum(os.path.getsize(os.path.join(MODELS, name)) for name in os.listdir(MODELS))
    assert total < 25e6
    assert {"default.pt", "metrics.json", "README.md"} <= set(os.listdir(MODELS))


def test_the_default_model_is_a_complete_three_class_model_from_synthetic_data():
    model = load_model(DEFAULT_MODEL_PATH)
    metadata = model.metadata
    assert model.classes == ["no_deformation", "point_source", "tunnel"] and model.input_size == 224
    assert metadata["status"] == "complete" and metadata["stored_precision"] == "float16"
    assert metadata["intervals_mm_yr"] == list(DEFAULT_INTERVALS)
    assert metadata["offsets_mm_yr"] == list(DEFAULT_OFFSETS)
    assert metadata["trained_on"]["real_negatives"] == 0
    assert all(dataset["interpolation"] == "matrix_completion" for dataset in metadata["trained_on"]["datasets"])
    recorded = json.load(open(os.path.join(MODELS, "metrics.json"), encoding="utf-8"))
    assert recorded["held_out_test"]["count"] == sum(sum(row) for row in recorded["held_out_confusion"])
    # unpadded: detection's fast shared form gives each window's own result, no agreement training needed
    assert metadata["architecture"] == "alexnet_unpadded" and "shared_form_training" not in metadata


def test_the_default_model_ranks_deformation_above_atmosphere():
    config = SynthesisConfig(kind="both", count_per_class=40, seed=99, sources=WIDE_POINT_SOURCES)
    examples = [make_example(config, index) for index in range(24)]
    patches = np.stack([example[0] for example in examples])
    labels = np.array([example[1] for example in examples])
    deformation = 1.0 - classify_patches(load_model(DEFAULT_MODEL_PATH).network, patches, DEFAULT_INTERVALS,
                                         DEFAULT_OFFSETS)[:, 0]
    assert deformation[labels > 0].mean() > deformation[labels == 0].mean() + 0.1
