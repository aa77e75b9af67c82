"""Tests of core/learning/model_file.py: safe model files."""
import json
import os

import numpy as np
import pytest
import torch

from insar_deformation_detector.core.common.errors import InputError
from insar_deformation_detector.core.learning.dense_network import (
    FIRST_CHANNELS,
    INPUT_CHANNEL_NAMES,
    INPUT_CHANNELS,
    build_dense_network,
)
from insar_deformation_detector.core.learning.model_file import (
    DEFAULT_MODEL_PATH,
    load_model,
    read_model_file,
    save_model,
)
from insar_deformation_detector.core.learning.networks import build_network


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


def test_a_dense_model_reloads_as_its_family(dense_model, tmp_path):
    model = load_model(dense_model)
    assert model.family == "dense" and model.metadata["pixel_size_m"] == 20.0
    inputs = torch.from_numpy(np.random.default_rng(1).normal(size=(1, INPUT_CHANNELS, 32, 32)).astype(np.float32))
    with torch.no_grad():
        reference = model.network(inputs)
        save_model(str(tmp_path / "again.pt"), model.network, model.metadata)
        assert torch.equal(load_model(str(tmp_path / "again.pt")).network(inputs), reference)
    assert load_model(DEFAULT_MODEL_PATH).family == "windows"  # files without a family are the paper's


def test_an_unknown_family_missing_pixel_size_or_other_input_channels_are_refused(dense_model, tmp_path):
    metadata, weights = read_model_file(dense_model)
    network = load_model(dense_model).network
    save_model(str(tmp_path / "future.pt"), network, {**metadata, "family": "transformer"})
    with pytest.raises(InputError, match="MODEL: .* family 'transformer'.*update the plugin"):
        load_model(str(tmp_path / "future.pt"))
    save_model(str(tmp_path / "bare.pt"), network, {key: value for key, value in metadata.items()
                                                     if key != "pixel_size_m"})
    with pytest.raises(InputError, match="MODEL: .* lacks the metadata pixel_size_m"):
        load_model(str(tmp_path / "bare.pt"))
    save_model(str(tmp_path / "older.pt"), network, {**metadata, "input_channels": ["velocity", "coverage"]})
    with pytest.raises(InputError, match="MODEL: .* expects the input channels .* retrain"):
        load_model(str(tmp_path / "older.pt"))


def test_a_dense_model_of_the_first_three_input_channels_still_loads(dense_model, tmp_path):
    metadata = {**read_model_file(dense_model)[0], "input_channels": INPUT_CHANNEL_NAMES[:FIRST_CHANNELS]}
    save_model(str(tmp_path / "three.pt"), build_dense_network("unet_tiny", 3, input_channels=FIRST_CHANNELS),
               metadata)
    assert load_model(str(tmp_path / "three.pt")).network.input_channels == FIRST_CHANNELS
