"""The classifier networks: torchvision backbones with a head for our classes (section III-C).

Every network takes (N, 3, 224, 224) float32 images (core.learning.wrapping's
network input) and returns (N, C) logits for the C classes of the training
data (class 0 is always "no deformation"). Layer names follow torchvision,
so ImageNet weights in torchvision's format transfer layer by layer.
"""
from ..common.dependencies import require
from ..common.errors import InputError

ARCHITECTURES = {
    "alexnet": "AlexNet as in the paper: torchvision's layout with the last layer replaced "
               "(57 M parameters, about 230 MB per model file)",
    "alexnet_compact": "AlexNet's convolutional layers with a compact 256-unit head "
                       "(4.8 M parameters, about 10 MB per model file in half precision)",
    "alexnet_bn": "AlexNet's layers with batch normalisation after every convolution and the compact head "
                  "(4.8 M parameters)",
    "squeezenet1_1": "SqueezeNet 1.1, a light fully convolutional backbone (0.7 M parameters)",
    "alexnet_unpadded": "AlexNet's convolutions without zero padding or the last pool, a 4096-256 head: "
                        "fast detection gives exactly the per-window result (3.5 M parameters)",
}
# alexnet_bn's convolutions sit at other indices than torchvision AlexNet's: plain index -> ours
ALEXNET_BN_CONVOLUTIONS = {0: 0, 3: 4, 6: 8, 8: 11, 10: 14}
COMPACT_HEAD_UNITS = 256
INPUT_SIZE = 224  # pixels, AlexNet's input (section III-C)
# alexnet_unpadded: its last convolution's map of a 224-px window is 4 x 4 (54, 26, 22, 10, 8, 6, 4 px on the way)
UNPADDED_FEATURE_SIDE = 4


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
    feature_side = 6
    if architecture == "alexnet_unpadded":
        _remove_padding(network, nn)
        feature_side = UNPADDED_FEATURE_SIDE
    if architecture == "alexnet_bn":
        layers = []
        for layer in network.features:
            layers.append(layer)
            if isinstance(layer, nn.Conv2d):
                layers.append(nn.BatchNorm2d(layer.out_channels))
        network.features = nn.Sequential(*layers)
    network.classifier = nn.Sequential(
        nn.Dropout(p=0.5),
        nn.Linear(256 * feature_side * feature_side, COMPACT_HEAD_UNITS),
        nn.ReLU(inplace=True),
        nn.Dropout(p=0.5),
        nn.Linear(COMPACT_HEAD_UNITS, class_count),
    )
    return network


def check_input_size(architecture, size):
    """InputError naming DATASET unless ``architecture`` can take ``size``-pixel square patches."""
    if architecture == "alexnet_unpadded" and size != INPUT_SIZE:
        raise InputError("DATASET", f"alexnet_unpadded takes {INPUT_SIZE}-pixel patches (its head reads a fixed "
                                    f"{UNPADDED_FEATURE_SIDE} x {UNPADDED_FEATURE_SIDE} feature block); this one "
                                    f"has {size}-pixel patches")


def _remove_padding(network, nn):
    """Make AlexNet's convolutions unpadded and drop its last pool and adaptive pool, in place.

    Without zero padding, every output of the network depends only on pixels
    inside its window, so the fully convolutional form (core.learning.shared_classifier)
    equals classifying each window alone. The convolutions keep torchvision's
    names and shapes, so ImageNet weights still transfer to them.
    """
    for layer in network.features:
        if isinstance(layer, nn.Conv2d):
            layer.padding = (0, 0)
    network.features = nn.Sequential(*list(network.features)[:-1])
    network.avgpool = nn.Identity()


def transfer_weights(network, weights):
    """Copy every tensor of ``weights`` whose name and shape match a layer of ``network``.

    ``weights``: a state dict (name -> tensor), e.g. torchvision's ImageNet
    AlexNet or one of our own models. Layers that differ (a head for other
    classes) keep their fresh initialisation. Returns (copied, skipped) name lists.
    """
    own = network.state_dict()
    weights = _moved_to_batch_norm_layout(weights, own)
    copied = {name: tensor for name, tensor in weights.items()
              if name in own and tuple(own[name].shape) == tuple(tensor.shape)}
    own.update({name: tensor.to(own[name].dtype) for name, tensor in copied.items()})
    network.load_state_dict(own)
    return sorted(copied), sorted(set(weights) - set(copied))


def _moved_to_batch_norm_layout(weights, own):
    """``weights`` with torchvision AlexNet's convolutions renamed to alexnet_bn's indices, when that is the case."""
    if "features.3.weight" not in weights or "features.1.running_mean" not in own:
        return weights
    moved = {}
    for name, tensor in weights.items():
        parts = name.split(".")
        if parts[0] == "features" and int(parts[1]) in ALEXNET_BN_CONVOLUTIONS:
            name = ".".join(["features", str(ALEXNET_BN_CONVOLUTIONS[int(parts[1])]), *parts[2:]])
        moved[name] = tensor
    return moved
