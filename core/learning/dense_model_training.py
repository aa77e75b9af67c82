"""A dense detector's model file from training maps: what insardefo:train and make default-model run.

The U-Net trains (core.learning.dense_training), its best weights get a temperature and an area
calibration fitted on maps it never trained on (core.learning.calibration,
core.learning.area_confidence), are scored per pixel on the validation maps with the paper's
Table I metrics (a pixel is "deformation" when the calibrated
P(deformation) >= 0.5, as detection decides), and are written as a model file of the dense family.
"""
import os

import numpy as np

from ..common.errors import Cancelled, InputError
from ..synthesis.training_maps import IGNORE
from .area_confidence import calibrate_areas
from .calibration import calibrate, each_map_logits, softmax
from .dense_training import DenseTrainer, dense_model_metadata, training_arrays
from .metrics import confusion_matrix, table_i_metrics
from .model_file import DENSE, load_model, plugin_version, save_model

TRAINING_SHARE = 0.9  # of the progress bar; the temperature fit and the scoring take the rest


def train_dense_model(datasets, config, model_path, checkpoint_path, init_path=None, calibration_datasets=None,
                      progress=None, is_cancelled=None, log=None):
    """Train a dense model on ``datasets`` (core.synthesis.dataset.Dataset of training maps) into ``model_path``.

    ``checkpoint_path``: where the run checkpoints (and resumes from, if it exists).
    ``init_path``: a dense model file whose weights start the run (same architecture and classes).
    ``calibration_datasets``: maps for the temperature fit (None: the validation maps).
    Returns a dict: history (per validation: step, loss, pixel scores), metrics (Table I per pixel,
    %), confusion ((C, C) per pixel), calibration and the model's metadata. On Cancel the best
    weights so far (if any) are written to ``model_path`` and Cancelled is raised.
    """
    maps = training_arrays(datasets)
    trainer = DenseTrainer(maps, config, checkpoint_path, log)
    initial = _start_from(trainer, init_path) if init_path else "random initialisation"
    report = progress or (lambda fraction: None)
    try:
        trainer.run(lambda fraction: report(TRAINING_SHARE * fraction), is_cancelled)
        trainer.network.load_state_dict(trainer.best_weights)
        held_out = maps.subset(trainer.validation)
        fit_on = training_arrays(calibration_datasets, "CALIBRATION") if calibration_datasets else held_out
        report(TRAINING_SHARE)
        logits = list(each_map_logits(trainer.network, fit_on, is_cancelled))
        fitted = calibrate(logits, fit_on.labels)
        areas = calibrate_areas(logits, fit_on.velocity, fit_on.labels, fitted["temperature"], fit_on.pixel_m)
        scores = pixel_table_i(trainer.network, held_out, fitted["temperature"], is_cancelled)
    except Cancelled:
        if trainer.best_weights is not None:
            trainer.network.load_state_dict(trainer.best_weights)
            save_model(model_path, trainer.network, {**dense_model_metadata(trainer, plugin_version()),
                                                     "initial_weights": initial,
                                                     "status": f"checkpoint at step {trainer.step}"})
        raise
    metadata = {**dense_model_metadata(trainer, plugin_version()), "initial_weights": initial,
                "temperature": fitted["temperature"],
                "calibration": fitted, "area_confidence": areas, "validation_metrics": scores["metrics"],
                "status": "complete"}
    save_model(model_path, trainer.network, metadata)
    return {"history": trainer.history, "metadata": metadata, "calibration": fitted, **scores}


def refit_area_calibration(model_path, calibration_datasets, output_path, is_cancelled=None):
    """Write ``model_path``'s dense model to ``output_path`` with its area calibration refitted.

    The weights and temperature stay; the area calibration and its floor
    (core.learning.area_confidence) are fitted again on ``calibration_datasets`` (training-map
    datasets it never trained on), as training fits them. Returns the new table.
    """
    model = load_model(model_path, "MODEL")
    model.require_family(DENSE, "an area calibration")
    maps = training_arrays(calibration_datasets, "CALIBRATION")
    logits = list(each_map_logits(model.network, maps, is_cancelled))
    table = calibrate_areas(logits, maps.velocity, maps.labels, model.metadata["temperature"], maps.pixel_m)
    save_model(output_path, model.network, {**model.metadata, "area_confidence": table},
               half=model.metadata.get("stored_precision") == "float16")
    return table


def _start_from(trainer, init_path):
    """The description of the dense model file ``init_path`` (file, architecture, steps, validation pixel
    F1), its weights loaded into ``trainer``'s network unless the run resumed (they are in its checkpoint)."""
    model = load_model(init_path, "INIT_WEIGHTS")
    if model.family != DENSE:
        raise InputError("INIT_WEIGHTS", f"{init_path} is a {model.family} model; a dense architecture starts from "
                                         "a dense model or from scratch")
    classes = trainer.maps.classes
    if (model.metadata["architecture"] != trainer.config.architecture or list(model.classes) != list(classes)
            or model.network.input_channels != trainer.network.input_channels):
        raise InputError("INIT_WEIGHTS", f"{init_path} is a {model.metadata['architecture']} for "
                                         f"{', '.join(model.classes)} reading {model.network.input_channels} input "
                                         f"channels; this run trains a {trainer.config.architecture} for "
                                         f"{', '.join(classes)} reading {trainer.network.input_channels}")
    if trainer.step == 0:
        trainer.network.load_state_dict(model.network.state_dict())
    training = model.metadata.get("training", {})
    return (f"{os.path.basename(init_path)} ({model.metadata['architecture']}, {training.get('steps', '?')} steps, "
            f"validation pixel F1 {model.metadata.get('validation', {}).get('pixel_f1', float('nan')):.1f} %)")


def pixel_table_i(network, maps, temperature, is_cancelled=None):
    """Table I metrics (%) and confusion matrix per pixel of ``maps`` (LabelledMaps), as detection decides.

    Pixels labelled IGNORE are skipped. A pixel is deformation when 1 - P(no deformation) >= 0.5
    (its kind: the likelier one); P from the logits divided by ``temperature``. ``is_cancelled``:
    checked before each map.
    """
    truth, predicted = [], []
    for logits, map_labels in zip(each_map_logits(network, maps, is_cancelled), maps.labels):
        probabilities = softmax(logits, temperature)
        kind = 1 + np.argmax(probabilities[1:], axis=0)
        said = np.where(probabilities[0] <= 0.5, kind, 0)
        known = map_labels != IGNORE
        truth.append(map_labels[known])
        predicted.append(said[known])
    truth, predicted = np.concatenate(truth), np.concatenate(predicted)
    return {"metrics": table_i_metrics(truth, predicted),
            "confusion": confusion_matrix(truth, predicted, len(maps.classes)).tolist()}
