"""Tests of core/learning/calibration.py: temperature scaling finds the temperature that made the labels."""
import numpy as np
import pytest

from insar_deformation_detector.core.common.errors import Cancelled
from insar_deformation_detector.core.learning.calibration import each_map_logits, fit_temperature, softmax
from insar_deformation_detector.core.learning.dense_network import build_dense_network
from insar_deformation_detector.core.learning.dense_training import LabelledMaps
from insar_deformation_detector.core.synthesis.training_maps import IGNORE


def drawn(truth, count, seed=0):
    """(3, count) logits and labels drawn from the logits' softmax at temperature ``truth``."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 3.0, (3, count)).astype(np.float32)
    cumulative = np.cumsum(softmax(logits, truth), axis=0)
    return logits, (rng.random(count)[None] > cumulative).sum(axis=0).astype(np.uint8)


@pytest.mark.parametrize("truth", [0.5, 2.0])
def test_the_fitted_temperature_is_the_one_that_drew_the_labels(truth):
    temperature, before, after = fit_temperature(*drawn(truth, 200_000))
    assert temperature == pytest.approx(truth, rel=0.05) and after <= before


def test_ignored_pixels_do_not_count():
    logits, labels = drawn(1.5, 100_000)
    wrong = np.tile(np.array([[9.0], [-9.0], [-9.0]], np.float32), 100_000)  # sure of class 0...
    ignored = np.full(100_000, IGNORE, np.uint8)  # ...where no one knows
    temperature = fit_temperature(np.concatenate([logits, wrong], axis=1), np.concatenate([labels, ignored]))[0]
    assert temperature == pytest.approx(1.5, rel=0.05)


def test_softmax_sums_to_one_and_a_higher_temperature_flattens_it():
    logits = np.array([[2.0], [0.0], [-1.0]])
    assert softmax(logits).sum() == pytest.approx(1.0)
    assert softmax(logits, 3.0)[0, 0] < softmax(logits)[0, 0]


def test_cancel_stops_the_fit_before_the_next_map():
    maps = LabelledMaps(np.zeros((5, 32, 32), np.float32), np.zeros((5, 32, 32), np.uint8), np.full(5, 20.0),
                        np.zeros((5, 2, 32, 32), np.float32), ["a", "b"])
    asked = []

    def is_cancelled():
        asked.append(True)
        return len(asked) > 2  # after two maps
    with pytest.raises(Cancelled):
        list(each_map_logits(build_dense_network("unet_tiny", 2), maps, is_cancelled))
    assert len(asked) == 3
