"""Training the deformation classifier (sections II-A, III-C, IV-A).

Inputs are velocity patches wrapped at a wrap interval and offset drawn at
random for every example in every epoch (section III-C's mu and tau), with
random flips and right-angle rotations. The loss is class-weighted cross
entropy, optimised with Adam; after each epoch the validation loss decides
early stopping and the best weights so far are saved as a checkpoint, so a
cancelled run leaves the last good model. At the end the best model is
evaluated on the validation set at the detector's settings (every look,
P_mu = max over tau, mean over mu) for the Table I metrics.
"""
import os
import time
from dataclasses import dataclass

import numpy as np

from ..common.dependencies import require
from ..common.errors import Cancelled, InputError
from .examples import stratified_split
from .metrics import confusion_matrix, table_i_metrics
from .model_file import plugin_version, read_init_weights, save_model
from .networks import ARCHITECTURES, build_network, check_input_size, transfer_weights
from .patch_classifier import classify_patches, predicted_classes
from .wrapping import DEFAULT_INTERVALS, DEFAULT_OFFSETS, network_input

DEVICES = ("auto", "cpu", "cuda")
MAX_EPOCHS = 1000


@dataclass(frozen=True)
class TrainingConfig:
    """Settings of one training run; see insardefo:train for their meaning."""

    architecture: str = "alexnet"
    epochs: int = 30
    batch_size: int = 32
    learning_rate: float = 1e-4
    validation_fraction: float = 0.15
    seed: int = 0
    device: str = "auto"
    patience: int = 5  # epochs without a better validation loss before stopping
    intervals: tuple = DEFAULT_INTERVALS
    offsets: tuple = DEFAULT_OFFSETS
    init_weights: str = None
    half_precision: bool = False
    time_limit_minutes: float = 0.0  # stop after the epoch that passes this much training time (0: none)

    def validate(self):
        """Raise InputError naming the first bad setting."""
        if self.architecture not in ARCHITECTURES:
            raise InputError("ARCHITECTURE", f"must be one of {', '.join(ARCHITECTURES)}, got {self.architecture!r}")
        if not 1 <= self.epochs <= MAX_EPOCHS:
            raise InputError("EPOCHS", f"must lie in [1, {MAX_EPOCHS}], got {self.epochs}")
        if not 2 <= self.batch_size <= 4096:
            raise InputError("BATCH_SIZE", f"must lie in [2, 4096] examples, got {self.batch_size}")
        if not (np.isfinite(self.learning_rate) and 0 < self.learning_rate <= 1):
            raise InputError("LEARNING_RATE", f"must lie in (0, 1], got {self.learning_rate}")
        if not 0 < self.validation_fraction < 1:
            raise InputError("VALIDATION_FRACTION", f"must lie in (0, 1), got {self.validation_fraction}")
        if not 0 <= self.seed < 2 ** 63:
            raise InputError("SEED", f"must be a non-negative integer, got {self.seed}")
        if self.device not in DEVICES:
            raise InputError("DEVICE", f"must be one of {', '.join(DEVICES)}, got {self.device!r}")
        if not 1 <= self.patience <= MAX_EPOCHS:
            raise InputError("PATIENCE", f"must lie in [1, {MAX_EPOCHS}] epochs, got {self.patience}")
        if not (np.isfinite(self.time_limit_minutes) and self.time_limit_minutes >= 0):
            raise InputError("TIME_LIMIT", f"must be 0 (none) or a positive number of minutes, "
                                           f"got {self.time_limit_minutes}")


def choose_device(name):
    """The torch device for "auto", "cpu" or "cuda"; InputError if CUDA is asked for and absent."""
    import torch

    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("DEVICE", "CUDA was requested but PyTorch sees no CUDA GPU; choose auto or cpu")
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def use_all_cores():
    """Let PyTorch use every core of this machine for CPU work."""
    import torch

    torch.set_num_threads(max(1, os.cpu_count() or 1))


def augmented_input(patch, rng, intervals, offsets):
    """(3, P, P) network input of one (P, P) mm/yr patch at a random look, flip and rotation."""
    image = network_input(patch, rng.choice(intervals), rng.choice(offsets))
    image = np.rot90(image, k=int(rng.integers(4)), axes=(1, 2))
    if rng.integers(2):
        image = image[:, :, ::-1]
    return np.ascontiguousarray(image)


def batch_inputs(examples, positions, seed, epoch, config):
    """(B, 3, P, P) inputs and (B,) labels; example i of epoch e always gets the same look."""
    images = [augmented_input(examples.patch(int(position)), np.random.default_rng([seed, epoch, int(position)]),
                              config.intervals, config.offsets) for position in positions]
    return np.stack(images), examples.labels[positions]


