"""Training the dense detector on labelled maps (core.synthesis.training_maps).

Every step takes random crops of random training maps, turned, flipped and negated at random
(subsidence and uplift are detected alike), and learns every pixel's class at once with cross
entropy (pixels labelled IGNORE teach nothing). The classes are weighted equally by default, so
the network's probabilities are not pushed towards deformation and need only a small
calibration (core.detection.calibration). Maps are held out by index for validation, where the pixel F1 of "deforming"
(any class but 0) decides which weights are the best. The run writes a checkpoint (weights,
optimiser, step and best score) every CHECKPOINT_STEPS steps, so a run stopped by a time limit,
Cancel or the end of a session continues from it.
"""
import os
import time
from dataclasses import dataclass

import numpy as np

from ..common.dependencies import require
from ..common.errors import Cancelled, InputError
from ..synthesis.training_maps import COARSEST_PIXEL_M, IGNORE, MODEL_PIXEL_M
from .calibration import each_map_logits
from .dense_network import DENSE_ARCHITECTURES, INPUT_CHANNEL_NAMES, build_dense_network, network_input, size_multiple

CHECKPOINT_STEPS = 100
VALIDATION_STEPS = 200  # steps between validations (and best-model updates)
DENSE_INPUT_SHARE = 0.2  # of training crops that stand for their own measurements (dense input maps)


@dataclass(frozen=True)
class DenseTrainingConfig:
    """Settings of one dense training run.

    crop_px: side of the training crops (pixels at the model's pixel size); batch_size: crops per
    step; class_weights: loss weight of each class, stable ground first; hard_pixel_share: the
    loss is the mean cross-entropy of this share of each batch's labelled pixels, the hardest
    (bootstrapped cross-entropy: the many easy stable pixels stop drowning the false alarms and
    the faint sources), 1 for every pixel.
    """

    architecture: str = "unet_small"
    steps: int = 4000
    batch_size: int = 8
    crop_px: int = 128
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    class_weights: tuple = (1.0, 1.0, 1.0)
    validation_fraction: float = 0.1
    seed: int = 0
    time_limit_minutes: float = 0.0  # stop at the next validation after this much time (0: none)
    hard_pixel_share: float = 1.0

    def validate(self, map_size):
        if self.architecture not in DENSE_ARCHITECTURES:
            raise InputError("ARCHITECTURE", f"must be one of {', '.join(DENSE_ARCHITECTURES)}, "
                                             f"got {self.architecture!r}")
        multiple = size_multiple(self.architecture)
        if not (multiple <= self.crop_px <= map_size and self.crop_px % multiple == 0):
            raise InputError("CROP_SIZE", f"must be a multiple of {multiple} pixels up to the maps' "
                                          f"{map_size}, got {self.crop_px}")
        if not 1 <= self.steps <= 10 ** 7:
            raise InputError("STEPS", f"must lie in [1, 10000000], got {self.steps}")
        if not 1 <= self.batch_size <= 1024:
            raise InputError("BATCH_SIZE", f"must lie in [1, 1024] crops, got {self.batch_size}")
        if not 0.0 < self.hard_pixel_share <= 1.0:
            raise InputError("HARD_PIXEL_SHARE", f"must lie in (0, 1], got {self.hard_pixel_share:g}")


@dataclass
class LabelledMaps:
    """N labelled maps of S x S pixels, as the dense detector trains and is scored on.

    velocity: (N, S, S) interpolated velocity, mm/yr, NaN in holes; labels: (N, S, S) class or
    IGNORE; pixel_m: (N,) each map's pixel size, metres; measurements: (N, 2, S, S) what each
    map was interpolated from (core.common.resampling.measurement_maps); classes: names.
    """

    velocity: np.ndarray
    labels: np.ndarray
    pixel_m: np.ndarray
    measurements: np.ndarray
    classes: list

    def subset(self, indices):
        """The maps at ``indices`` (an index array)."""
        return LabelledMaps(self.velocity[indices], self.labels[indices], self.pixel_m[indices],
                            self.measurements[indices], self.classes)


