"""Tests of core/learning/dense_training.py: a tiny U-Net learns bowls, and runs resume."""
import numpy as np
import pytest

from insar_deformation_detector.core.common.errors import Cancelled, InputError
from insar_deformation_detector.core.learning.dense_training import (
    IGNORE,
    DenseTrainer,
    DenseTrainingConfig,
    LabelledMaps,
    pixel_scores,
)

CLASSES = ["no_deformation", "point_source"]
PIXELS = np.full(24, 20.0)  # metres: every test map at the model's finest pixel size


def bowl_maps(count, size=64, seed=0):
    """LabelledMaps of noise with one Gaussian bowl each (peak 5-15 mm/yr), labelled where it exceeds 1 mm/yr.

    A third of the pixels of each map are its measurements.
    """
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[:size, :size]
    velocity, labels, measurements = [], [], []
    for _ in range(count):
        centre, radius, peak = rng.uniform(12, size - 12, 2), rng.uniform(3, 8), rng.uniform(5, 15)
        bowl = -peak * np.exp(-((rows - centre[0]) ** 2 + (cols - centre[1]) ** 2) / (2 * radius ** 2))
        velocity.append((bowl + rng.normal(0, 0.7, (size, size))).astype(np.float32))
        labels.append((np.abs(bowl) >= 1.0).astype(np.uint8))
        measured = rng.random((size, size)) < 1 / 3
        measurements.append([np.where(measured, velocity[-1], np.nan), measured])
    return LabelledMaps(np.stack(velocity), np.stack(labels), PIXELS[:count],
                        np.array(measurements, dtype=np.float32), CLASSES)


def test_pixel_scores_count_deforming_pixels_and_skip_ignored_ones():
    labels = np.array([[1, 1, 0, IGNORE]], np.uint8)
    predicted = np.array([[1, 0, 1, 1]])
    scores = pixel_scores(predicted, labels)
    assert scores["pixel_precision"] == 50.0 and scores["pixel_recall"] == 50.0 and scores["pixel_f1"] == 50.0


def test_a_tiny_unet_learns_bowls_and_a_run_resumes_from_its_checkpoint(tmp_path):
    maps = bowl_maps(24)
    config = DenseTrainingConfig(architecture="unet_tiny", steps=120, batch_size=4, crop_px=48,
                                 learning_rate=5e-3, class_weights=(1.0, 3.0), validation_fraction=0.25)
    checkpoint = str(tmp_path / "checkpoint.pt")
    trainer = DenseTrainer(maps, config, checkpoint)
    first = np.mean([trainer.train_step() for _ in range(10)])
    history = trainer.run()
    assert history[-1]["loss"] < 0.6 * first and trainer.best > 50.0  # pixel F1 (%) of the held-out maps
    again = DenseTrainer(maps, config, checkpoint)
    assert again.step == 120 and again.best == trainer.best
    assert again.run() == []  # nothing left to do


def test_cancel_writes_a_checkpoint_to_continue_from(tmp_path):
    maps = bowl_maps(8)
    config = DenseTrainingConfig(architecture="unet_tiny", steps=50, batch_size=2, crop_px=32)
    checkpoint = str(tmp_path / "checkpoint.pt")
    trainer = DenseTrainer(maps, config, checkpoint)
    with pytest.raises(Cancelled):
        trainer.run(is_cancelled=lambda: trainer.step >= 3)
    assert DenseTrainer(maps, config, checkpoint).step == 3


@pytest.mark.parametrize("change,parameter", [({"architecture": "alexnet"}, "ARCHITECTURE"),
                                              ({"crop_px": 30}, "CROP_SIZE"), ({"steps": 0}, "STEPS"),
                                              ({"architecture": "unet_strided", "crop_px": 40}, "CROP_SIZE")])
def test_bad_settings_name_their_parameter(tmp_path, change, parameter):
    maps = bowl_maps(4)
    config = DenseTrainingConfig(**{"architecture": "unet_tiny", "crop_px": 32, **change})
    with pytest.raises(InputError) as error:
        DenseTrainer(maps, config, str(tmp_path / "checkpoint.pt"))
    assert error.value.parameter == parameter


def test_the_hard_pixel_loss_is_the_mean_of_the_hardest_labelled_pixels(tmp_path):
    import torch

    trainer = DenseTrainer(bowl_maps(4), DenseTrainingConfig(architecture="unet_tiny", crop_px=16,
                                                             hard_pixel_share=0.25), str(tmp_path / "checkpoint.pt"))
    logits = torch.zeros(1, 2, 2, 4)
    logits[0, 0] = torch.tensor([[4.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])  # one confident stable pixel
    targets = torch.tensor([[[0, 1, 0, IGNORE], [0, 0, 0, 0]]])  # 7 labelled pixels: a quarter is 2
    every = torch.nn.functional.cross_entropy(logits, targets, ignore_index=IGNORE, reduction="none")
    hardest = sorted(every[targets != IGNORE].tolist(), reverse=True)[:2]
    assert trainer._batch_loss(logits, targets).item() == pytest.approx(np.mean(hardest))
    with pytest.raises(InputError, match="HARD_PIXEL_SHARE"):
        DenseTrainingConfig(hard_pixel_share=0.0).validate(256)
