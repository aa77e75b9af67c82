"""Tests of core/learning/training.py: augmentation, loss, checkpoints, settings."""
import os

import numpy as np
import pytest
import torch

from insar_deformation_detector.core.common.errors import Cancelled, InputError
from insar_deformation_detector.core.learning import model_file
from insar_deformation_detector.core.learning.examples import Examples, open_datasets
from insar_deformation_detector.core.learning.model_file import read_model_file
from insar_deformation_detector.core.learning.training import Trainer, TrainingConfig, batch_inputs, train
from insar_deformation_detector.core.learning.wrapping import parse_intervals


def test_augmented_inputs_are_reproducible(tiny_dataset):
    examples = Examples(open_datasets([tiny_dataset]))
    config = TrainingConfig()
    first, labels = batch_inputs(examples, np.array([0, 5, 20]), 3, 1, config)
    second, _ = batch_inputs(examples, np.array([0, 5, 20]), 3, 1, config)
    other, _ = batch_inputs(examples, np.array([0, 5, 20]), 3, 2, config)
    assert first.shape == (3, 3, 64, 64) and labels.tolist() == examples.labels[[0, 5, 20]].tolist()
    assert np.array_equal(first, second) and not np.array_equal(first, other)


def test_the_unpadded_alexnet_takes_the_detectors_windows_only(tiny_dataset, tmp_path):
    with pytest.raises(InputError, match="DATASET: alexnet_unpadded takes 224-pixel patches.*64-pixel"):
        Trainer(Examples(open_datasets([tiny_dataset])), TrainingConfig(architecture="alexnet_unpadded"),
                str(tmp_path / "m.pt"))
    assert not os.path.exists(tmp_path / "m.pt")


def test_a_few_training_steps_lower_the_loss(tiny_dataset, tmp_path):
    examples = Examples(open_datasets([tiny_dataset]))
    trainer = Trainer(examples, TrainingConfig(architecture="alexnet_compact", seed=4), str(tmp_path / "m.pt"))
    inputs, labels = batch_inputs(examples, trainer.train_idx, 4, 1, trainer.config)

    def loss():
        trainer.network.eval()
        with torch.no_grad():
            return float(trainer.loss(trainer.network(torch.from_numpy(inputs)),
                                      torch.from_numpy(labels.astype(np.int64))))

    losses = [loss()]
    for _ in range(3):
        for _ in range(3):
            trainer.step(inputs, labels)
        losses.append(loss())
    assert losses == sorted(losses, reverse=True) and losses[-1] < losses[0] - 0.05, losses


def test_training_writes_a_complete_model_with_metadata(tiny_model, tiny_dataset):
    path, result = tiny_model
    assert [row["epoch"] for row in result["history"]] == [1, 2]
    assert all(np.isfinite(row["train_loss"]) and np.isfinite(row["validation_loss"]) for row in result["history"])
    metadata, weights = read_model_file(path)
    assert metadata["status"] == "complete"
    assert metadata["architecture"] == "alexnet_compact" and metadata["input_size"] == 64
    assert metadata["classes"] == ["no_deformation", "point_source"]
    assert metadata["intervals_mm_yr"] == [14.0, 7.0, 3.5, 1.75] and metadata["offsets_mm_yr"] == [0, 3.5, 7, 10.5]
    assert metadata["trained_on"]["datasets"][0]["folder"] == tiny_dataset
    assert metadata["validation_metrics"].keys() == result["metrics"].keys()
    np.testing.assert_equal(list(metadata["validation_metrics"].values()), list(result["metrics"].values()))
    assert metadata["plugin_version"] == model_file.plugin_version() != "unknown"
    assert sum(sum(row) for row in result["confusion"]) == result["metrics"]["count"] == 6
    assert all(weights[name].dtype == torch.float32 for name in weights if weights[name].is_floating_point())


def test_cancel_keeps_the_last_good_checkpoint(tiny_dataset, tmp_path):
    examples = Examples(open_datasets([tiny_dataset]))
    path = str(tmp_path / "model.pt")
    config = TrainingConfig(architecture="alexnet_compact", epochs=5, batch_size=6, seed=3)
    with pytest.raises(Cancelled):
        train(examples, config, path, is_cancelled=lambda: True)
    assert not os.path.exists(path)
    progress = []
    with pytest.raises(Cancelled):
        train(examples, config, path, progress=lambda fraction, message: progress.append(fraction),
              is_cancelled=lambda: len(progress) > 4)  # 3 batches per epoch: stop in epoch 2
    metadata, _ = read_model_file(path)
    assert metadata["status"] == "checkpoint after epoch 1"
    assert [name for name in os.listdir(tmp_path)] == ["model.pt"]


def test_bad_training_settings_name_the_parameter(tiny_dataset, tmp_path):
    examples = Examples(open_datasets([tiny_dataset]))
    for settings, name in (({"epochs": 0}, "EPOCHS"), ({"learning_rate": 0.0}, "LEARNING_RATE"),
                           ({"validation_fraction": 1.0}, "VALIDATION_FRACTION"), ({"architecture": "vgg"},
                                                                                   "ARCHITECTURE")):
        with pytest.raises(InputError, match=f"^{name}: "):
            train(examples, TrainingConfig(**settings), str(tmp_path / "m.pt"))
    with pytest.raises(InputError, match="^INTERVALS: values must lie in"):
        parse_intervals("14, -7")
    assert os.listdir(tmp_path) == []
