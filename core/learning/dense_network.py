"""The dense detector: a small U-Net that gives every pixel of a velocity map a class.

The paper classifies 224 x 224 windows (section III-C); this second family labels every pixel,
so one training map teaches every pixel and the areas follow the deforming ground rather than a
window lattice. It is fully convolutional and batch-normalised, and every layer sees a fixed
neighbourhood, so a whole tile is one forward pass and the tile size does not change the answer
beyond the halo the caller keeps.

The strided architecture puts a stride-2 convolution before the four scales, so they run at 1/2
to 1/16 of the input's pixels (about a quarter of the work), and its logits are upsampled
bilinearly to the input grid; it needs sides that are multiples of, and a halo twice as wide as,
the others' (the network's ``stride``). The light architecture keeps that encoder and lightens the
decoder, about two thirds of the strided network's work: instead of convolving the upsampled
coarser features joined to the skip connection, it projects the coarser features onto the finer
width by a 1 x 1 convolution, upsamples and adds them to the skip connection, and convolves only
the narrow sum (detection of a 50 m map about 1.1-1.2 times faster on 2 cores, bench/dense_speed.py).

Input: (N, C, H, W) float32 (C: the first FIRST_CHANNELS or all INPUT_CHANNELS) at the map's
working pixel size, H and W multiples of SIZE_MULTIPLE times the network's ``stride`` (see
:func:`network_input`). Output: (N, K, H, W) logits of the K classes of the training data, class
0 "no deformation".
"""
import numpy as np

from ..common.dependencies import require
from ..synthesis.training_maps import MODEL_PIXEL_M
from ..synthesis.training_maps import working_pixel_m as clipped_pixel_m  # the same rule, given a model's sizes

DENSE_ARCHITECTURES = {
    "unet_small": "U-Net, 4 scales of 12-24-48-96 channels, batch-normalised (0.27 M parameters)",
    "unet_tiny": "U-Net, 4 scales of 4-8-16-32 channels, for tests (0.03 M parameters)",
    "unet_strided": "U-Net behind a stride-2 convolution, 4 scales of 12-24-48-96 channels at 1/2 to 1/16 of "
                    "the pixels, batch-normalised (0.28 M parameters, about 4x faster than unet_small)",
    "unet_strided_light": "The strided U-Net with a light decoder: coarser features projected, upsampled and added "
                          "to the skip connection (0.23 M parameters, detection about 1.1x faster than unet_strided)",
}
WIDTHS = {"unet_small": (12, 24, 48, 96), "unet_tiny": (4, 8, 16, 32), "unet_strided": (12, 24, 48, 96),
          "unet_strided_light": (12, 24, 48, 96)}
STRIDES = {"unet_small": 1, "unet_tiny": 1, "unet_strided": 2,
           "unet_strided_light": 2}  # of the convolution before the scales
ADDING_DECODERS = {"unet_strided_light"}  # decoders that add the projected coarser features to the skip
SIZE_MULTIPLE = 2 ** 3  # three halvings between the four scales (times the stride)
INPUT_CHANNEL_NAMES = ["velocity_mm_yr_over_10", "coverage", "log2_pixel_over_20m_over_2",
                       "measurement_mm_yr_over_10", "measured_share"]
INPUT_CHANNELS = len(INPUT_CHANNEL_NAMES)
FIRST_CHANNELS = 3  # models made before the measurement channels see only the first three
VELOCITY_SCALE_MM_YR = 10.0  # velocities enter as v / 10: +-10 mm/yr maps to +-1
VELOCITY_CLIP_MM_YR = 100.0  # beyond this magnitude velocities are clipped (units mistakes, spikes)


