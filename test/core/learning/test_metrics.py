"""Tests of core/learning/metrics.py: Table I."""
import numpy as np
import pytest

from insar_deformation_detector.core.learning.metrics import confusion_matrix, table_i_metrics


def test_table_i_metrics_from_counts():
    labels = np.array([0] * 10 + [1] * 5 + [2] * 5)
    predicted = np.array([0] * 8 + [1, 2] + [1] * 4 + [0] + [2] * 5)
    metrics = table_i_metrics(labels, predicted)
    assert (metrics["tp"], metrics["fp"], metrics["tn"], metrics["fn"]) == (9, 2, 8, 1)
    assert metrics["accuracy"] == pytest.approx(85.0)
    assert metrics["precision"] == pytest.approx(900 / 11)
    assert metrics["recall"] == pytest.approx(90.0)
    assert metrics["false_positive_rate"] == pytest.approx(20.0)
    assert confusion_matrix(labels, predicted, 3).tolist() == [[8, 1, 1], [1, 4, 0], [0, 0, 5]]