def training_arrays(datasets, parameter="DATASET"):
    """The LabelledMaps of labelled-map datasets (core.synthesis.dataset.Dataset).

    ``datasets``: training maps of one map size and one list of classes. A map's pixel size is
    its record's "pixel_m", else MODEL_PIXEL_M (maps made before pixel sizes varied); maps made
    before measurements were kept count as their own measurements (dense maps).
    """
    for dataset in datasets:
        if not dataset.has_label_maps:
            raise InputError(parameter, f"{dataset.folder} has one label per window, not per pixel; the dense "
                                        "family trains on training maps (insardefo:trainingmaps)")
    if len({tuple(dataset.classes) for dataset in datasets}) > 1 or len({dataset.manifest["patch_size"]
                                                                         for dataset in datasets}) > 1:
        raise InputError(parameter, "the datasets differ in classes or map size; train on one kind at a time")
    velocity = np.stack([dataset.patch(index) for dataset in datasets for index in range(len(dataset))])
    labels = np.stack([dataset.label_map(index) for dataset in datasets for index in range(len(dataset))])
    pixel_m = np.array([float(record.get("pixel_m") or MODEL_PIXEL_M)
                        for dataset in datasets for record in dataset.records()])
    measurements = np.stack([dataset.measurement_map(index) if dataset.has_measurement_maps
                             else _own_measurements(dataset.patch(index))
                             for dataset in datasets for index in range(len(dataset))])
    return LabelledMaps(velocity, labels, pixel_m, measurements, list(datasets[0].classes))


def _own_measurements(velocity):
    """(2, S, S) measurements of a dense map: its own values, measured wherever it has one."""
    return np.stack([velocity, np.isfinite(velocity)]).astype(np.float32)


def dense_model_metadata(trainer, plugin_version, training=None):
    """The model-file metadata of a finished ``trainer``'s best weights (core.learning.model_file)."""
    config = trainer.config
    return {"family": "dense", "architecture": config.architecture, "classes": list(trainer.maps.classes),
            "pixel_size_m": MODEL_PIXEL_M, "coarsest_pixel_m": COARSEST_PIXEL_M,
            "input_channels": list(INPUT_CHANNEL_NAMES),
            "training": {"maps": len(trainer.maps.velocity), "seed": config.seed, "steps": trainer.step,
                         "batch_size": config.batch_size, "crop_px": config.crop_px,
                         "class_weights": list(config.class_weights), "hard_pixel_share": config.hard_pixel_share,
                         "learning_rate": config.learning_rate, **(training or {})},
            "validation": {"pixel_f1": trainer.best, "history": trainer.history},
            "plugin_version": plugin_version}


def pixel_scores(predicted, labels):
    """Pixel precision, recall and F1 (%) of "deforming" (class > 0) where ``labels`` is not IGNORE."""
    known = labels != IGNORE
    truth, guess = (labels > 0) & known, (predicted > 0) & known
    hits = np.count_nonzero(truth & guess)
    precision = 100.0 * hits / max(np.count_nonzero(guess), 1)
    recall = 100.0 * hits / max(np.count_nonzero(truth), 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-9)
    return {"pixel_precision": precision, "pixel_recall": recall, "pixel_f1": f1}


def random_crop(maps, index, size, rng):
    """A network input and (size, size) labels of map ``index`` of ``maps`` (LabelledMaps), cut at random.

    The crop is turned, flipped and negated at random, and in DENSE_INPUT_SHARE of crops the
    map stands for its own measurements, as a dense map handed to detection does.
    """
    velocity, labels = maps.velocity[index], maps.labels[index]
    top, left = (int(rng.integers(0, side - size + 1)) for side in velocity.shape)
    sign = rng.choice((-1.0, 1.0))
    rows, cols = slice(top, top + size), slice(left, left + size)
    measurements = None
    if rng.random() >= DENSE_INPUT_SHARE:
        measurements = maps.measurements[index][:, rows, cols] * np.array([sign, 1.0], dtype=np.float32)[:, None, None]
    image = network_input(sign * velocity[rows, cols], pixel_m=maps.pixel_m[index], measurements=measurements)
    target = labels[rows, cols]
    turns = int(rng.integers(4))
    image, target = np.rot90(image, turns, axes=(1, 2)), np.rot90(target, turns)
    if rng.integers(2):
        image, target = image[:, :, ::-1], target[:, ::-1]
    return np.ascontiguousarray(image), np.ascontiguousarray(target)


