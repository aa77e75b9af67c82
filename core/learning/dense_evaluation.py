"""Scoring a dense detector on labelled data with the paper's Table I metrics.

* Training maps (a class per pixel, core.synthesis.training_maps): per pixel, a pixel being
  deformation when its calibrated P(deformation) >= 0.5, as detection decides.
* Window datasets (one class per patch, core.synthesis.training_examples, the Table I
  protocol): per window, a window being deformation when its most likely deforming pixel has
  P(deformation) >= 0.5, that is when detection would draw an area inside it at 0.5; its kind is
  that pixel's likelier kind. Patches are resampled to the model's working pixel size first,
  with the measurements they were interpolated from where the dataset keeps them (else the
  patch stands for its own measurements, as a dense map does).
"""
import numpy as np

from ..common.errors import Cancelled, InputError
from ..common.resampling import measurement_maps, resampled, velocity_method
from .calibration import map_logits, softmax
from .dense_model_training import pixel_table_i
from .dense_network import SIZE_MULTIPLE, working_pixel_m
from .dense_training import training_arrays
from .evaluation import model_labels
from .examples import Examples
from .metrics import confusion_matrix, table_i_metrics


def evaluate_dense(model, datasets, progress=None, is_cancelled=None):
    """Table I metrics (%) of a dense core.learning.model_file.LoadedModel on ``datasets``.

    Returns a dict: metrics, confusion ((C, C) list over the model's classes), classes, and unit
    ("pixels" for training maps, "windows" for window datasets).
    """
    model.require_family("dense", "evaluation of the dense detector")
    kinds = {dataset.has_label_maps for dataset in datasets}
    if len(kinds) > 1:
        raise InputError("DATASET", "mixes training maps and window datasets; evaluate one kind at a time")
    temperature = float(model.metadata.get("temperature", 1.0))
    if kinds.pop():
        maps = training_arrays(datasets)
        if list(maps.classes) != list(model.classes):
            raise InputError("DATASET", f"has the classes {', '.join(maps.classes)}; the model knows "
                                        f"{', '.join(model.classes)}")
        scores = pixel_table_i(model.network, maps, temperature, is_cancelled)
        return {**scores, "classes": model.classes, "unit": "pixels"}
    examples = Examples(datasets)
    labels = model_labels(examples, model.classes)
    pixel_m = examples.pixel_size()
    if not pixel_m:
        raise InputError("DATASET", "does not record its pixel size, which the dense detector needs")
    predicted = window_classes(model, examples, float(pixel_m), temperature, progress, is_cancelled)
    return {"metrics": table_i_metrics(labels, predicted),
            "confusion": confusion_matrix(labels, predicted, len(model.classes)).tolist(),
            "classes": model.classes, "unit": "windows"}


def window_classes(model, examples, pixel_m, temperature, progress=None, is_cancelled=None):
    """(N,) predicted class of every patch of ``examples`` (mm/yr, ``pixel_m`` metre pixels); see the module."""
    working = working_pixel_m(model.metadata, pixel_m)
    side = examples.patch_size
    multiple = SIZE_MULTIPLE * model.network.stride
    target = max(multiple, int(round(side * pixel_m / working / multiple)) * multiple)
    predicted = np.zeros(len(examples), dtype=np.int64)
    for position in range(len(examples)):
        if is_cancelled is not None and is_cancelled():
            raise Cancelled()
        patch = resampled(examples.patch(position), (target, target), velocity_method(side, target))
        measured = examples.measurements(position)
        if measured is not None:
            measured = measurement_maps(np.where(measured[1] > 0, measured[0], np.nan), (target, target))
        probabilities = softmax(map_logits(model.network, patch, working, measured), temperature)
        deforming = 1.0 - probabilities[0]
        peak = np.unravel_index(int(np.nanargmax(deforming)), deforming.shape)
        if deforming[peak] >= 0.5:
            predicted[position] = 1 + int(np.argmax(probabilities[1:, peak[0], peak[1]]))
        if progress is not None:
            progress((position + 1) / len(examples), f"{position + 1} of {len(examples)} windows")
    return predicted
