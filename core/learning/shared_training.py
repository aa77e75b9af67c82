"""Training the classifier so that its shared (fully convolutional) form agrees with each window alone.

Detection classifies windows by the network's shared form
(core.learning.shared_classifier): a window's output then sees the neighbouring
pixels through the edge padding of the convolutions, where a window
classified alone sees zeros. A network trained on isolated patches only
reads those edges as it pleases, and the two forms disagree (on
bench/detection.py's scenes the bundled model's shared form put 1.5 to 1.8
times as many windows at probability >= 0.5).

This module adds a consistency term to training: crops of interpolated
velocity maps (synthetic scenes from core.synthesis.synthetic_scene, or the user's own
maps: no labels are needed; holes filled as detection fills them) are
classified both ways at windows on the network's stride, and the symmetric
Kullback-Leibler divergence between the two class distributions joins the
cross entropy of the labelled patches.
The labelled loss keeps the classifier right; the consistency loss makes
the window edges carry no more than the window itself.
"""
import os

import numpy as np
from osgeo import osr

from ..common.errors import InputError
from ..common.grid import GridSpec
from ..common.raster_io import open_band, read_window
from ..interpolation.raster_interpolation import interpolate_raster
from ..synthesis.deformation_sources import WIDE_POINT_SOURCES
from ..synthesis.line_of_sight import ASCENDING, DESCENDING
from ..synthesis.synthetic_scene import make_scene, write_scene_outputs
from .gap_filling import fill_gaps
from .networks import INPUT_SIZE
from .shared_classifier import NETWORK_STRIDES, RECEPTIVE_MARGINS
from .training import Trainer, augmented_input

SCENE_SIZE_PX = 1536  # pixels per side of each context scene (10 m pixels, 15 km)
SCENE_POINT_SOURCES, SCENE_TUNNELS = 4, 1  # sources per context scene, as in bench/detection.py
CROP_WINDOWS = 4  # lattice windows per crop side whose whole context lies inside the crop
PAIRS_PER_CROP = 8  # windows of a crop classified both ways in one training step
CONSISTENCY_WEIGHT = 5.0  # weight of the symmetric KL term beside the cross entropy
VALIDATION_CROPS = 16  # fixed crops whose consistency joins the validation loss
MIN_DATA_SHARE = 0.5  # share of a crop's pixels that must hold data
CROP_ATTEMPTS = 100  # random crops tried before a raster set is declared too empty
# Those whose shared form differs from windows alone (zero padding) and has a 6 x 6 head
ARCHITECTURES = ("alexnet", "alexnet_compact", "alexnet_bn")


def ensure_context_scenes(folder, count, seed, size=SCENE_SIZE_PX, progress=None):
    """Paths of ``count`` interpolated synthetic scenes (float32 mm/yr GeoTIFFs) in ``folder``.

    Scene k: core.synthesis.synthetic_scene.make_scene with seed ``seed + k``, wide
    point sources and a tunnel, ascending for even k and descending for odd,
    interpolated by matrix completion as insardefo:interpolate does (holes
    beyond its maximum distance). Scenes already there are reused.
    """
    report = progress or (lambda message: None)
    reference = osr.SpatialReference()
    reference.ImportFromEPSG(27700)
    paths = []
    for index in range(count):
        dense = os.path.join(folder, f"scene{seed + index}.tif")
        if not os.path.exists(dense):
            os.makedirs(folder, exist_ok=True)
            report(f"Context scene {index + 1} of {count}")
            geometry = DESCENDING if index % 2 else ASCENDING
            scene = make_scene(GridSpec(400000.0, 400000.0, 10.0, size, size), seed=seed + index,
                               point_sources=SCENE_POINT_SOURCES, tunnels=SCENE_TUNNELS, geometry=geometry,
                               ranges=WIDE_POINT_SOURCES)
            sparse = os.path.join(folder, f"sparse{seed + index}.tif")
            write_scene_outputs(scene, {"sparse": sparse}, reference.ExportToWkt())
            interpolate_raster(sparse, dense)
            os.remove(sparse)
        paths.append(dense)
    return paths


