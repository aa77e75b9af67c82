"""Synthetic sources, sampling patterns, examples and datasets, without QGIS (section III-B)."""
import os

import numpy as np
import pytest

from helpers import write_raster
from insar_deformation_detector.core import synthesis
from insar_deformation_detector.core.dataset import Dataset, DatasetWriter
from insar_deformation_detector.core.deformation_sources import (SourceRanges, draw_point_source,
                                                                 draw_tunnel)
from insar_deformation_detector.core.errors import Cancelled, InputError
from insar_deformation_detector.core.line_of_sight import ASCENDING, DESCENDING
from insar_deformation_detector.core.scatterer_patterns import MaskWindows, builtin_pattern
from insar_deformation_detector.core.spike_noise import sample_noise_map
from insar_deformation_detector.core.synthesis import SynthesisConfig, generate_dataset, make_example
from insar_deformation_detector.core.tunnel import (TroughParameters, TunnelPath, settlement,
                                                    straight_or_curved_path, tunnel_displacement)

PIXEL = 10.0
RANGES = SourceRanges()


def grid(size=224, pixel=PIXEL):
    return synthesis.patch_coordinates(size, pixel)


def test_trough_has_the_stated_depths_widths_and_zones():
    l_sag, l_hog, d_sag, d_hog = 40.0, 60.0, 6.0, 2.0
    x = np.linspace(0.0, 150.0, 15001)
    s = settlement(x, l_sag, l_hog, d_sag, d_hog)
    assert s[0] == pytest.approx(d_sag + d_hog)
    assert settlement(l_sag, l_sag, l_hog, d_sag, d_hog) == pytest.approx(d_hog)
    assert np.all(s[x >= l_sag + l_hog] == 0.0)
    curvature = np.gradient(np.gradient(s, x), x)
    assert np.all(curvature[(x > 1) & (x < l_sag - 1)] < 0)  # sagging: a bowl over the tunnel
    assert np.all(curvature[(x > l_sag + 1) & (x < l_sag + l_hog - 1)] > 0)  # hogging beyond
    assert np.abs(np.diff(s)).max() < 1e-2  # continuous, and so is the slope (C1):
    assert np.abs(np.diff(np.gradient(s, x))).max() < 1e-2


def test_tunnel_velocity_profile_across_a_straight_tunnel():
    east, north = grid(100)
    path = TunnelPath(straight_or_curved_path((500.0, -2000.0), (500.0, 3000.0), 0.0, 5.0), False, False)
    knot = TroughParameters(l_sag=40.0, l_hog=50.0, d_sag=6.0, d_hog=3.0)
    e, n, u = tunnel_displacement(east, north, path, [knot])
    row = u[50]
    offsets = east[50] - 500.0
    assert row.min() == pytest.approx(-(6.0 + 3.0), abs=0.1)  # pixel 5 m from the axis
    assert np.all(row[np.abs(offsets) >= 90.0] == 0.0)  # nothing beyond l_sag + l_hog
    assert np.allclose(n, 0.0, atol=1e-9)  # a north-south tunnel pulls ground east-west only
    assert np.all(e[50][offsets > 5] <= 0) and np.all(e[50][offsets < -5] >= 0)  # towards the axis


@pytest.mark.parametrize("seed", range(6))
def test_drawn_tunnels_stay_in_the_stated_ranges(seed):
    east, north = grid()
    rng = np.random.default_rng(seed)
    los, record = draw_tunnel(rng, east, north, DESCENDING, RANGES, PIXEL)
    assert np.abs(los).max() == pytest.approx(record["peak_los_mm_yr"])
    assert RANGES.los_mm_yr[0] <= record["peak_los_mm_yr"] <= 15.0
    for name, (low, high) in (("l_sag_m", RANGES.l_sag_m), ("l_hog_m", RANGES.l_hog_m),
                              ("d_sag_mm_yr", RANGES.d_sag_mm), ("d_hog_mm_yr", RANGES.d_hog_mm)):
        assert low <= record[f"{name}_min"] <= record[f"{name}_max"] <= high
    moving = np.abs(los) > 0.05
    assert 0.01 < moving.mean() < 0.6  # a band along the tunnel, not the whole patch


