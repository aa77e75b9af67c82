"""Tests of core/learning/dense_network.py: the U-Net's shapes, size and input channels."""
import numpy as np
import pytest
import torch

from insar_deformation_detector.core.learning.dense_network import (
    FIRST_CHANNELS,
    INPUT_CHANNELS,
    VELOCITY_CLIP_MM_YR,
    VELOCITY_SCALE_MM_YR,
    build_dense_network,
    inference_network,
    network_input,
    size_multiple,
    working_pixel_m,
)


@pytest.mark.parametrize("architecture,low,high,side", [("unet_small", 2e5, 2e6, 40), ("unet_tiny", 1e4, 1e5, 40),
                                                        ("unet_strided", 2e5, 2e6, 64),
                                                        ("unet_strided_light", 2e5, 2e6, 64)])
def test_every_pixel_gets_class_logits_from_a_small_network(architecture, low, high, side):
    network = build_dense_network(architecture, 3).eval()
    assert low <= sum(parameter.numel() for parameter in network.parameters()) <= high
    assert side % size_multiple(architecture) == 0
    with torch.no_grad():
        assert network(torch.zeros(2, INPUT_CHANNELS, side, 96)).shape == (2, 3, side, 96)


def test_input_is_velocity_about_a_reference_in_tens_of_mm_yr_coverage_and_pixel_size():
    velocity = np.array([[1.0, 3.0], [np.nan, 5.0 + 2 * VELOCITY_CLIP_MM_YR]], np.float32)
    image = network_input(velocity, reference=3.0)
    assert image.shape == (INPUT_CHANNELS, 2, 2) and image.dtype == np.float32
    np.testing.assert_allclose(image[0], [[-2.0 / VELOCITY_SCALE_MM_YR, 0.0],
                                          [0.0, VELOCITY_CLIP_MM_YR / VELOCITY_SCALE_MM_YR]], rtol=1e-6)
    assert image[1].tolist() == [[1.0, 1.0], [0.0, 1.0]]
    assert network_input(velocity)[0, 0, 1] == 0.0  # without a reference, the map's median (3) is used
    assert np.all(image[2] == 0.0)  # the finest pixel size, 20 m
    np.testing.assert_allclose(network_input(velocity, pixel_m=80.0)[2], 1.0)  # log2(80 / 20) / 2


def test_measurement_channels_are_the_mean_measurement_about_the_reference_and_the_measured_share():
    velocity = np.array([[1.0, 3.0], [np.nan, 13.0]], np.float32)
    measurements = np.array([[[2.0, np.nan], [np.nan, 13.0]], [[0.25, 0.0], [0.0, 1.0]]], np.float32)
    image = network_input(velocity, reference=3.0, measurements=measurements)
    np.testing.assert_allclose(image[3], [[-0.1, 0.0], [0.0, 1.0]], rtol=1e-6)  # (mean - 3) / 10 mm/yr
    np.testing.assert_allclose(image[4], [[0.25, 0.0], [0.0, 1.0]])
    dense = network_input(velocity, reference=3.0)  # no measurements: the map is its own
    np.testing.assert_array_equal(dense[3:], dense[:2])
    assert network_input(velocity, channels=FIRST_CHANNELS).shape == (FIRST_CHANNELS, 2, 2)


def test_a_network_reads_as_many_channels_as_it_was_built_for():
    network = build_dense_network("unet_tiny", 2, input_channels=FIRST_CHANNELS).eval()
    assert network.input_channels == FIRST_CHANNELS
    with torch.no_grad():
        assert network(torch.zeros(1, FIRST_CHANNELS, 16, 16)).shape == (1, 2, 16, 16)


@pytest.mark.parametrize("architecture", ["unet_tiny", "unet_strided", "unet_strided_light"])
def test_the_inference_network_gives_the_trained_networks_logits(architecture):
    network = build_dense_network(architecture, 3)
    network.train()
    with torch.no_grad():
        network(torch.randn(4, INPUT_CHANNELS, 32, 32))  # moves the batch-norm statistics off their defaults
    network.eval()
    image = torch.randn(1, INPUT_CHANNELS, 64, 96)
    with torch.no_grad():
        np.testing.assert_allclose(inference_network(network)(image).numpy(), network(image).numpy(), atol=1e-4)
    assert any(isinstance(layer, torch.nn.BatchNorm2d) for layer in network.modules())  # the original is kept


def test_the_working_pixel_size_is_the_maps_own_within_the_models_range():
    metadata = {"pixel_size_m": 20.0, "coarsest_pixel_m": 100.0}
    assert [working_pixel_m(metadata, pixel) for pixel in (5.0, 20.0, 42.0, 100.0, 250.0)] == [
        20.0, 20.0, 42.0, 100.0, 100.0]
    assert working_pixel_m({"pixel_size_m": 20.0}, 50.0) == 20.0  # a model of one pixel size resamples every map