def network_input(velocity, reference=None, pixel_m=MODEL_PIXEL_M, measurements=None, channels=INPUT_CHANNELS):
    """(channels, H, W) float32 network input of an (H, W) velocity map in mm/yr with ``pixel_m`` metre pixels.

    Channel 0: the velocity minus ``reference`` (mm/yr: a number or an (H, W) array; None: the
    map's median), clipped to +-VELOCITY_CLIP_MM_YR and divided by VELOCITY_SCALE_MM_YR, 0 in
    holes. Channel 1: coverage, 1 where the map has a value and 0 in holes (NaN), so holes are
    never read as stable or deforming ground. Channel 2: log2(pixel_m / MODEL_PIXEL_M) / 2
    everywhere, so the network knows how much ground a pixel covers (0 at 20 m, 1.16 at 100 m).
    Channels 3 and 4 say what the map was interpolated from: ``measurements`` (2, H, W), the
    mean measurement in each pixel (mm/yr, NaN where none) and the share of the pixel measured
    (0-1, core.common.resampling.measurement_maps); channel 3 is that mean about the same
    reference, scaled as channel 0 and 0 where nothing was measured, channel 4 the share. None
    means the map is its own measurement (a dense map). Training centres each crop on its
    median; detection passes a local median surface (core.detection.reference_surface).
    ``channels``: how many of the channels to return (a model's input_channels).
    """
    velocity = np.asarray(velocity, dtype=np.float32)
    covered = np.isfinite(velocity)
    if reference is None:
        reference = float(np.median(velocity[covered])) if covered.any() else 0.0
    image = np.empty((channels,) + velocity.shape, dtype=np.float32)
    _centred(velocity, reference, covered, image[0])
    image[1] = covered
    image[2] = np.log2(pixel_m / MODEL_PIXEL_M) / 2.0
    if channels > FIRST_CHANNELS:
        mean, share = (velocity, covered) if measurements is None else measurements
        measured = np.isfinite(mean)
        _centred(np.asarray(mean, dtype=np.float32), reference, measured, image[3])
        if channels > FIRST_CHANNELS + 1:
            image[4] = np.where(measured, share, 0.0)
    return image


def _centred(values, reference, finite, out):
    """Write ``values`` (mm/yr, NaN: none, ``finite`` where not) minus ``reference``, clipped and scaled
    for the network, 0 where NaN, into the float32 array ``out`` of their shape."""
    np.subtract(values, reference, out=out)
    out[~finite] = 0.0
    np.clip(out, -VELOCITY_CLIP_MM_YR, VELOCITY_CLIP_MM_YR, out=out)
    out /= VELOCITY_SCALE_MM_YR


def working_pixel_m(metadata, pixel_m):
    """The pixel size (metres) the dense model of ``metadata`` sees a map of ``pixel_m`` metres at.

    The map's own, held between the model's finest ("pixel_size_m") and coarsest
    ("coarsest_pixel_m") pixel sizes.
    """
    finest = float(metadata["pixel_size_m"])
    return clipped_pixel_m(pixel_m, finest, float(metadata.get("coarsest_pixel_m", finest)))


def size_multiple(architecture):
    """The number of pixels the sides of a network of ``architecture``'s input must be a multiple of."""
    return SIZE_MULTIPLE * STRIDES[architecture]


def build_dense_network(architecture, class_count, input_channels=INPUT_CHANNELS):
    """A freshly initialised U-Net of ``architecture`` (a DENSE_ARCHITECTURES key) with ``class_count`` outputs.

    ``input_channels``: how many of INPUT_CHANNEL_NAMES it reads (the network's ``input_channels``);
    the network's ``stride`` is that of its first convolution (STRIDES).
    """
    require("torch")
    import torch
    from torch import nn

    def block(inputs, outputs):
        return nn.Sequential(
            nn.Conv2d(inputs, outputs, 3, padding=1, bias=False), nn.BatchNorm2d(outputs), nn.ReLU(inplace=True),
            nn.Conv2d(outputs, outputs, 3, padding=1, bias=False), nn.BatchNorm2d(outputs), nn.ReLU(inplace=True))

    class UNet(nn.Module):
        """Encoder of four scales (max-pool between them), decoder with skip connections.

        With ``stride`` 2 a stride-2 convolution comes first and the logits are upsampled back.
        With ``adding`` the decoder adds the projected coarser features to each skip connection
        (``project``) instead of joining them.
        """

        def __init__(self, widths, stride, adding):
            super().__init__()
            self.input_channels, self.stride = input_channels, stride
            self.stem = None if stride == 1 else nn.Sequential(
                nn.Conv2d(input_channels, widths[0], 3, stride=stride, padding=1, bias=False),
                nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True))
            self.down = nn.ModuleList()
            previous = input_channels if stride == 1 else widths[0]
            for width in widths:
                self.down.append(block(previous, width))
                previous = width
            self.pool = nn.MaxPool2d(2)
            self.upsample = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
            pairs = list(zip(widths[:0:-1], widths[-2::-1]))  # (coarser, finer) widths, coarsest first
            self.project = nn.ModuleList(nn.Conv2d(wide, narrow, 1) for wide, narrow in pairs) if adding else None
            self.up = nn.ModuleList(block(narrow if adding else wide + narrow, narrow) for wide, narrow in pairs)
            self.head = nn.Conv2d(widths[0], class_count, 1)

        def forward(self, x):
            x, skips = x if self.stem is None else self.stem(x), []
            for index, layer in enumerate(self.down):
                x = layer(x if index == 0 else self.pool(x))
                skips.append(x)
            for number, (layer, skip) in enumerate(zip(self.up, skips[-2::-1])):
                if self.project is None:
                    x = layer(torch.cat([self.upsample(x), skip], dim=1))
                else:
                    x = layer(self.upsample(self.project[number](x)) + skip)
            # the few logit channels upsample 3x faster in the standard layout than channels last
            return self.head(x) if self.stem is None else self.upsample(self.head(x).contiguous())

    return UNet(WIDTHS[architecture], STRIDES[architecture], architecture in ADDING_DECODERS)


