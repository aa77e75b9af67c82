"""The classifier in fully convolutional form, so that overlapping windows share their convolutions.

Classifying every 224 x 224 window of a map separately repeats most of the
work: neighbouring windows see the same pixels. The same network applied to
the whole map at once gives, at every step of its stride, the output it
would give for the window starting there: the fully connected head becomes
a convolution over the 6 x 6 feature block of a window (AlexNet; 4 x 4,
stepping two feature pixels per window, without padding) or the
class map is averaged over the window (SqueezeNet). The only difference is
at the window's edges, where a window alone sees zero padding and the
shared form sees the neighbouring pixels; tests measure it. AlexNet without
padding (``alexnet_unpadded``) has no such difference: each output sees its
window's pixels only, and the shared form is exact.
"""
from dataclasses import dataclass

from ..common.errors import InputError
from .networks import INPUT_SIZE

# Total stride of the convolutional layers, in input pixels: AlexNet's conv1
# (stride 4) and three 2x pools; SqueezeNet 1.1's conv1 (stride 2) and three 2x pools.
NETWORK_STRIDES = {"alexnet": 32, "alexnet_compact": 32, "alexnet_bn": 32, "squeezenet1_1": 16,
                   "alexnet_unpadded": 32}
# Stride of the feature map the head reads, in input pixels: unpadded AlexNet has no last pool,
# so its head steps two feature pixels per window.
FEATURE_STRIDES = {"alexnet_unpadded": 16}
# Input pixels beyond a window's edges that reach its shared-form output through padding
# (AlexNet: 2 + 8 x 2 + 16 x 3 = 66; SqueezeNet: 4 x 2 + 8 x 2 + 16 x 4 = 88; rounded up to
# whole strides), i.e. the halo a tile needs for the same result as the untiled map.
RECEPTIVE_MARGINS = {"alexnet": 96, "alexnet_compact": 96, "alexnet_bn": 96, "squeezenet1_1": 96,
                     "alexnet_unpadded": 0}


@dataclass
class SharedClassifier:
    """``module`` maps (N, 3, H, W) inputs to (N, C, rows, cols) logits, one per window.

    The window at output position (i, j) covers input rows
    ``i * stride .. i * stride + window - 1`` and the same columns;
    ``margin`` (pixels) is how far beyond a window its output can see.
    """

    module: object
    stride: int
    window: int
    margin: int


def shared_classifier(network, architecture):
    """The fully convolutional form of a classifier ``network`` (eval mode, same weights)."""
    import torch
    from torch import nn

    if architecture not in NETWORK_STRIDES:
        raise InputError("MODEL", f"no shared form for architecture {architecture!r}")
    if architecture == "squeezenet1_1":
        head = [layer for layer in network.classifier if not isinstance(layer, (nn.Dropout, nn.AdaptiveAvgPool2d))]
        final_size = _feature_size(network.features, torch)
        module = nn.Sequential(network.features, *head, nn.AvgPool2d(final_size, stride=1))
    else:
        head_stride = NETWORK_STRIDES[architecture] // FEATURE_STRIDES.get(architecture, NETWORK_STRIDES[architecture])
        module = nn.Sequential(network.features, *_convolutional_head(network.classifier, head_stride, nn))
    # channels-last convolutions run about 15 % faster on a CPU for whole maps
    return SharedClassifier(module.eval().to(memory_format=torch.channels_last), NETWORK_STRIDES[architecture],
                            INPUT_SIZE, RECEPTIVE_MARGINS[architecture])


def _feature_size(features, torch):
    """Side of the feature map a single window produces."""
    with torch.no_grad():
        return int(features(torch.zeros(1, 3, INPUT_SIZE, INPUT_SIZE)).shape[-1])


def _convolutional_head(classifier, head_stride, nn):
    """AlexNet's fully connected head as convolutions: the first over a window's feature block, then 1 x 1.

    ``head_stride``: feature pixels between neighbouring windows.
    """
    layers = []
    first = True
    for layer in classifier:
        if isinstance(layer, nn.Dropout):
            continue
        if isinstance(layer, nn.Linear):
            if first:
                channels = 256
                side = int(round((layer.in_features / channels) ** 0.5))
                convolution = nn.Conv2d(channels, layer.out_features, side, stride=head_stride)
                convolution.weight.data.copy_(layer.weight.data.view(layer.out_features, channels, side, side))
                first = False
            else:
                convolution = nn.Conv2d(layer.in_features, layer.out_features, 1)
                convolution.weight.data.copy_(layer.weight.data.view(layer.out_features, layer.in_features, 1, 1))
            convolution.bias.data.copy_(layer.bias.data)
            layers.append(convolution)
        else:
            layers.append(layer)
    return layers
