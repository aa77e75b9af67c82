"""Deformation probability of a dense velocity map, tile by tile (sections II-A, III-C).

A dense velocity GeoTIFF (mm/yr, NaN = no data) is classified in sliding
windows of the model's input size on one lattice over the whole raster,
over-wrapped at every (mu, tau) look, and the window probabilities are
merged into a map on the input grid. Large rasters are streamed through
GDAL in tiles whose halos hold every window and filter tap their core
needs, so the tiled map equals the untiled one.
"""
import os
import time
from dataclasses import dataclass

import numpy as np
from osgeo import gdal

from ..common.errors import Cancelled, InputError
from ..common.raster_io import (
    OUTPUT_OPTIONS,
    PACKED_SCRATCH_OPTIONS,
    atomic_outputs,
    create_like,
    open_band,
    padded_window,
)
from ..common.value_checks import VELOCITY, check_band_values
from ..learning.examples import NEGATIVE_CLASS
from ..learning.gap_filling import FILL_REACH_PX, fill_gaps
from ..learning.networks import INPUT_SIZE
from ..learning.shared_classifier import shared_classifier
from ..learning.wrapping import DEFAULT_INTERVALS, DEFAULT_OFFSETS
from .probability_map import MERGE_RADIUS, Lattice, check_size, merged_map
from .window_probabilities import no_deformation, per_window_probabilities, shared_probabilities, valid_counts

DEFAULT_STRIDE = 32  # pixels: AlexNet's own stride; the paper's 28 = 224 / 8 needs evaluation="per_window"
EVALUATIONS = ("shared", "per_window")
KIND_SCALE = 250  # class probabilities are kept as bytes, 0-250, for the areas' class attribute


@dataclass(frozen=True)
class DetectionSettings:
    """How a map is classified.

    ``intervals``, ``offsets``: wrap intervals mu and offsets tau (mm/yr);
    ``stride``: pixels between windows; ``evaluation``: "shared" (fully
    convolutional, the stride a multiple of the network's) or "per_window"
    (each window alone, as the paper); ``tile_size``: output pixels per tile
    side; ``device``: a torch device name; ``batch_size``: windows per batch
    (per_window).
    """

    intervals: tuple = DEFAULT_INTERVALS
    offsets: tuple = DEFAULT_OFFSETS
    stride: int = DEFAULT_STRIDE
    evaluation: str = "shared"
    tile_size: int = 2048
    device: str = "cpu"
    batch_size: int = 64

    def validate(self, network_stride):
        if self.evaluation not in EVALUATIONS:
            raise InputError("EVALUATION", f"must be one of {', '.join(EVALUATIONS)}, got {self.evaluation!r}")
        if not 1 <= self.stride <= 224:
            raise InputError("STRIDE", f"must lie in [1, 224] pixels, got {self.stride}")
        if self.evaluation == "shared" and self.stride % network_stride:
            raise InputError("STRIDE", f"must be a multiple of the network's stride ({network_stride} px) for "
                                       f"shared evaluation, got {self.stride}; evaluate each window separately "
                                       "for other strides (about 20x slower)")
        if not 256 <= self.tile_size <= 16384:
            raise InputError("TILE_SIZE", f"must lie in [256, 16384] pixels, got {self.tile_size}")


def check_model(model):
    """InputError naming MODEL unless ``model`` classifies 224-pixel windows into no deformation and kinds."""
    model.require_family("windows", "sliding-window detection")
    if model.input_size != INPUT_SIZE:
        raise InputError("MODEL", f"{model.path} takes {model.input_size}-pixel inputs; the detector's "
                                  f"windows are {INPUT_SIZE} pixels")
    if len(model.classes) < 2 or model.classes[0] != NEGATIVE_CLASS:
        raise InputError("MODEL", f"{model.path} has classes {', '.join(model.classes)}; the detector needs "
                                  f"{NEGATIVE_CLASS!r} first and at least one kind of deformation")


class _Classifier:
    """Window probabilities of an image region by the chosen evaluation."""

    def __init__(self, model, settings):
        check_model(model)
        self.model, self.settings = model, settings
        self.classes = len(model.classes)
        self.shared = shared_classifier(model.network, model.metadata["architecture"])
        settings.validate(self.shared.stride)
        # pixels read beyond the windows: the shared form's context, and what filling a hole there looks at
        self.margin = (self.shared.margin if settings.evaluation == "shared" else 0) + FILL_REACH_PX

    def probabilities(self, image, origin, counts, is_cancelled):
        """Window probabilities of an image with holes: the network sees it filled (core.learning.gap_filling)."""
        settings = self.settings
        measured = valid_counts(image, self.model.input_size, origin, counts, settings.stride) > 0
        if not measured.any():
            return no_deformation(counts, self.classes)
        filled = fill_gaps(image)
        if settings.evaluation == "shared":
            return shared_probabilities(self.shared, self.classes, filled, origin, counts, settings.stride,
                                        settings.intervals, settings.offsets, settings.device, is_cancelled,
                                        measured)
        return per_window_probabilities(self.model.network, self.classes, filled, self.model.input_size, origin,
                                        counts, settings.stride, settings.intervals, settings.offsets,
                                        settings.device, settings.batch_size, is_cancelled, measured)


