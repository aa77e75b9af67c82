"""Training, model files, over-wrapped classification and the Table I metrics, without QGIS."""
import json
import os

import numpy as np
import pytest
import torch

from insar_deformation_detector.core import model_file
from insar_deformation_detector.core.errors import Cancelled, InputError
from insar_deformation_detector.core.evaluation import evaluate
from insar_deformation_detector.core.examples import Examples, merged_classes, open_datasets, stratified_split
from insar_deformation_detector.core.metrics import confusion_matrix, table_i_metrics
from insar_deformation_detector.core.model_file import load_model, read_model_file, save_model
from insar_deformation_detector.core.networks import build_network, transfer_weights
from insar_deformation_detector.core.patch_classifier import combine_looks, predicted_classes
from insar_deformation_detector.core.real_negatives import cut_stable_patches
from insar_deformation_detector.core.training import Trainer, TrainingConfig, batch_inputs, train
from insar_deformation_detector.core.wrapping import (
    DEFAULT_INTERVALS,
    DEFAULT_OFFSETS,
    network_input,
    parse_intervals,
    wrap_pairs,
    wrap_to_gray,
)
from helpers import write_raster


def test_wrapping_scales_one_interval_to_the_gray_range():
    velocity = np.array([[0.0, 1.75, 3.5, -1.75], [6.0, np.nan, 13.9, 14.0]])
    gray = wrap_to_gray(velocity, 3.5, offset=0.0)
    np.testing.assert_allclose(gray[0], [0.0, 127.5, 0.0, 127.5], atol=1e-4)
    np.testing.assert_allclose(gray[1, [0, 2, 3]], [2.5 / 3.5 * 255, 3.4 / 3.5 * 255, 0.0], atol=1e-3)
    assert np.isnan(gray[1, 1])
    shifted = wrap_to_gray(velocity, 7.0, offset=3.5)
    assert shifted[0, 0] == pytest.approx(127.5)
    image = network_input(velocity, 7.0)
    assert image.shape == (3, 2, 4) and image.dtype == np.float32
    assert image[:, 1, 1].tolist() == [0.0, 0.0, 0.0]  # unmeasured adds nothing to the first convolution
    assert image[0, 0, 0] == pytest.approx(-0.485 / 0.229, rel=1e-5)


def test_the_paper_looks_are_eight_distinct_images():
    pairs = wrap_pairs(DEFAULT_INTERVALS, DEFAULT_OFFSETS)
    # 4 x 4 (mu, tau), but an offset that is a whole number of fringes changes nothing
    assert pairs == [(14.0, 0.0), (14.0, 3.5), (14.0, 7.0), (14.0, 10.5), (7.0, 0.0), (7.0, 3.5),
                     (3.5, 0.0), (1.75, 0.0)]


def test_combining_looks_takes_the_max_over_offsets_then_the_mean_over_intervals():
    pairs = [(14.0, 0.0), (14.0, 3.5), (7.0, 0.0), (7.0, 3.5)]
    deformation = np.array([[0.2, 0.9, 0.4, 0.1]]).T  # one patch, four looks
    looks = np.stack([1 - deformation, deformation], axis=-1)
    combined = combine_looks(looks, pairs)
    assert combined[0, 1] == pytest.approx((0.9 + 0.4) / 2)
    assert combined.sum() == pytest.approx(1.0)
    three = np.array([[[0.5, 0.1, 0.4]], [[0.2, 0.7, 0.1]]])  # two looks at one interval
    assert combine_looks(three, [(7.0, 0.0), (7.0, 3.5)])[0].tolist() == [0.2, 0.7, 0.1]
    assert predicted_classes(np.array([[0.6, 0.3, 0.1], [0.2, 0.1, 0.7], [0.5, 0.4, 0.1]])).tolist() == [0, 2, 1]


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


def test_a_saved_model_reloads_with_identical_outputs(tiny_model, tmp_path):
    path, _ = tiny_model
    model = load_model(path)
    inputs = torch.from_numpy(np.random.default_rng(0).normal(size=(4, 3, 64, 64)).astype(np.float32))
    with torch.no_grad():
        reference = model.network(inputs)
        save_model(str(tmp_path / "again.pt"), model.network, model.metadata)
        assert torch.equal(load_model(str(tmp_path / "again.pt")).network(inputs), reference)
        save_model(str(tmp_path / "half.pt"), model.network, model.metadata, half=True)
        half = load_model(str(tmp_path / "half.pt"))
        assert half.metadata["stored_precision"] == "float16"
        torch.testing.assert_close(half.network(inputs), reference, atol=2e-2, rtol=2e-2)
    assert os.path.getsize(tmp_path / "half.pt") < 0.55 * os.path.getsize(tmp_path / "again.pt")