@pytest.mark.parametrize("seed", range(6))
def test_drawn_point_sources_stay_in_the_stated_ranges(seed):
    east, north = grid()
    los, record = draw_point_source(np.random.default_rng(seed), east, north, ASCENDING, RANGES)
    assert 3.0 <= record["depth_m"] <= 80.0
    assert 10 ** 0.3 <= abs(record["volume_m3"]) <= 1000.0
    assert np.abs(los).max() == pytest.approx(record["peak_los_mm_yr"])
    assert 2.0 <= record["peak_los_mm_yr"] <= 15.0
    extreme = los.flat[np.abs(los).argmax()]
    assert np.sign(extreme) == (1 if record["sense"] == "uplift" else -1)


def test_impossible_source_ranges_are_refused():
    east, north = grid(64)
    tiny = SourceRanges(depth_m=(3.0, 4.0), volume_m3=(900.0, 1000.0))  # tens of metres per year
    with pytest.raises(InputError, match="DEPTH_RANGE"):
        draw_point_source(np.random.default_rng(0), east, north, ASCENDING, tiny)
    with pytest.raises(InputError, match="L_SAG_RANGE: is empty"):
        SourceRanges(l_sag_m=(80.0, 30.0)).validate()


def test_builtin_patterns_are_uneven_like_real_scatterers():
    rng = np.random.default_rng(3)
    fractions, clustered = [], []
    for _ in range(8):
        measured, record = builtin_pattern((224, 224), PIXEL, rng)
        fractions.append(measured.mean())
        blocks = measured.reshape(14, 16, 14, 16).mean(axis=(1, 3))  # 160 m blocks
        clustered.append(blocks.std() / max(blocks.mean(), 1e-9))
    assert min(fractions) >= 0.005 and max(fractions) > 2 * min(fractions)  # density varies by patch
    assert np.median(clustered) > 0.8  # far from uniform random sampling (about 0.3 here)


def test_mask_windows_reuse_a_real_pattern(tmp_path):
    pattern = np.full((300, 300), np.nan)
    pattern[::7, ::3] = 1.0
    source = MaskWindows(write_raster(str(tmp_path / "real.tif"), pattern))
    measured, record = source.draw(np.random.default_rng(0), 64)
    row, col = record["window_row"], record["window_col"]
    assert np.array_equal(measured, np.isfinite(pattern[row:row + 64, col:col + 64]))
    empty = MaskWindows(write_raster(str(tmp_path / "empty.tif"), np.full((100, 100), np.nan)))
    with pytest.raises(InputError, match="MASK_SOURCE: has no measurements"):
        empty.check(64)
    with pytest.raises(InputError, match="MASK_SOURCE: .*smaller than one 224"):
        MaskWindows(str(tmp_path / "empty.tif")).check(224)


def test_noise_map_values_are_resampled(tmp_path):
    values = np.full((50, 40), np.nan)
    values[::2] = np.random.default_rng(1).standard_t(3, (25, 40))
    noise = sample_noise_map(write_raster(str(tmp_path / "noise.tif"), values), np.random.default_rng(0),
                             samples=300)
    assert len(noise.values) == 300
    assert np.isin(noise.values, values[::2].astype(np.float32)).all()
    drawn = noise.draw(np.random.default_rng(2), 1000)
    assert np.isin(drawn.astype(np.float32), noise.values).all()
    with pytest.raises(InputError, match="NOISE_MAP: cannot be read"):
        sample_noise_map(str(tmp_path / "missing.tif"), np.random.default_rng(0))


