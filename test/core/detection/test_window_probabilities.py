"""Tests of core/detection/window_probabilities.py: the shared (fully convolutional) form against each window alone."""
import numpy as np
import pytest

from insar_deformation_detector.core.detection.window_probabilities import (
    per_window_probabilities,
    shared_probabilities,
)
from insar_deformation_detector.core.learning.gap_filling import fill_gaps
from insar_deformation_detector.core.learning.networks import build_network
from insar_deformation_detector.core.learning.shared_classifier import shared_classifier
from insar_deformation_detector.core.learning.wrapping import DEFAULT_INTERVALS, DEFAULT_OFFSETS

from helpers import read_raster


def test_shared_form_of_a_single_window_equals_the_window_alone(model, real_looking):
    velocity = read_raster(real_looking["dense"])[0][100:324, 100:324].astype(np.float32)
    shared = shared_classifier(model.network, model.metadata["architecture"])
    alone = per_window_probabilities(model.network, 3, velocity, 224, (0, 0), (1, 1), 32, DEFAULT_INTERVALS,
                                     DEFAULT_OFFSETS)
    together = shared_probabilities(shared, 3, velocity, (0, 0), (1, 1), 32, DEFAULT_INTERVALS, DEFAULT_OFFSETS)
    np.testing.assert_allclose(together, alone, atol=1e-5)


@pytest.mark.parametrize("architecture, differs", [("alexnet_unpadded", False), ("alexnet_compact", True)])
def test_only_the_unpadded_network_gives_each_window_alone_in_shared_form(real_looking, architecture, differs):
    import torch

    torch.manual_seed(0)
    network = build_network(architecture, 3).eval()
    network.classifier[-1].weight.data *= 100.0  # a fresh head's probabilities hardly vary between windows
    velocity = read_raster(real_looking["dense"])[0].astype(np.float32)
    velocity[200:260, 40:120] = np.nan
    filled = fill_gaps(velocity)
    origin, counts = (32, 64), (8, 7)  # windows inside the 480 px scene, away from its corner
    alone = per_window_probabilities(network, 3, filled, 224, origin, counts, 32, DEFAULT_INTERVALS,
                                     DEFAULT_OFFSETS)
    together = shared_probabilities(shared_classifier(network, architecture), 3, filled, origin, counts, 32,
                                    DEFAULT_INTERVALS, DEFAULT_OFFSETS)
    assert alone[..., 1].std() > 0.01  # the windows differ, so agreeing means something
    assert (np.abs(together - alone).max() > 0.01) == differs
    if not differs:
        np.testing.assert_allclose(together, alone, atol=1e-5)
