"""Tests of core/learning/area_confidence.py: areas are scored and their share of real ones is fitted."""
import numpy as np
import pytest

from insar_deformation_detector.core.learning.area_confidence import (
    LEVEL,
    area_floor,
    area_outcomes,
    calibrate_areas,
    confidence,
    confidence_function,
    fit_area_confidence,
    fit_area_floor,
    fit_floor_by_pixel,
    isotonic,
)
from insar_deformation_detector.core.learning.calibration import each_map_logits
from insar_deformation_detector.core.learning.dense_network import build_dense_network
from insar_deformation_detector.core.learning.dense_training import LabelledMaps
from insar_deformation_detector.core.synthesis.training_maps import IGNORE


def test_areas_touching_deformation_are_real_and_faint_sources_are_left_out():
    probability = np.zeros((20, 20))
    probability[2:5, 2:5] = 0.9  # on a source
    probability[10:12, 10:12] = 0.6  # on stable ground
    probability[16:18, 2:4] = 0.7  # on a faint source no one labelled
    labels = np.zeros((20, 20), np.uint8)
    labels[5, 5] = 1  # touches the first area diagonally
    labels[15:19, 1:5] = IGNORE
    velocity = np.zeros((20, 20))
    assert sorted(area_outcomes(probability, labels, velocity)) == [(0.6, False), (0.9, True)]


def test_holes_are_no_ground_to_judge_by():
    probability = np.zeros((10, 10))
    probability[2:4, 2:4] = 0.8
    labels = np.full((10, 10), IGNORE, np.uint8)
    velocity = np.full((10, 10), np.nan)  # IGNORE in a hole, not a faint source
    assert area_outcomes(probability, labels, velocity) == [(0.8, False)]


def test_isotonic_pools_violators_into_their_weighted_mean():
    assert isotonic(np.array([0.0, 1.0, 0.0, 1.0]), np.ones(4)).tolist() == [0.0, 0.5, 0.5, 1.0]
    assert isotonic(np.array([1.0, 0.0]), np.array([3.0, 1.0])).tolist() == [0.75, 0.75]


def test_the_fitted_confidence_rises_with_the_peak_and_matches_the_shares():
    rng = np.random.default_rng(0)
    peaks = rng.uniform(0.5, 1.0, 4000)
    outcomes = list(zip(peaks, rng.random(4000) < (peaks - 0.5) * 2))  # real with chance 2 (P - 0.5)
    table = fit_area_confidence(outcomes)
    assert np.all(np.diff(table["share_real"]) >= 0) and table["areas"] == 4000
    assert confidence(table, 0.75) == pytest.approx(0.5, abs=0.08)
    assert confidence(table, 0.95) == pytest.approx(0.9, abs=0.08)


def test_a_model_without_the_table_has_no_confidence():
    assert confidence_function({}) is None
    assert confidence_function({"area_confidence": fit_area_confidence([(0.6, False), (0.9, True)])})(0.95) == 1.0


def test_a_network_is_calibrated_on_maps():
    velocity = np.zeros((3, 32, 32), np.float32)
    labels = np.zeros((3, 32, 32), np.uint8)
    maps = LabelledMaps(velocity, labels, np.full(3, 20.0), np.zeros((3, 2, 32, 32), np.float32), ["a", "b"])
    logits = list(each_map_logits(build_dense_network("unet_tiny", 2), maps))
    table = calibrate_areas(logits, velocity, labels, 1.0, maps.pixel_m)
    assert set(table) == {"level", "max_probability", "share_real", "areas", "min_peak",
                          "false_areas_per_1000_km2", "stable_km2", "floor_by_pixel"}
    assert table["stable_km2"] == pytest.approx(3 * 32 * 32 * 400 / 1e6)


def test_the_floor_leaves_as_many_false_areas_as_the_budget_allows():
    false = [(0.55, False), (0.62, False), (0.7, False), (0.85, False)]
    real = [(0.6, True), (0.95, True)]
    floor = fit_area_floor(false + real, 2000.0)  # 2 false areas allowed on 2,000 km2
    assert floor["min_peak"] == pytest.approx((0.62 + 0.7) / 2)
    assert floor["false_areas_per_1000_km2"] == pytest.approx(1.0)
    assert fit_area_floor(false + real, 500.0)["min_peak"] == pytest.approx((0.85 + 1.0) / 2)  # none allowed
    assert fit_area_floor(false + real, 4000.0)["min_peak"] == LEVEL  # all four within the budget
    assert fit_area_floor(real, 10.0)["min_peak"] == LEVEL


def test_a_model_without_a_floor_draws_every_area():
    assert area_floor({}) is None
    assert area_floor({"area_confidence": {"level": 0.5}}) is None
    assert area_floor({"area_confidence": fit_area_floor([(0.7, False)], 100.0)}) == pytest.approx(0.85)
    assert area_floor({"area_confidence": fit_area_floor([(0.7, False)], 100.0)}, 40.0) == pytest.approx(0.85)


def test_each_pixel_size_gets_the_floor_its_own_maps_need():
    fine = [[(0.8, False), (0.9, False), (0.95, True)]] * 2  # two 20 m maps of 500 km2: 4 false areas
    coarse = [[(0.6, False), (0.9, True)]] * 2  # two 100 m maps of 2,000 km2: 2 false areas
    bins = fit_floor_by_pixel(fine + coarse, [500.0] * 2 + [2000.0] * 2, [20.0] * 2 + [100.0] * 2, 0.7)
    assert bins["edges_m"] == pytest.approx([20.0, 34.2, 58.5, 100.0], abs=0.1)
    assert bins["min_peak"] == [pytest.approx(0.95), 0.7, LEVEL]  # 1 false area allowed; none there; 4 allowed
    metadata = {"area_confidence": {"min_peak": 0.7, "floor_by_pixel": bins}}
    assert [area_floor(metadata, pixel) for pixel in (10.0, 20.0, 40.0, 100.0, 300.0)] == [
        pytest.approx(0.95), pytest.approx(0.95), 0.7, LEVEL, LEVEL]
    assert area_floor(metadata) == 0.7
