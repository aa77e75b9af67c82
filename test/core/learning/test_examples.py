"""Tests of core/learning/examples.py: labelled examples from datasets."""
import numpy as np
import pytest

from insar_deformation_detector.core.common.errors import InputError
from insar_deformation_detector.core.learning.examples import merged_classes, stratified_split


def test_split_keeps_every_class_on_both_sides():
    labels = np.array([0] * 20 + [1] * 20 + [2] * 3)
    train_idx, valid_idx = stratified_split(labels, 0.25, seed=4)
    assert sorted(np.concatenate([train_idx, valid_idx]).tolist()) == list(range(43))
    assert np.bincount(labels[valid_idx]).tolist() == [5, 5, 1]
    again = stratified_split(labels, 0.25, seed=4)
    assert again[1].tolist() == valid_idx.tolist()


def test_point_and_tunnel_sets_merge_into_three_classes():
    assert merged_classes([["no_deformation", "point_source"], ["no_deformation", "tunnel"]]) == [
        "no_deformation", "point_source", "tunnel"]
    with pytest.raises(InputError, match="DATASET"):
        merged_classes([["point_source", "no_deformation"]])
