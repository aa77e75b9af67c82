"""Classification metrics of the paper's Table I, in percent, and the confusion matrix.

Deformation of any kind is the positive class, no deformation the negative.
"""
import numpy as np

TABLE_I_COLUMNS = ("accuracy", "precision", "recall", "false_positive_rate")


def _percent(numerator, denominator):
    return 100.0 * numerator / denominator if denominator else float("nan")


def table_i_metrics(labels, predicted):
    """Accuracy, precision, recall and false positive rate (%) of class predictions.

    ``labels``, ``predicted``: (N,) class indices, 0 = no deformation.
    Returns a dict with the four Table I columns and the counts tp, fp, tn, fn.
    """
    truth = np.asarray(labels) != 0
    said = np.asarray(predicted) != 0
    tp, fp = int(np.sum(truth & said)), int(np.sum(~truth & said))
    tn, fn = int(np.sum(~truth & ~said)), int(np.sum(truth & ~said))
    return {"accuracy": _percent(tp + tn, len(truth)), "precision": _percent(tp, tp + fp),
            "recall": _percent(tp, tp + fn), "false_positive_rate": _percent(fp, fp + tn),
            "tp": tp, "fp": fp, "tn": tn, "fn": fn, "count": int(len(truth))}


def confusion_matrix(labels, predicted, class_count):
    """(C, C) int counts: row = true class, column = predicted class."""
    matrix = np.zeros((class_count, class_count), dtype=np.int64)
    np.add.at(matrix, (np.asarray(labels, dtype=np.int64), np.asarray(predicted, dtype=np.int64)), 1)
    return matrix