class ContextCrops:
    """Random square crops of velocity rasters, with their holes filled as detection fills them.

    ``paths``: GDAL rasters (mm/yr, band 1, nodata/NaN = no data): synthetic
    scenes or the user's own interpolated maps; crops are read one at a
    time, so national maps do. A crop is ``side = window + 2 * margin +
    (CROP_WINDOWS - 1) * stride`` pixels; the windows starting at ``margin +
    k * stride`` (k < CROP_WINDOWS) along each axis see ``margin`` pixels of
    real context. Crops with less than MIN_DATA_SHARE of data are drawn again.
    """

    def __init__(self, paths, architecture):
        self.stride = NETWORK_STRIDES[architecture]
        self.margin = RECEPTIVE_MARGINS[architecture]
        self.side = INPUT_SIZE + 2 * self.margin + (CROP_WINDOWS - 1) * self.stride
        self.paths = list(paths)
        self.opened = [_opened(path, self.side) for path in self.paths]  # (dataset, band): a band needs its dataset

    def draw(self, rng):
        """(side, side) float32 crop (mm/yr, holes filled) at a random place of a random raster."""
        for _ in range(CROP_ATTEMPTS):
            _, band = self.opened[int(rng.integers(len(self.opened)))]
            top = int(rng.integers(band.YSize - self.side + 1))
            left = int(rng.integers(band.XSize - self.side + 1))
            crop = read_window(band, (top, left, self.side, self.side))
            if np.isfinite(crop).mean() >= MIN_DATA_SHARE:
                return fill_gaps(crop)
        raise InputError("CONTEXT_RASTERS", f"{CROP_ATTEMPTS} random {self.side}-pixel crops all had less than "
                                            f"{MIN_DATA_SHARE:.0%} data; give rasters with more measured ground")

    def windows(self, rng, count):
        """(count, 2) distinct (row, col) lattice indices, each below CROP_WINDOWS."""
        chosen = rng.choice(CROP_WINDOWS * CROP_WINDOWS, size=count, replace=False)
        return np.stack([chosen // CROP_WINDOWS, chosen % CROP_WINDOWS], axis=1)


def _opened(path, side):
    """(dataset, band 1) of ``path``; InputError naming CONTEXT_RASTERS unless it opens and holds a crop."""
    dataset, band = open_band(path, 1, "CONTEXT_RASTERS")
    if min(band.XSize, band.YSize) < side:
        raise InputError("CONTEXT_RASTERS", f"{path} is {band.XSize} x {band.YSize} pixels; "
                                            f"every raster must be at least {side} pixels per side")
    return dataset, band


def paired_logits(network, crop, windows, margin, stride):
    """(logits of each window alone, logits of the same windows in the shared form), each (K, C).

    ``crop``: (1, 3, S, S) network input tensor; ``windows``: (K, 2) lattice
    indices; window (i, j) starts at pixel (margin + i * stride, margin +
    j * stride). The shared logits come from the crop's feature map, as
    core.learning.shared_classifier computes them, but differentiably.
    """
    import torch

    starts = [(margin + int(i) * stride, margin + int(j) * stride) for i, j in windows]
    alone = torch.cat([crop[:, :, top : top + INPUT_SIZE, left : left + INPUT_SIZE] for top, left in starts])
    alone_logits = network(alone)
    features = network.features(crop)
    block = features.shape[-1] - (crop.shape[-1] - INPUT_SIZE) // stride
    blocks = torch.cat([features[:, :, top // stride : top // stride + block, left // stride : left // stride + block]
                        for top, left in starts])
    shared_logits = network.classifier(torch.flatten(network.avgpool(blocks), 1))
    return alone_logits, shared_logits


def symmetric_kl(first_logits, second_logits):
    """Mean symmetric Kullback-Leibler divergence between two (K, C) logit batches' class distributions."""
    import torch

    first, second = torch.log_softmax(first_logits, dim=1), torch.log_softmax(second_logits, dim=1)
    forward = torch.sum(first.exp() * (first - second), dim=1)
    backward = torch.sum(second.exp() * (second - first), dim=1)
    return torch.mean(forward + backward) / 2.0


class SharedFormTrainer(Trainer):
    """core.learning.training.Trainer whose every step also makes the shared form agree with windows alone."""

    def __init__(self, examples, config, model_path, context_paths, progress=None, is_cancelled=None, log=None,
                 weight=CONSISTENCY_WEIGHT):
        if examples.patch_size != INPUT_SIZE:
            raise InputError("CONTEXT_RASTERS", f"apply to datasets of {INPUT_SIZE}-pixel patches, the detector's "
                                                f"windows; this one has {examples.patch_size}-pixel patches")
        super().__init__(examples, config, model_path, progress, is_cancelled, log)  # validates the architecture
        if RECEPTIVE_MARGINS.get(config.architecture) == 0:
            raise InputError("CONTEXT_RASTERS", f"are not needed for {config.architecture}: its shared form "
                                                "already equals each window alone; leave them empty")
        if config.architecture not in ARCHITECTURES:
            raise InputError("CONTEXT_RASTERS", "apply to the padded AlexNet architectures; SqueezeNet's shared "
                                                "form averages its class map over the window instead")
        self.crops = ContextCrops(context_paths, config.architecture)
        self.weight = weight
        self.rng = np.random.default_rng([config.seed, 7])
        self.consistency_history = []
        validation_rng = np.random.default_rng([config.seed, 8])
        self.validation_pairs = [(augmented_input(self.crops.draw(validation_rng), validation_rng, config.intervals,
                                                  config.offsets), self.crops.windows(validation_rng, PAIRS_PER_CROP))
                                 for _ in range(VALIDATION_CROPS)]

    def extra_loss(self):
        """``weight`` x the symmetric KL of a random crop's windows, alone against the shared form."""
        crop = augmented_input(self.crops.draw(self.rng), self.rng, self.config.intervals, self.config.offsets)
        self.network.eval()  # the same head for both forms: no dropout masks that differ between them
        consistency = self._consistency(crop, self.crops.windows(self.rng, PAIRS_PER_CROP))
        self.consistency_history.append(consistency.item())
        return self.weight * consistency

    def _consistency(self, crop, windows):
        """Symmetric KL between a (3, S, S) crop's windows alone and in the shared form (a tensor)."""
        alone, shared = paired_logits(self.network, self.torch.from_numpy(crop[None]).to(self.device), windows,
                                      self.crops.margin, self.crops.stride)
        return symmetric_kl(alone, shared)

    def _validate(self):
        """(cross entropy + ``weight`` x mean KL over the fixed validation crops, metrics)."""
        loss, metrics = super()._validate()
        with self.torch.no_grad():
            kl = float(np.mean([self._consistency(crop, windows).item() for crop, windows in self.validation_pairs]))
        self.log(f"Validation: cross entropy {loss:.4f}, shared-form symmetric KL {kl:.4f}")
        return loss + self.weight * kl, {**metrics, "shared_form_symmetric_kl": kl}

    def metadata(self, status, metrics=None):
        """The model file's metadata, with how the shared form was trained to agree."""
        recent = self.consistency_history[-100:]
        return {**super().metadata(status, metrics),
                "shared_form_training": {"context_rasters": [os.path.basename(path) for path in self.crops.paths],
                                         "crop_px": self.crops.side, "pairs_per_crop": PAIRS_PER_CROP,
                                         "weight": self.weight,
                                         "steps": len(self.consistency_history),
                                         "recent_symmetric_kl": float(np.mean(recent)) if recent else None}}
