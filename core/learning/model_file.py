"""Model files: weights and metadata, with no pickled code.

A model file is a ``torch.save`` archive of one plain dict::

    {"format": "insardefo-model", "version": 1,
     "metadata": "<JSON text>", "weights": {layer name: tensor}}

It loads with ``torch.load(weights_only=True)``, which refuses anything but
tensors, strings, numbers and containers, so opening a file never runs code
from it. The metadata records the architecture, input size, classes, wrap
intervals and offsets, the training data, validation metrics and the plugin
version. Files are written to a temporary name and renamed into place, so a
reader never sees half a model.
"""
import json
import os
import pickle
import uuid
import zipfile
from dataclasses import dataclass

from ..common.dependencies import require
from ..common.errors import InputError
from .dense_network import DENSE_ARCHITECTURES, FIRST_CHANNELS, INPUT_CHANNEL_NAMES, build_dense_network
from .networks import ARCHITECTURES, build_network

FORMAT = "insardefo-model"
VERSION = 1
# Model families: the paper's window classifier (section III-C; files without a "family" are these)
# and the dense per-pixel detector (core.learning.dense_network).
WINDOWS, DENSE = "windows", "dense"
FAMILIES = {WINDOWS: (ARCHITECTURES, build_network), DENSE: (DENSE_ARCHITECTURES, build_dense_network)}
REQUIRED_METADATA = {
    WINDOWS: ("architecture", "classes", "input_size", "intervals_mm_yr", "offsets_mm_yr", "plugin_version"),
    DENSE: ("architecture", "classes", "pixel_size_m", "input_channels", "plugin_version"),
}
# The plugin folder: three levels above core/learning/model_file.py.
PLUGIN_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLUGIN_METADATA = os.path.join(PLUGIN_ROOT, "metadata.txt")
# The bundled model, built by scripts/build_default_model.py
DEFAULT_MODEL_PATH = os.path.join(PLUGIN_ROOT, "resources", "models", "default.pt")  # the paper's window family
DENSE_MODEL_PATH = os.path.join(PLUGIN_ROOT, "resources", "models", "dense.pt")  # detection's default (issue 17)


def plugin_version():
    """The plugin's version from metadata.txt (e.g. "0.1.0")."""
    with open(PLUGIN_METADATA, encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("version="):
                return line.split("=", 1)[1].strip()
    return "unknown"


def save_model(path, network, metadata, half=False):
    """Write ``network``'s weights and the JSON-ready ``metadata`` dict to ``path``.

    ``half``: store floating-point weights in float16 (half the size; the
    loader converts back to float32).
    """
    require("torch")
    import torch

    weights = {}
    for name, tensor in network.state_dict().items():
        tensor = tensor.detach().cpu()
        weights[name] = (tensor.half() if half and tensor.is_floating_point() else tensor).contiguous()
    document = {"format": FORMAT, "version": VERSION,
                "metadata": json.dumps({**metadata, "stored_precision": "float16" if half else "float32"}),
                "weights": weights}
    folder = os.path.dirname(os.path.abspath(path))
    partial = os.path.join(folder, f".{os.path.basename(path)}.{uuid.uuid4().hex}.partial")
    try:
        torch.save(document, partial)
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def _load_archive(path, parameter):
    """The plain object stored in ``path``, loaded without unpickling code; InputError if unreadable."""
    require("torch")
    import torch

    if not os.path.isfile(path):
        raise InputError(parameter, f"{path} does not exist or is not a file")
    unreadable = f"{path} is not a readable PyTorch file; it may be truncated or of another kind"
    if not zipfile.is_zipfile(path):
        raise InputError(parameter, unreadable)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise InputError(parameter, f"{path} holds pickled Python objects, not only weights; it was refused "
                                    f"and nothing in it was run ({_gist(error)})") from None
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile) as error:
        raise InputError(parameter, f"{unreadable} ({_gist(error)})") from None