def inference_network(network):
    """A copy of a trained U-Net made for fast prediction on the CPU, giving the same logits.

    Each convolution absorbs the batch normalisation after it. The first convolution of each
    decoder block is split in two, one over the upsampled coarser features and one over the skip
    connection, and the two are summed, so the joined tensor is never built (its copy cost about a
    sixth of a forward pass on 2 cores); an adding decoder joins nothing and is kept as it is.
    Tensors are laid out channels last (about 1.6x faster on 2 cores than the training layout).
    Input and output as the trained network's.
    """
    import torch
    from torch import nn

    fused = _batch_norm_fused(network)
    if fused.project is not None:
        return fused.eval().to(memory_format=torch.channels_last)

    def split(join):
        """Two convolutions, over the upsampled and over the skip channels, that sum to ``join``."""
        narrow = join.out_channels
        wide = join.in_channels - narrow
        coarse, fine = nn.Conv2d(wide, narrow, 3, padding=1), nn.Conv2d(narrow, narrow, 3, padding=1, bias=False)
        with torch.no_grad():
            coarse.weight.copy_(join.weight[:, :wide])
            coarse.bias.copy_(join.bias)
            fine.weight.copy_(join.weight[:, wide:])
        return nn.ModuleList([coarse, fine])

    class SplitJoinUNet(nn.Module):
        """The fused U-Net whose decoder convolves its two inputs apart instead of concatenating them."""

        def __init__(self):
            super().__init__()
            self.input_channels, self.stride, self.stem = fused.input_channels, fused.stride, fused.stem
            self.down, self.pool, self.upsample, self.head = fused.down, fused.pool, fused.upsample, fused.head
            self.joins = nn.ModuleList(split(block[0]) for block in fused.up)
            self.rest = nn.ModuleList(block[1:] for block in fused.up)

        def forward(self, x):
            x, skips = x if self.stem is None else self.stem(x), []
            for index, layer in enumerate(self.down):
                x = layer(x if index == 0 else self.pool(x))
                skips.append(x)
            for (coarse, fine), rest, skip in zip(self.joins, self.rest, skips[-2::-1]):
                x = rest(coarse(self.upsample(x)).add_(fine(skip)))
            return self.head(x) if self.stem is None else self.upsample(self.head(x).contiguous())

    return SplitJoinUNet().eval().to(memory_format=torch.channels_last)


def _batch_norm_fused(network):
    """An evaluation copy of ``network`` whose convolutions absorb the batch normalisations after them."""
    import copy

    from torch import nn
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    fused = copy.deepcopy(network).eval()
    for module in fused.modules():
        if not isinstance(module, nn.Sequential):
            continue
        layers, kept = list(module), []
        while layers:
            layer = layers.pop(0)
            if isinstance(layer, nn.Conv2d) and layers and isinstance(layers[0], nn.BatchNorm2d):
                layer = fuse_conv_bn_eval(layer, layers.pop(0))
            kept.append(layer)
        for name in list(module._modules):
            del module._modules[name]
        for index, layer in enumerate(kept):
            module.add_module(str(index), layer)
    return fused
