"""Tests of core/learning/dense_network.py: the U-Net's shapes, size and input channels."""
import numpy as np
import pytest
import torch

from insar_deformation_detector.core.learning.dense_network import (
    VELOCITY_CLIP_MM_YR,
    VELOCITY_SCALE_MM_YR,
    build_dense_network,
    network_input,
)


@pytest.mark.parametrize("architecture,low,high", [("unet_small", 2e5, 2e6), ("unet_tiny", 1e4, 1e5)])
def test_every_pixel_gets_class_logits_from_a_small_network(architecture, low, high):
    network = build_dense_network(architecture, 3).eval()
    assert low <= sum(parameter.numel() for parameter in network.parameters()) <= high
    with torch.no_grad():
        assert network(torch.zeros(2, 2, 40, 56)).shape == (2, 3, 40, 56)


def test_input_is_velocity_about_a_reference_in_tens_of_mm_yr_and_coverage():
    velocity = np.array([[1.0, 3.0], [np.nan, 5.0 + 2 * VELOCITY_CLIP_MM_YR]], np.float32)
    image = network_input(velocity, reference=3.0)
    assert image.shape == (2, 2, 2) and image.dtype == np.float32
    np.testing.assert_allclose(image[0], [[-2.0 / VELOCITY_SCALE_MM_YR, 0.0],
                                          [0.0, VELOCITY_CLIP_MM_YR / VELOCITY_SCALE_MM_YR]], rtol=1e-6)
    assert image[1].tolist() == [[1.0, 1.0], [0.0, 1.0]]
    assert network_input(velocity)[0, 0, 1] == 0.0  # without a reference, the map's median (3) is used
