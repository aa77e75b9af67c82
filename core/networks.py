"""The classifier networks: torchvision backbones with a head for our classes (section III-C).

Every network takes (N, 3, 224, 224) float32 images (core.wrapping's
network input) and returns (N, C) logits for the C classes of the training
data (class 0 is always "no deformation"). Layer names follow torchvision,
so ImageNet weights in torchvision's format transfer layer by layer.
"""
from .dependencies import require
from .errors import InputError

ARCHITECTURES = {
    "alexnet": "AlexNet as in the paper: torchvision's layout with the last layer replaced "
               "(57 M parameters, about 230 MB per model file)",
    "alexnet_compact": "AlexNet's convolutional layers with a compact 256-unit head "
                       "(4.8 M parameters, about 10 MB per model file in half precision)",
    "squeezenet1_1": "SqueezeNet 1.1, a light fully convolutional backbone (0.7 M parameters)",
}
COMPACT_HEAD_UNITS = 256
INPUT_SIZE = 224  # pixels, AlexNet's input (section III-C)


def build_network(architecture, class_count):
    """A freshly initialised network of ``architecture`` with ``class_count`` outputs."""
    require("torch", "torchvision")
    import torchvision
    from torch import nn

    if architecture not in ARCHITECTURES:
        raise InputError("ARCHITECTURE", f"must be one of {', '.join(ARCHITECTURES)}, got {architecture!r}")
    if architecture == "alexnet":
        return torchvision.models.alexnet(num_classes=class_count)
    if architecture == "squeezenet1_1":
        return torchvision.models.squeezenet1_1(num_classes=class_count)
    network = torchvision.models.alexnet(num_classes=class_count)
    network.classifier = nn.Sequential(
        nn.Dropout(p=0.5),
        nn.Linear(256 * 6 * 6, COMPACT_HEAD_UNITS),
        nn.ReLU(inplace=True),
        nn.Dropout(p=0.5),
        nn.Linear(COMPACT_HEAD_UNITS, class_count),
    )
    return network


def transfer_weights(network, weights):
    """Copy every tensor of ``weights`` whose name and shape match a layer of ``network``.

    ``weights``: a state dict (name -> tensor), e.g. torchvision's ImageNet
    AlexNet or one of our own models. Layers that differ (a head for other
    classes) keep their fresh initialisation. Returns (copied, skipped) name lists.
    """
    own = network.state_dict()
    copied = {name: tensor for name, tensor in weights.items()
              if name in own and tuple(own[name].shape) == tuple(tensor.shape)}
    own.update({name: tensor.to(own[name].dtype) for name, tensor in copied.items()})
    network.load_state_dict(own)
    return sorted(copied), sorted(set(weights) - set(copied))
