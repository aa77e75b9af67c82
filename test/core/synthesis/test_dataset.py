"""Tests of core/synthesis/dataset.py: shards on disk."""
import os

import numpy as np

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