def test_examples_are_reproducible_and_labelled_by_class():
    config = SynthesisConfig(kind="both", count_per_class=2, patch_size=48, interpolation="delaunay", seed=5)
    first = [make_example(config, index) for index in range(3)]
    again = make_example(config, 2)
    assert np.array_equal(first[2][0], again[0]) and first[2][2] == again[2]
    assert [label for _, label, _ in first] == [0, 1, 2]
    assert [record["source"] for _, _, record in first] == ["none", "mogi", "tunnel"]
    assert not np.array_equal(first[0][0], first[1][0])
    sparse, _, record = make_example(SynthesisConfig(kind="point", patch_size=48, interpolation="none"), 0)
    assert np.isnan(sparse).mean() == pytest.approx(1 - record["measured_fraction"])


def test_same_seed_same_dataset_whatever_the_workers(tmp_path):
    config = SynthesisConfig(kind="both", count_per_class=5, patch_size=40, interpolation="matrix_completion",
                             seed=11)
    generate_dataset(config, str(tmp_path / "one"), workers=1)
    summary = generate_dataset(config, str(tmp_path / "two"), workers=2)
    assert summary["count"] == 15
    one, two = Dataset(str(tmp_path / "one")), Dataset(str(tmp_path / "two"))
    assert one.classes == ["no_deformation", "point_source", "tunnel"]
    assert np.bincount(one.labels).tolist() == [5, 5, 5]
    for index in range(len(one)):
        assert np.array_equal(one.patch(index), two.patch(index))
        assert np.isfinite(one.patch(index)).all()
    assert one.records() == two.records()
    assert one.manifest["interpolation"] == "matrix_completion" and one.manifest["seed"] == 11


def test_shards_read_back_in_order(tmp_path):
    writer = DatasetWriter(str(tmp_path / "data"), 4, ["index"], shard_size=3)
    for index in range(7):
        writer.add(np.full((4, 4), index), index % 2, {"index": index})
    writer.commit({"classes": ["a", "b"]})
    dataset = Dataset(str(tmp_path / "data"))
    assert [shard["count"] for shard in dataset.manifest["shards"]] == [3, 3, 1]
    assert [float(dataset.patch(index)[0, 0]) for index in range(7)] == list(range(7))
    assert sorted(os.listdir(tmp_path)) == ["data"]


def test_cancel_leaves_nothing_and_keeps_an_earlier_dataset(tmp_path):
    target = str(tmp_path / "data")
    small = SynthesisConfig(kind="point", count_per_class=2, patch_size=32, interpolation="none")
    generate_dataset(small, target, workers=1)
    before = sorted(os.listdir(target))
    calls = []

    def cancel_after_first_poll():
        calls.append(1)
        return len(calls) > 1

    with pytest.raises(Cancelled):
        generate_dataset(SynthesisConfig(kind="point", count_per_class=400, patch_size=64), target,
                         workers=1, is_cancelled=cancel_after_first_poll)
    assert sorted(os.listdir(tmp_path)) == ["data"]
    assert sorted(os.listdir(target)) == before and len(Dataset(target)) == 4


def test_a_folder_of_other_files_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="OUTPUT: .*holds other files"):
        generate_dataset(SynthesisConfig(count_per_class=1, patch_size=32), str(tmp_path))
    assert os.listdir(tmp_path) == ["notes.txt"]


def test_every_positive_is_measured_where_it_deforms():
    config = SynthesisConfig(kind="both", count_per_class=6, patch_size=96, interpolation="none", seed=8)
    for index in range(config.total):
        patch, label, record = make_example(config, index)
        if label == 0:
            assert record["footprint_measurements"] is None
        else:
            assert record["footprint_measurements"] >= synthesis.MIN_FOOTPRINT_MEASUREMENTS
            assert np.isfinite(patch).sum() >= record["footprint_measurements"]


def test_a_pattern_that_never_sees_the_source_is_refused(tmp_path):
    values = np.full((200, 200), np.nan)
    values[::6, ::6] = 1.0  # one measurement per 6 x 6 pixels: the paper's 3-80 m sources cover at most 4
    mask = MaskWindows(write_raster(str(tmp_path / "sparse.tif"), values))
    config = SynthesisConfig(kind="point", count_per_class=1, patch_size=64, interpolation="none", mask=mask)
    with pytest.raises(InputError, match="^MASK_SOURCE: no point_source drawn in 50 tries"):
        make_example(config, 1)