class Trainer:
    """One training run over an core.learning.examples.Examples set; see :func:`train`."""

    def __init__(self, examples, config, model_path, progress=None, is_cancelled=None, log=None):
        require("torch", "torchvision")
        import torch

        config.validate()
        self.torch = torch
        self.examples, self.config, self.model_path = examples, config, model_path
        self.progress = progress or (lambda fraction, message: None)
        self.is_cancelled = is_cancelled or (lambda: False)
        self.log = log or (lambda message: None)
        self.device = choose_device(config.device)
        use_all_cores()
        torch.manual_seed(config.seed)
        self.train_idx, self.valid_idx = stratified_split(examples.labels, config.validation_fraction, config.seed)
        if len(self.train_idx) == 0 or len(self.valid_idx) == 0:
            raise InputError("DATASET", f"{len(examples)} examples are too few to split into training and "
                                        "validation sets")
        check_input_size(config.architecture, examples.patch_size)
        self.network = build_network(config.architecture, len(examples.classes))
        self.init_description = self._transfer()
        self.network.to(self.device)
        self.optimizer = torch.optim.Adam(self.network.parameters(), lr=config.learning_rate)
        counts = np.bincount(examples.labels[self.train_idx], minlength=len(examples.classes)).astype(np.float64)
        weights = len(self.train_idx) / (len(counts) * np.maximum(counts, 1.0))
        self.loss = torch.nn.CrossEntropyLoss(weight=torch.tensor(weights, dtype=torch.float32, device=self.device))
        self.history = []

    def _transfer(self):
        if not self.config.init_weights:
            return "random initialisation"
        weights, kind = read_init_weights(self.config.init_weights)
        copied, skipped = transfer_weights(self.network, weights)
        if not copied:
            raise InputError("INIT_WEIGHTS", f"no layer of {self.config.init_weights} fits a "
                                             f"{self.config.architecture} network")
        self.log(f"Transfer learning from {self.config.init_weights} ({kind}): {len(copied)} tensors copied, "
                 f"{len(skipped)} left out ({', '.join(skipped[:4])})")
        return f"{os.path.basename(self.config.init_weights)} ({kind}; {len(copied)} tensors copied)"

    def _check_cancel(self):
        if self.is_cancelled():
            raise Cancelled()

    def _train_epoch(self, epoch):
        config = self.config
        order = np.random.default_rng([config.seed, epoch, 1]).permutation(self.train_idx)
        total, batches = 0.0, range(0, len(order), config.batch_size)
        for number, start in enumerate(batches):
            self._check_cancel()
            inputs, labels = batch_inputs(self.examples, order[start:start + config.batch_size], config.seed,
                                          epoch + 1, config)
            value = self.step(inputs, labels)
            total += value * len(labels)
            self.progress((epoch + (number + 1) / len(batches)) / config.epochs,
                          f"epoch {epoch + 1}/{config.epochs}, batch {number + 1}/{len(batches)}, loss {value:.4f}")
        return total / len(order)

    def step(self, inputs, labels):
        """One optimiser step on a (B, 3, P, P) input batch and its (B,) labels (cross entropy + extra_loss);
        returns the batch cross entropy."""
        torch = self.torch
        self.network.train()
        self.optimizer.zero_grad()
        loss = self.loss(self.network(torch.from_numpy(inputs).to(self.device)),
                         torch.from_numpy(labels.astype(np.int64)).to(self.device))
        (loss + self.extra_loss()).backward()
        self.optimizer.step()
        return loss.item()

    def extra_loss(self):
        """What a subclass adds to each step's cross entropy (a tensor, or 0.0 for nothing)."""
        return 0.0

    def _validate(self):
        """(validation loss, Table I metrics) with one fixed random look per example."""
        torch, config = self.torch, self.config
        self.network.eval()
        total, predicted = 0.0, []
        with torch.no_grad():
            for start in range(0, len(self.valid_idx), config.batch_size):
                self._check_cancel()
                inputs, labels = batch_inputs(self.examples, self.valid_idx[start:start + config.batch_size],
                                              config.seed, 0, config)
                logits = self.network(torch.from_numpy(inputs).to(self.device))
                labels = torch.from_numpy(labels.astype(np.int64)).to(self.device)
                total += float(self.loss(logits, labels)) * len(labels)
                predicted.append(logits.argmax(dim=1).cpu().numpy())
        metrics = table_i_metrics(self.examples.labels[self.valid_idx], np.concatenate(predicted))
        return total / len(self.valid_idx), metrics

    def metadata(self, status, metrics=None):
        """The model file's metadata for the weights now in the network."""
        config = self.config
        return {"architecture": config.architecture, "input_size": self.examples.patch_size,
                "classes": self.examples.classes, "intervals_mm_yr": list(config.intervals),
                "offsets_mm_yr": list(config.offsets), "pixel_size_m": self.examples.pixel_size(),
                "plugin_version": plugin_version(), "status": status, "trained_on": self.examples.describe(),
                "initial_weights": self.init_description,
                "training": {"epochs": config.epochs, "batch_size": config.batch_size,
                             "learning_rate": config.learning_rate, "optimizer": "Adam",
                             "validation_fraction": config.validation_fraction, "seed": config.seed,
                             "patience": config.patience, "time_limit_minutes": config.time_limit_minutes,
                             "device": self.device,
                             "train_examples": int(len(self.train_idx)),
                             "validation_examples": int(len(self.valid_idx))},
                "history": self.history, "validation_metrics": metrics}

    def run(self):
        """Train, checkpointing the best epoch to the model path; returns the result dict."""
        config = self.config
        best_loss, best_epoch, best_state = float("inf"), -1, None
        started = time.time()
        for epoch in range(config.epochs):
            epoch_started = time.time()
            train_loss = self._train_epoch(epoch)
            valid_loss, valid_metrics = self._validate()
            if not (np.isfinite(train_loss) and np.isfinite(valid_loss)):
                raise InputError("LEARNING_RATE", f"training diverged in epoch {epoch + 1} (loss {train_loss}); "
                                                  f"try a smaller learning rate than {config.learning_rate:g}")
            self.history.append({"epoch": epoch + 1, "train_loss": train_loss, "validation_loss": valid_loss,
                                 "validation_accuracy": valid_metrics["accuracy"],
                                 "seconds": time.time() - epoch_started})
            self.log(f"Epoch {epoch + 1}: training loss {train_loss:.4f}, validation loss {valid_loss:.4f}, "
                     f"validation accuracy {valid_metrics['accuracy']:.2f}% ({time.time() - epoch_started:.0f} s)")
            if valid_loss < best_loss:
                best_loss, best_epoch = valid_loss, epoch
                best_state = {name: tensor.detach().clone() for name, tensor in self.network.state_dict().items()}
                save_model(self.model_path, self.network,
                           self.metadata(f"checkpoint after epoch {epoch + 1}", valid_metrics),
                           config.half_precision)
            elif epoch - best_epoch >= config.patience:
                self.log(f"Early stop: no better validation loss for {config.patience} epochs")
                break
            if config.time_limit_minutes and time.time() - started > 60 * config.time_limit_minutes:
                self.log(f"Time limit of {config.time_limit_minutes:g} minutes reached after epoch {epoch + 1}")
                break
        self.network.load_state_dict(best_state)
        self.progress(1.0, "evaluating the best epoch at the detector's wrap settings")
        evaluation = self.evaluate_best()
        metadata = self.metadata("complete", evaluation["metrics"])
        metadata["training"]["best_epoch"] = best_epoch + 1
        metadata["training"]["seconds"] = time.time() - started
        save_model(self.model_path, self.network, metadata, config.half_precision)
        return {"history": self.history, "best_epoch": best_epoch + 1, "metadata": metadata, **evaluation}

    def evaluate_best(self):
        """Table I metrics and confusion matrix of the validation set at every look (section III-C)."""
        probabilities = classify_patches(self.network, self.examples.subset(self.valid_idx), self.config.intervals,
                                         self.config.offsets, self.device, batch_size=max(self.config.batch_size, 16),
                                         is_cancelled=self.is_cancelled)
        labels = self.examples.labels[self.valid_idx]
        predicted = predicted_classes(probabilities)
        return {"metrics": table_i_metrics(labels, predicted),
                "confusion": confusion_matrix(labels, predicted, len(self.examples.classes)).tolist()}


def train(examples, config, model_path, progress=None, is_cancelled=None, log=None):
    """Train a classifier on ``examples`` and write it to ``model_path``.

    Returns a dict: history (per epoch: train_loss, validation_loss,
    validation_accuracy in %, seconds), best_epoch, metrics (Table I, %, on
    the validation set at every look), confusion ((C, C) list) and the
    model's metadata. On Cancel, core.common.errors.Cancelled is raised and the
    last checkpoint (the best epoch so far, if any) stays at ``model_path``.
    """
    return Trainer(examples, config, model_path, progress, is_cancelled, log).run()
