"""The dense detector: a small U-Net that gives every pixel of a velocity map a class.

The paper classifies 224 x 224 windows (section III-C); this second family labels every pixel,
so one training map teaches every pixel and the areas follow the deforming ground rather than a
window lattice. It is fully convolutional and batch-normalised, and every layer sees a fixed
neighbourhood, so a whole tile is one forward pass and the tile size does not change the answer
beyond the halo the caller keeps.

Input: (N, INPUT_CHANNELS, H, W) float32 at the model's pixel size, H and W multiples of
SIZE_MULTIPLE (see :func:`network_input`). Output: (N, K, H, W) logits of the K classes of the
training data, class 0 "no deformation".
"""
import numpy as np

from ..common.dependencies import require

DENSE_ARCHITECTURES = {
    "unet_small": "U-Net, 4 scales of 12-24-48-96 channels, batch-normalised (0.27 M parameters)",
    "unet_tiny": "U-Net, 4 scales of 4-8-16-32 channels, for tests (0.03 M parameters)",
}
WIDTHS = {"unet_small": (12, 24, 48, 96), "unet_tiny": (4, 8, 16, 32)}
SIZE_MULTIPLE = 2 ** 3  # three halvings between the four scales
INPUT_CHANNELS = 2  # velocity / VELOCITY_SCALE_MM_YR, coverage
VELOCITY_SCALE_MM_YR = 10.0  # velocities enter as v / 10: +-10 mm/yr maps to +-1
VELOCITY_CLIP_MM_YR = 100.0  # beyond this magnitude velocities are clipped (units mistakes, spikes)


def network_input(velocity, reference=None):
    """(2, H, W) float32 network input of an (H, W) velocity map in mm/yr at the model's pixel size.

    Channel 0: the velocity minus ``reference`` (mm/yr; None: the map's median), clipped to
    +-VELOCITY_CLIP_MM_YR and divided by VELOCITY_SCALE_MM_YR, 0 in holes. Channel 1: coverage,
    1 where the map has a value and 0 in holes (NaN), so holes are never read as stable or
    deforming ground. Detection passes the whole map's median, so every tile is centred alike.
    """
    velocity = np.asarray(velocity, dtype=np.float32)
    covered = np.isfinite(velocity)
    if reference is None:
        reference = float(np.median(velocity[covered])) if covered.any() else 0.0
    centred = np.clip(np.where(covered, velocity - reference, 0.0), -VELOCITY_CLIP_MM_YR, VELOCITY_CLIP_MM_YR)
    return np.stack([centred / VELOCITY_SCALE_MM_YR, covered]).astype(np.float32)


def build_dense_network(architecture, class_count):
    """A freshly initialised U-Net of ``architecture`` (a DENSE_ARCHITECTURES key) with ``class_count`` outputs."""
    require("torch")
    import torch
    from torch import nn

    def block(inputs, outputs):
        return nn.Sequential(
            nn.Conv2d(inputs, outputs, 3, padding=1, bias=False), nn.BatchNorm2d(outputs), nn.ReLU(inplace=True),
            nn.Conv2d(outputs, outputs, 3, padding=1, bias=False), nn.BatchNorm2d(outputs), nn.ReLU(inplace=True))

    class UNet(nn.Module):
        """Encoder of four scales (max-pool between them), decoder with skip connections."""

        def __init__(self, widths):
            super().__init__()
            self.down = nn.ModuleList()
            previous = INPUT_CHANNELS
            for width in widths:
                self.down.append(block(previous, width))
                previous = width
            self.pool = nn.MaxPool2d(2)
            self.upsample = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
            self.up = nn.ModuleList(block(wide + narrow, narrow) for wide, narrow in zip(widths[:0:-1], widths[-2::-1]))
            self.head = nn.Conv2d(widths[0], class_count, 1)

        def forward(self, x):
            skips = []
            for index, layer in enumerate(self.down):
                x = layer(x if index == 0 else self.pool(x))
                skips.append(x)
            for layer, skip in zip(self.up, skips[-2::-1]):
                x = layer(torch.cat([self.upsample(x), skip], dim=1))
            return self.head(x)

    return UNet(WIDTHS[architecture])
