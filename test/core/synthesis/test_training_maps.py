"""Tests of core/synthesis/training_maps.py: labelled maps for the dense detector."""
import numpy as np
import pytest

from insar_deformation_detector.core.common.grid import GridSpec
from insar_deformation_detector.core.common.resampling import measurement_maps
from insar_deformation_detector.core.synthesis import training_maps
from insar_deformation_detector.core.synthesis.dataset import Dataset
from insar_deformation_detector.core.synthesis.synthetic_scene import make_scene
from insar_deformation_detector.core.synthesis.training_maps import (
    CLASSES,
    IGNORE,
    generate_training_maps,
    make_training_map,
)


def test_the_same_seed_gives_the_same_map_and_labels_fit_it():
    first, again = make_training_map(5, size_px=64), make_training_map(5, size_px=64)
    assert np.array_equal(first.velocity, again.velocity, equal_nan=True)
    assert np.array_equal(first.labels, again.labels) and first.record == again.record
    assert first.velocity.shape == first.labels.shape == (64, 64)
    assert set(np.unique(first.labels)) <= {0, 1, 2, IGNORE}
    assert (first.labels[np.isnan(first.velocity)] == IGNORE).all()  # holes teach nothing
    assert 5.0 * 0.8 <= first.record["native_pixel_m"] <= 100.0


def test_visible_sources_are_labelled_by_kind_and_faint_ones_ignored():
    scene = make_scene(GridSpec(0.0, 2000.0, 10.0, 200, 200), seed=3, point_sources=3, tunnels=1,
                       ranges=training_maps.TRAINING_SOURCES)
    labels = training_maps._native_labels(scene, np.ones(scene.sparse.shape, bool))
    for index, source in enumerate(scene.sources, start=1):
        deforming = (scene.footprints == index) & (np.abs(scene.deformation) >= training_maps.LABEL_MM_YR)
        visible = abs(source["peak_los_mm_yr"]) >= training_maps.VISIBLE_PEAK_MM_YR
        expected = CLASSES.index(source["type"]) if visible else IGNORE
        assert (labels[deforming] == expected).all()
    assert (labels[np.abs(scene.deformation) < training_maps.LABEL_MM_YR] == 0).all()
    assert set(np.unique(labels)) & {1, 2}  # some source is seen: the loop above checked a kind
    unmeasured = training_maps._native_labels(scene, np.zeros(scene.sparse.shape, bool))
    assert set(np.unique(unmeasured)) <= {0, IGNORE}  # a source no one measured is not a positive


def test_maps_are_written_as_a_dataset_with_label_maps(tmp_path):
    summary = generate_training_maps(str(tmp_path / "maps"), 3, seed=2, size_px=64, workers=1)
    dataset = Dataset(str(tmp_path / "maps"))
    assert summary["count"] == len(dataset) == 3 and dataset.has_label_maps and dataset.classes == list(CLASSES)
    expected = make_training_map(training_maps.map_seed(2, 1), size_px=64)
    np.testing.assert_allclose(dataset.patch(1), expected.velocity, atol=1e-3)  # BLAS threads differ in workers
    assert np.array_equal(dataset.label_map(1), expected.labels)
    assert dataset.labels[1] == training_maps.map_class(expected.labels)
    assert dataset.has_measurement_maps
    stored = dataset.measurement_map(1)  # float16 on disk
    np.testing.assert_allclose(stored, expected.measurements, rtol=1e-3, atol=1e-3)


def test_measurements_are_averaged_onto_the_maps_grid_with_their_share():
    sparse = np.full((4, 4), np.nan, np.float32)
    sparse[0, 0], sparse[0, 1], sparse[3, 3] = 2.0, 4.0, -1.0
    mean, share = measurement_maps(sparse, (2, 2))
    np.testing.assert_allclose(mean, [[3.0, np.nan], [np.nan, -1.0]])  # mm/yr, NaN where none
    np.testing.assert_allclose(share, [[0.5, 0.0], [0.0, 0.25]])
    same = measurement_maps(sparse, (4, 4))
    assert np.array_equal(same[0], sparse, equal_nan=True) and same[1].sum() == 3.0


def test_a_training_maps_measurements_lie_inside_its_coverage():
    training_map = make_training_map(7, size_px=64)
    mean, share = training_map.measurements
    assert ((share > 0) == np.isfinite(mean)).all() and 0.0 < share.max() <= 1.0
    assert not (np.isfinite(mean) & np.isnan(training_map.velocity)).any()  # every measurement was interpolated


@pytest.mark.parametrize("labels,expected", [([[0, 0], [IGNORE, 0]], 0), ([[2, 2], [1, 0]], 2), ([[1, 0], [0, 0]], 1)])
def test_a_map_is_classed_by_its_most_common_kind(labels, expected):
    assert training_maps.map_class(np.array(labels, np.uint8)) == expected


def test_isolated_spikes_hit_their_share_of_the_measurements_only():
    sparse = np.zeros((300, 300), dtype=np.float32)
    sparse[::2] = np.nan
    spiked = sparse.copy()
    share = training_maps._isolated_spikes(spiked, np.random.default_rng(3))
    assert np.array_equal(np.isnan(spiked), np.isnan(sparse))
    hit = np.abs(np.nan_to_num(spiked)) > 0
    low, high = training_maps.ISOLATED_SPIKES[2]
    assert hit.sum() / np.isfinite(sparse).sum() == pytest.approx(share, abs=0.005)
    assert low <= np.abs(spiked[hit]).min() and np.abs(spiked[hit]).max() <= high
