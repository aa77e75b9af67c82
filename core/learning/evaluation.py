"""Evaluating a model on labelled datasets at the detector's wrap settings (Table I)."""
import numpy as np

from ..common.errors import InputError
from .metrics import confusion_matrix, table_i_metrics
from .patch_classifier import classify_patches, predicted_classes


def model_labels(examples, model_classes, parameter="DATASET"):
    """The examples' labels as indices into ``model_classes``; InputError for a class the model lacks."""
    unknown = [name for name in examples.classes if name not in model_classes]
    if unknown:
        raise InputError(parameter, f"holds the class(es) {', '.join(unknown)}, which the model does not know "
                                    f"(it knows {', '.join(model_classes)})")
    remap = np.array([model_classes.index(name) for name in examples.classes])
    return remap[examples.labels]


def evaluate(model, examples, intervals, offsets, device="cpu", batch_size=64, progress=None, is_cancelled=None):
    """Table I metrics (%) and confusion matrix of a core.learning.model_file.LoadedModel on ``examples``.

    Every example is classified like a detector window: every look (mu, tau),
    P_mu = max over tau, P_final = mean over mu, deformation when P_final >= 0.5.
    Returns a dict: metrics, confusion ((C, C) list over the model's classes), classes.
    """
    model.require_family("windows", "evaluation by windows (Table I)")
    if examples.patch_size != model.input_size:
        raise InputError("DATASET", f"patches are {examples.patch_size} px but the model takes "
                                    f"{model.input_size} px")
    labels = model_labels(examples, model.classes)
    probabilities = classify_patches(model.network, examples, intervals, offsets, device, batch_size,
                                     progress, is_cancelled)
    predicted = predicted_classes(probabilities)
    return {"metrics": table_i_metrics(labels, predicted),
            "confusion": confusion_matrix(labels, predicted, len(model.classes)).tolist(),
            "classes": model.classes}