def _gist(error):
    """The line of a (long) torch.load error that says what was wrong, at most 200 characters."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()] or [type(error).__name__]
    telling = [line for line in lines if "Unsupported global" in line]
    return (telling or lines)[0][:200]


def _checked_metadata(document, path, parameter):
    version = document.get("version")
    if not isinstance(version, int) or version < 1:
        raise InputError(parameter, f"{path} has an invalid model format version {version!r}")
    if version > VERSION:
        raise InputError(parameter, f"{path} was made by a newer plugin (model format {version}; this plugin "
                                    f"reads format {VERSION}); update the plugin to use it")
    try:
        metadata = json.loads(document.get("metadata"))
    except (TypeError, ValueError):
        raise InputError(parameter, f"{path} has no readable metadata") from None
    family = metadata.get("family", WINDOWS)
    if family not in FAMILIES:
        raise InputError(parameter, f"{path} is a model of the family {family!r}, which this plugin does not know "
                                    f"({', '.join(FAMILIES)}); update the plugin to use it")
    missing = [key for key in REQUIRED_METADATA[family] if key not in metadata]
    if missing:
        raise InputError(parameter, f"{path} lacks the metadata {', '.join(missing)}")
    architectures = FAMILIES[family][0]
    if metadata["architecture"] not in architectures:
        raise InputError(parameter, f"{path} uses the architecture {metadata['architecture']!r}, which this "
                                    f"plugin does not know ({', '.join(architectures)})")
    channels = metadata.get("input_channels")
    if family == DENSE and not (isinstance(channels, list) and len(channels) >= FIRST_CHANNELS
                                and channels == INPUT_CHANNEL_NAMES[:len(channels)]):
        raise InputError(parameter, f"{path} expects the input channels {metadata['input_channels']}; this plugin "
                                    f"gives {INPUT_CHANNEL_NAMES} (or their first {FIRST_CHANNELS}). Use a model "
                                    "made by this version or retrain")
    classes = metadata["classes"]
    if not (isinstance(classes, list) and len(classes) >= 2 and all(isinstance(name, str) for name in classes)):
        raise InputError(parameter, f"{path} has invalid classes {classes!r}")
    return metadata


def _is_state_dict(value):
    """True for a non-empty dict of layer name -> tensor."""
    import torch

    return (isinstance(value, dict) and bool(value)
            and all(isinstance(name, str) and isinstance(tensor, torch.Tensor) for name, tensor in value.items()))


def _model_parts(document, path, parameter):
    """(metadata, weights) of a loaded model document; InputError naming ``parameter`` if it is not ours."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise InputError(parameter, f"{path} is not an insardefo model file (no {FORMAT!r} format tag)")
    metadata = _checked_metadata(document, path, parameter)
    if not _is_state_dict(document.get("weights")):
        raise InputError(parameter, f"{path} holds no weights")
    return metadata, document["weights"]


def read_model_file(path, parameter="MODEL"):
    """(metadata dict, weights dict) of one of our model files; InputError naming ``parameter`` if not."""
    return _model_parts(_load_archive(path, parameter), path, parameter)


def read_init_weights(path, parameter="INIT_WEIGHTS"):
    """The weights of ``path`` for transfer learning: one of our models or a torchvision state dict.

    Returns (weights dict, description) where description says which kind it was.
    """
    document = _load_archive(path, parameter)
    if isinstance(document, dict) and document.get("format") == FORMAT:
        metadata, weights = _model_parts(document, path, parameter)
        if metadata.get("family", WINDOWS) != WINDOWS:
            raise InputError(parameter, f"{path} is a {metadata['family']} model; a window architecture starts from "
                                        "a window model, torchvision weights or scratch")
        return weights, f"insardefo model ({metadata['architecture']}, classes {', '.join(metadata['classes'])})"
    if _is_state_dict(document):
        return dict(document), "torchvision state dict"
    raise InputError(parameter, f"{path} is neither an insardefo model nor a torchvision state dict of tensors")


@dataclass
class LoadedModel:
    """A network ready to classify (eval mode, float32) and the metadata of its file."""

    network: object
    metadata: dict
    path: str

    @property
    def classes(self):
        return list(self.metadata["classes"])

    @property
    def family(self):
        """WINDOWS (the paper's window classifier) or DENSE (the per-pixel detector)."""
        return self.metadata.get("family", WINDOWS)

    def require_family(self, family, use):
        """InputError naming MODEL unless this model is of ``family``; ``use`` says what needs it."""
        if self.family != family:
            raise InputError("MODEL", f"{self.path} is a {self.family} model; {use} needs a {family} model")

    @property
    def input_size(self):
        return int(self.metadata["input_size"])


def load_model(path, parameter="MODEL", device="cpu"):
    """Read, check and build the model in ``path`` on ``device``; InputError naming ``parameter`` if bad."""
    metadata, weights = read_model_file(path, parameter)
    build = FAMILIES[metadata.get("family", WINDOWS)][1]
    inputs = {"input_channels": len(metadata["input_channels"])} if metadata.get("family") == DENSE else {}
    network = build(metadata["architecture"], len(metadata["classes"]), **inputs)
    own = network.state_dict()
    mismatched = [name for name in own if name not in weights or tuple(weights[name].shape) != tuple(own[name].shape)]
    unexpected = [name for name in weights if name not in own]
    if mismatched or unexpected:
        sample = ", ".join((mismatched + unexpected)[:3])
        raise InputError(parameter, f"{path}: its weights do not fit a {metadata['architecture']} network for "
                                    f"{len(metadata['classes'])} classes ({sample})")
    network.load_state_dict({name: tensor.to(own[name].dtype) for name, tensor in weights.items()})
    return LoadedModel(network.to(device).eval(), metadata, path)
