"""Tests of core/synthesis/dataset.py: shards on disk."""
import os

import numpy as np
import pytest

from insar_deformation_detector.core.common.errors import InputError
from insar_deformation_detector.core.synthesis.dataset import Dataset, DatasetWriter


def test_shards_read_back_in_order(tmp_path):
    writer = DatasetWriter(str(tmp_path / "data"), 4, ["index"], shard_size=3)
    for index in range(7):
        writer.add(np.full((4, 4), index), index % 2, {"index": index})
    writer.commit({"classes": ["a", "b"]})
    dataset = Dataset(str(tmp_path / "data"))
    assert [shard["count"] for shard in dataset.manifest["shards"]] == [3, 3, 1]
    assert [float(dataset.patch(index)[0, 0]) for index in range(7)] == list(range(7))
    assert sorted(os.listdir(tmp_path)) == ["data"]


def test_label_maps_read_back_with_their_patches_and_a_damaged_one_is_named(tmp_path):
    writer = DatasetWriter(str(tmp_path / "maps"), 4, ["index"], shard_size=2)
    for index in range(3):
        writer.add(np.full((4, 4), index), index % 2, {"index": index}, label_map=np.full((4, 4), index, np.uint8))
    writer.commit({"classes": ["a", "b", "c"]})
    dataset = Dataset(str(tmp_path / "maps"))
    assert dataset.has_label_maps and [int(dataset.label_map(index)[3, 3]) for index in range(3)] == [0, 1, 2]
    assert not Dataset(_plain_dataset(tmp_path)).has_label_maps
    np.save(tmp_path / "maps" / "label_maps_00001.npy", np.zeros((1, 3, 3), np.uint8))
    with pytest.raises(InputError, match="DATASET: .* damaged .*label_maps_00001.npy holds"):
        Dataset(str(tmp_path / "maps"))


def test_measurement_maps_read_back_and_a_damaged_one_is_named(tmp_path):
    writer = DatasetWriter(str(tmp_path / "maps"), 4, ["index"], shard_size=2)
    for index in range(3):
        measurements = np.stack([np.full((4, 4), index + 0.5), np.full((4, 4), 0.25)])
        writer.add(np.zeros((4, 4)), 0, {"index": index}, label_map=np.zeros((4, 4), np.uint8),
                   measurements=measurements)
    writer.commit({"classes": ["a", "b"]})
    dataset = Dataset(str(tmp_path / "maps"))
    assert dataset.has_measurement_maps and dataset.measurement_map(2).shape == (2, 4, 4)
    assert dataset.measurement_map(2)[:, 0, 0].tolist() == [2.5, 0.25]
    assert not Dataset(_plain_dataset(tmp_path)).has_measurement_maps
    np.save(tmp_path / "maps" / "measurement_maps_00000.npy", np.zeros((2, 4, 4), np.float32))
    with pytest.raises(InputError, match="DATASET: .* damaged .*measurement_maps_00000.npy holds"):
        Dataset(str(tmp_path / "maps"))


def _plain_dataset(tmp_path):
    writer = DatasetWriter(str(tmp_path / "plain"), 4, ["index"])
    writer.add(np.zeros((4, 4)), 0, {"index": 0})
    writer.commit({"classes": ["a", "b"]})
    return str(tmp_path / "plain")