class DenseTrainer:
    """One resumable training run over ``maps`` (LabelledMaps); see :meth:`run`."""

    def __init__(self, maps, config, checkpoint_path, log=None):
        require("torch")
        import torch

        config.validate(maps.velocity.shape[1])
        self.torch, self.maps, self.config = torch, maps, config
        classes = maps.classes
        held_out = max(1, int(round(len(maps.velocity) * config.validation_fraction)))
        order = np.random.default_rng(config.seed).permutation(len(maps.velocity))
        self.validation, self.training = np.sort(order[:held_out]), order[held_out:]
        torch.manual_seed(config.seed)
        self.network = build_dense_network(config.architecture, len(classes))
        self.optimiser = torch.optim.AdamW(self.network.parameters(), lr=config.learning_rate,
                                           weight_decay=config.weight_decay)
        weights = torch.tensor(config.class_weights[:len(classes)], dtype=torch.float32)
        self.loss = torch.nn.CrossEntropyLoss(weight=weights, ignore_index=IGNORE)
        self.pixel_loss = torch.nn.CrossEntropyLoss(weight=weights, ignore_index=IGNORE, reduction="none")
        self.checkpoint_path = checkpoint_path
        self.log = log or (lambda message: None)
        self.step, self.best, self.best_weights, self.history = 0, -1.0, None, []
        if os.path.isfile(checkpoint_path):
            self._resume()

    def _resume(self):
        state = self.torch.load(self.checkpoint_path, weights_only=True)
        self.network.load_state_dict(state["network"])
        self.optimiser.load_state_dict(state["optimiser"])
        self.step, self.best = int(state["step"]), float(state["best"])
        self.best_weights = state["best_weights"]
        self.history = list(state.get("history", []))
        self.log(f"Resumed at step {self.step} (best validation pixel F1 {self.best:.1f} %)")

    def _checkpoint(self):
        state = {"network": self.network.state_dict(), "optimiser": self.optimiser.state_dict(),
                 "step": self.step, "best": self.best, "best_weights": self.best_weights,
                 "history": self.history}
        partial = self.checkpoint_path + ".part"
        self.torch.save(state, partial)
        os.replace(partial, self.checkpoint_path)

    def _learning_rate(self):
        """Cosine decay from the configured rate to 5 % of it over the run's steps."""
        progress = min(1.0, self.step / self.config.steps)
        return float(self.config.learning_rate * (0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * progress))))

    def train_step(self):
        """One optimiser step on a fresh random batch; returns its loss."""
        torch = self.torch
        rng = np.random.default_rng([self.config.seed, self.step])
        picks = rng.choice(self.training, self.config.batch_size)
        crops = [random_crop(self.maps, index, self.config.crop_px, rng) for index in picks]
        images = torch.from_numpy(np.stack([image for image, _ in crops]))
        targets = torch.from_numpy(np.stack([target for _, target in crops]).astype(np.int64))
        for group in self.optimiser.param_groups:
            group["lr"] = self._learning_rate()
        self.network.train()
        loss = self._batch_loss(self.network(images), targets)
        self.optimiser.zero_grad()
        loss.backward()
        self.optimiser.step()
        self.step += 1
        return loss.item()

    def _batch_loss(self, logits, targets):
        """The loss of (N, K, H, W) ``logits`` against (N, H, W) ``targets``: see DenseTrainingConfig."""
        share = self.config.hard_pixel_share
        if share >= 1.0:
            return self.loss(logits, targets)
        losses = self.pixel_loss(logits, targets)[targets != IGNORE]
        if losses.numel() == 0:
            return logits.sum() * 0.0
        return losses.topk(max(1, int(round(share * losses.numel())))).values.mean()

    def validate(self):
        """Pixel scores of the held-out maps; keeps the best weights."""
        held_out = self.maps.subset(self.validation)
        predicted = np.stack([logits.argmax(0) for logits in each_map_logits(self.network, held_out)])
        scores = pixel_scores(predicted, held_out.labels)
        if scores["pixel_f1"] > self.best:
            self.best = scores["pixel_f1"]
            self.best_weights = {name: tensor.clone() for name, tensor in self.network.state_dict().items()}
        return scores

    def run(self, progress=None, is_cancelled=None):
        """Train until ``config.steps`` or the time limit; returns this call's validations.

        Cancel raises Cancelled after writing a checkpoint, so a later run continues.
        """
        started = time.time()
        limit = self.config.time_limit_minutes * 60.0
        losses, earlier = [], len(self.history)
        while self.step < self.config.steps:
            if is_cancelled is not None and is_cancelled():
                self._checkpoint()
                raise Cancelled()
            losses.append(self.train_step())
            if self.step % CHECKPOINT_STEPS == 0:
                self._checkpoint()
            if self.step % VALIDATION_STEPS == 0 or self.step == self.config.steps:
                scores = self.validate()
                entry = {"step": self.step, "loss": float(np.mean(losses)), **scores,
                         "seconds": time.time() - started}
                self.history.append(entry)
                losses = []
                self.log(f"step {self.step}: loss {entry['loss']:.4f}, validation pixel F1 "
                         f"{scores['pixel_f1']:.1f} % (precision {scores['pixel_precision']:.1f}, "
                         f"recall {scores['pixel_recall']:.1f})")
                self._checkpoint()
                if limit and time.time() - started > limit:
                    break
            if progress is not None:
                progress(self.step / self.config.steps)
        return self.history[earlier:]
