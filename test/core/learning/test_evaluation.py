"""Tests of core/learning/evaluation.py."""
import pytest

from insar_deformation_detector.core.common.errors import InputError
from insar_deformation_detector.core.learning.evaluation import evaluate
from insar_deformation_detector.core.learning.examples import Examples, open_datasets
from insar_deformation_detector.core.learning.model_file import load_model
from insar_deformation_detector.core.learning.wrapping import DEFAULT_INTERVALS, DEFAULT_OFFSETS


def test_evaluation_scores_every_example_and_refuses_other_input_sizes(tiny_model, tiny_dataset):
    path, result = tiny_model
    examples = Examples(open_datasets([tiny_dataset]))
    outcome = evaluate(load_model(path), examples, DEFAULT_INTERVALS, DEFAULT_OFFSETS)
    assert outcome["metrics"]["count"] == 24
    assert sum(sum(row) for row in outcome["confusion"]) == 24
    with pytest.raises(InputError, match="DATASET: patches are 64 px"):
        model = load_model(path)
        model.metadata["input_size"] = 224
        evaluate(model, examples, DEFAULT_INTERVALS, DEFAULT_OFFSETS)
