"""Tests of core/synthesis/training_examples.py: synthetic examples and datasets (section III-B)."""
import os

import numpy as np
import pytest

from insar_deformation_detector.core.common.errors import Cancelled, InputError
from insar_deformation_detector.core.synthesis.dataset import Dataset
from insar_deformation_detector.core.synthesis.scatterer_patterns import MaskWindows
from insar_deformation_detector.core.synthesis.training_examples import (
    MIN_FOOTPRINT_MEASUREMENTS,
    SynthesisConfig,
    generate_dataset,
    make_example,
)

from helpers import write_raster


def test_examples_are_reproducible_and_labelled_by_class():
    config = SynthesisConfig(kind="both", count_per_class=2, patch_size=48, interpolation="delaunay", seed=5)
    first = [make_example(config, index) for index in range(3)]
    again = make_example(config, 2)
    assert np.array_equal(first[2][0], again[0]) and first[2][2] == again[2]
    assert [example[1] for example in first] == [0, 1, 2]
    assert [example[2]["source"] for example in first] == ["none", "mogi", "tunnel"]
    assert not np.array_equal(first[0][0], first[1][0])
    sparse, _, record, measurements = make_example(SynthesisConfig(kind="point", patch_size=48,
                                                                   interpolation="none"), 0)
    assert np.isnan(sparse).mean() == pytest.approx(1 - record["measured_fraction"])
    assert np.array_equal(sparse, measurements, equal_nan=True)  # an uninterpolated patch is its measurements
    assert np.isfinite(first[1][0]).all() and np.isnan(first[1][3]).any()  # interpolated from sparse


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
        mean, share = one.measurement_map(index)  # what the patch was interpolated from
        assert ((share == 1.0) == np.isfinite(mean)).all() and 0 < share.mean() < 1
    assert one.records() == two.records()
    assert one.manifest["interpolation"] == "matrix_completion" and one.manifest["seed"] == 11


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
        patch, label, record, _ = make_example(config, index)
        if label == 0:
            assert record["footprint_measurements"] is None
        else:
            assert record["footprint_measurements"] >= MIN_FOOTPRINT_MEASUREMENTS
            assert np.isfinite(patch).sum() >= record["footprint_measurements"]


def test_a_pattern_that_never_sees_the_source_is_refused(tmp_path):
    values = np.full((200, 200), np.nan)
    values[::6, ::6] = 1.0  # one measurement per 6 x 6 pixels: the paper's 3-80 m sources cover at most 4
    mask = MaskWindows(write_raster(str(tmp_path / "sparse.tif"), values))
    config = SynthesisConfig(kind="point", count_per_class=1, patch_size=64, interpolation="none", mask=mask)
    with pytest.raises(InputError, match="^MASK_SOURCE: no point_source drawn in 50 tries"):
        make_example(config, 1)