def test_evaluation_scores_every_example_and_refuses_other_input_sizes(tiny_model, tiny_dataset):
    path, result = tiny_model
    examples = Examples(open_datasets([tiny_dataset]))
    outcome = evaluate(load_model(path), examples, DEFAULT_INTERVALS, DEFAULT_OFFSETS)
    assert outcome["metrics"]["count"] == 24
    assert sum(sum(row) for row in outcome["confusion"]) == 24
    with pytest.raises(InputError, match="DATASET: patches are 64 px"):
        model = load_model(path)
        model.metadata["input_size"] = 224
        evaluate(model, examples, DEFAULT_INTERVALS, DEFAULT_OFFSETS)


class _Trap:
    """Unpickling this would create a file: proof that loading ran code."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _bad_files(folder, good):
    folder.mkdir()
    data = open(good, "rb").read()
    files = {"empty": b"", "truncated": data[: len(data) // 2], "text": b"not a model at all\n" * 10}
    paths = {}
    for name, content in files.items():
        paths[name] = str(folder / f"{name}.pt")
        with open(paths[name], "wb") as handle:
            handle.write(content)
    paths["pickled"] = str(folder / "pickled.pt")
    torch.save({"format": "insardefo-model", "version": 1, "trap": _Trap(str(folder / "ran.txt"))}, paths["pickled"])
    paths["foreign"] = str(folder / "foreign.pt")
    torch.save(build_network("alexnet_compact", 2).state_dict(), paths["foreign"])
    metadata, weights = read_model_file(good)
    for name, version, changes in (("newer", 2, {}), ("unknown_architecture", 1, {"architecture": "vgg99"}),
                                   ("wrong_classes", 1, {"classes": ["no_deformation", "a", "b"]})):
        paths[name] = str(folder / f"{name}.pt")
        torch.save({"format": "insardefo-model", "version": version, "metadata": json.dumps({**metadata, **changes}),
                    "weights": weights}, paths[name])
    return paths


@pytest.mark.parametrize("name, message", [
    ("missing", "does not exist"), ("empty", "not a readable PyTorch file"),
    ("truncated", "not a readable PyTorch file"), ("text", "not a readable PyTorch file"),
    ("pickled", "pickled Python objects"), ("foreign", "not an insardefo model file"),
    ("newer", "newer plugin"), ("unknown_architecture", "does not know"),
    ("wrong_classes", "do not fit a alexnet_compact network for 3 classes")])
def test_bad_model_files_are_refused_and_nothing_runs(tiny_model, tmp_path, name, message):
    paths = _bad_files(tmp_path / "bad", tiny_model[0])
    path = paths.get(name, str(tmp_path / "missing.pt"))
    with pytest.raises(InputError) as raised:
        load_model(path)
    assert str(raised.value).startswith("MODEL: ") and message in str(raised.value)
    assert not os.path.exists(tmp_path / "bad" / "ran.txt")


def test_transfer_copies_matching_layers_only():
    source = build_network("alexnet", 1000).state_dict()
    network = build_network("alexnet_compact", 3)
    copied, skipped = transfer_weights(network, source)
    assert all(name.startswith("features.") for name in copied) and len(copied) == 10
    assert "classifier.6.weight" in skipped
    assert torch.equal(network.state_dict()["features.0.weight"], source["features.0.weight"])
    normalised = build_network("alexnet_bn", 2)
    copied, _ = transfer_weights(normalised, source)
    assert len(copied) == 10  # the five convolutions, moved past the batch-normalisation layers
    assert torch.equal(normalised.state_dict()["features.14.weight"], source["features.10.weight"])


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


def test_real_negatives_avoid_the_given_areas_and_the_gaps(tmp_path):
    rows, cols = np.mgrid[0:200, 0:300]
    values = (rows * 1000 + cols).astype(np.float32)  # each pixel tells where it is
    values[:, 250:] = np.nan
    path = write_raster(str(tmp_path / "real.tif"), values)
    avoid = ["POLYGON((400000 298000, 401500 298000, 401500 300000, 400000 300000, 400000 298000))"]  # cols < 150
    patches = cut_stable_patches(path, 64, 50, pixel_size=10.0, avoid_wkts=avoid, seed=1)
    corners = sorted((int(patch[0, 0]) // 1000, int(patch[0, 0]) % 1000) for patch in patches)
    assert corners == [(row, col) for row in (0, 32, 64, 96, 128) for col in (160, 192)]  # >= 90 % measured
    assert patches.shape == (10, 64, 64)
    assert len(cut_stable_patches(path, 64, 3, pixel_size=10.0, seed=1)) == 3
    with pytest.raises(InputError, match="REAL_NEGATIVES: its pixels are 10 map units but the datasets' are 20"):
        cut_stable_patches(path, 64, 5, pixel_size=20.0)