def _axis_plan(start, stop, lattice, margin):
    """For output pixels [start, stop): (merge pixels, first and last window, read span) along one axis."""
    pixels = np.arange(max(0, start - MERGE_RADIUS), min(lattice.length, stop + MERGE_RADIUS))
    first, last = int(lattice.nearest(pixels[0])), int(lattice.nearest(pixels[-1]))
    read = (max(0, first * lattice.stride - margin),
            min(lattice.padded_length, last * lattice.stride + lattice.window + margin))
    return pixels, (first, last), read


def _read_padded(band, lattices, read_rows, read_cols):
    """The raster's values over a read span, NaN beyond its edges (the lattice's padding)."""
    side = (read_rows[1] - read_rows[0], read_cols[1] - read_cols[0])
    return padded_window(band, read_rows[0], read_cols[0], side, (lattices[0].length, lattices[1].length))


def _tile_probabilities(classifier, band, lattices, core, is_cancelled):
    """(rows, cols, C) merged class probabilities over a tile's core = (row, col, rows, cols)."""
    row, col, rows, cols = core
    pixels_r, windows_r, read_r = _axis_plan(row, row + rows, lattices[0], classifier.margin)
    pixels_c, windows_c, read_c = _axis_plan(col, col + cols, lattices[1], classifier.margin)
    image = _read_padded(band, lattices, read_r, read_c)
    stride = classifier.settings.stride
    origin = (windows_r[0] * stride - read_r[0], windows_c[0] * stride - read_c[0])
    counts = (windows_r[1] - windows_r[0] + 1, windows_c[1] - windows_c[0] + 1)
    values = classifier.probabilities(image, origin, counts, is_cancelled)
    merged = merged_map(values, (windows_r[0], windows_c[0]), pixels_r, pixels_c, *lattices)
    core_view = merged[row - pixels_r[0] : row - pixels_r[0] + rows, col - pixels_c[0] : col - pixels_c[0] + cols]
    no_data = ~np.isfinite(image[row - read_r[0] : row - read_r[0] + rows, col - read_c[0] : col - read_c[0] + cols])
    core_view[no_data] = np.nan
    return core_view


def _tiles(height, width, tile_size):
    return [(row, col, min(tile_size, height - row), min(tile_size, width - col))
            for row in range(0, height, tile_size) for col in range(0, width, tile_size)]


def _write_kinds(dataset, probabilities, core):
    """Each deformation class's probability in the Byte band of that class, in steps of 1 / KIND_SCALE."""
    for kind in range(1, probabilities.shape[-1]):
        shares = np.nan_to_num(probabilities[..., kind]) * KIND_SCALE
        dataset.GetRasterBand(kind).WriteArray(np.round(shares).astype(np.uint8), core[1], core[0])


def detect_raster(velocity_path, model, output_path, kinds_path=None, settings=DetectionSettings(), band=1,
                  progress=None, is_cancelled=None):
    """Write the deformation probability map of a dense velocity GeoTIFF (mm/yr).

    ``model``: a core.learning.model_file.LoadedModel. ``output_path``: float32
    GeoTIFF on the input grid, P_final = 1 - P(no deformation) in 0-1, NaN
    where the input has no data. ``kinds_path`` (optional): a Byte GeoTIFF
    with one band per deformation class (the model's classes after the
    first), each the merged probability of that class times KIND_SCALE.
    Outputs appear only when complete. Returns a summary dict.
    """
    started = time.time()
    report = progress or (lambda fraction, message: None)
    if os.path.abspath(output_path) == os.path.abspath(velocity_path):
        raise InputError("OUTPUT_PROBABILITY", "must differ from INPUT, which is never overwritten")
    classifier = _Classifier(model, settings)
    dataset, source = open_band(velocity_path, band)
    height, width = dataset.RasterYSize, dataset.RasterXSize
    check_size(height, width, model.input_size)
    lattices = (Lattice(height, model.input_size, settings.stride), Lattice(width, model.input_size, settings.stride))
    report(0.0, "Checking the velocities")
    check_band_values(source, height, width, "INPUT", VELOCITY, "NODATA", is_cancelled)
    tiles = _tiles(height, width, settings.tile_size)
    with atomic_outputs(output_path, kinds_path) as (staged, _):
        output = create_like(staged[0], dataset, OUTPUT_OPTIONS)
        kinds = (create_like(staged[1], dataset, PACKED_SCRATCH_OPTIONS, nodata=None, bands=len(model.classes) - 1,
                             data_type=gdal.GDT_Byte) if kinds_path else None)
        try:
            for number, core in enumerate(tiles):
                if is_cancelled and is_cancelled():
                    raise Cancelled()
                report(number / len(tiles), f"Classifying tile {number + 1} of {len(tiles)}")
                probabilities = _tile_probabilities(classifier, source, lattices, core, is_cancelled)
                output.GetRasterBand(1).WriteArray((1.0 - probabilities[..., 0]).astype(np.float32),
                                                   core[1], core[0])
                if kinds is not None:
                    _write_kinds(kinds, probabilities, core)
        finally:
            del output, kinds  # closes the GeoTIFFs before they are moved in place or removed
    report(1.0, "Done")
    return {"width": width, "height": height, "tiles": len(tiles), "windows": lattices[0].count * lattices[1].count,
            "seconds": time.time() - started}
