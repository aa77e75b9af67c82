"""Deformation probability of a velocity map by the dense detector (core.learning.dense_network).

The network sees a map at its working pixel size: the map's own pixel size in metres (at its
latitude, for a geographic CRS) held between the model's finest and coarsest pixel sizes (20
and 100 m for the bundled model). Finer maps are averaged down to the finest size and coarser
ones resampled bilinearly up to the coarsest, so a 5 m and a 20 m map of the same ground reach
the network alike, and a 50 m map is never blown up to pixels its data cannot fill; the network
is told the working pixel size and was trained across it. Each pixel enters the network about
the local median velocity around it (core.detection.reference_surface), as training crops do
about their own. A model with measurement channels also reads what the map was interpolated
from (core.detection.measurement_grid): the mean measurement and measured share of each of its
pixels, so a source the interpolation smoothed away still shows. The network labels every pixel
of tiles of TILE_PX with a halo of HALO_PX around them inside the map (beyond the network's
reach, and tiles start on its pooling grid, so tiles join without seams and their size never
changes the answer; a strided network's tiles and halo are twice as wide), and the probabilities
are resampled back onto the map's own grid. Maps smaller than a tile are one tile, padded with
holes to the network's size multiple (the coverage channel marks them); only maps under
MIN_SIDE_PX pixels a side are refused.
"""
import json
import os
import time
from dataclasses import dataclass

import numpy as np
from osgeo import gdal

from ..common.errors import Cancelled, InputError
from ..common.ground_units import pixel_size_m
from ..common.raster_io import (
    OUTPUT_OPTIONS,
    PACKED_SCRATCH_OPTIONS,
    SCRATCH_OPTIONS,
    atomic_outputs,
    checked,
    create_like,
    open_band,
    padded_window,
    read_window,
    row_blocks,
)
from ..common.resampling import velocity_method, warped
from ..common.value_checks import VELOCITY, check_band_values
from ..learning.dense_network import FIRST_CHANNELS, SIZE_MULTIPLE, inference_network, network_input, working_pixel_m
from .measurement_grid import MeasurementGrid
from .raster_detection import KIND_SCALE
from .reference_surface import WINDOW_PX, ReferenceSurface

TILE_PX = 1024  # model pixels per tile side (a multiple of SIZE_MULTIPLE), times the network's stride: 0.6 GB
HALO_PX = 64  # model pixels read around a tile, times the network's stride: beyond the U-Net's reach
MIN_SIDE_PX = 16  # maps narrower than this are refused
GRID_FILE = "model_grid.json"  # what ModelGridInputs.save records


def check_dense_model(model):
    """InputError naming MODEL unless ``model`` is a dense detector with "no deformation" first."""
    model.require_family("dense", "dense detection")
    if len(model.classes) < 2 or model.classes[0] != "no_deformation":
        raise InputError("MODEL", f"{model.path} has classes {', '.join(model.classes)}; the detector needs "
                                  "'no_deformation' first and at least one kind of deformation")


def model_grid(dataset, pixel_m):
    """(rows, cols) of the dataset's extent at ``pixel_m`` metre pixels."""
    width_m, height_m = pixel_size_m(dataset)
    return (max(1, int(round(dataset.RasterYSize * height_m / pixel_m))),
            max(1, int(round(dataset.RasterXSize * width_m / pixel_m))))


def _single_band(dataset, band_number, path):
    """A float32 GeoTIFF of one band with NaN for no data (what the warper reads)."""
    single = checked(gdal.Translate(path, dataset, options=gdal.TranslateOptions(
        bandList=[band_number], outputType=gdal.GDT_Float32, creationOptions=SCRATCH_OPTIONS)),
        f"copy band {band_number}")
    band = single.GetRasterBand(1)
    nodata = band.GetNoDataValue()
    if nodata is not None and not np.isnan(nodata):
        for row, rows in row_blocks(single.RasterYSize):
            band.WriteArray(read_window(band, (row, 0, rows, single.RasterXSize)).astype(np.float32), 0, row)
    band.SetNoDataValue(float("nan"))
    return single


class Tiler:
    """Class probabilities of the model-grid raster, one tile and its halo at a time."""

    def __init__(self, network, temperature, band, shape, reference, pixel_m, device, measurements=None):
        """``network``: an inference network (core.learning.dense_network.inference_network) on ``device``;
        ``temperature``: the model's calibration temperature; ``reference``: the ReferenceSurface of
        ``band``; ``pixel_m``: the working pixel size (metres); ``measurements``: the map's
        MeasurementGrid (None: the map is its own measurement)."""
        import torch

        self.torch, self.network, self.temperature = torch, network, temperature
        self.band, self.shape, self.reference, self.pixel_m, self.device = band, shape, reference, pixel_m, device
        self.measurements = measurements
        self.halo_px, self.multiple = HALO_PX * network.stride, SIZE_MULTIPLE * network.stride

    def tiles(self):
        """[(row, col, rows, cols)] of the tiles covering the model grid."""
        return model_tiles(self.shape, self.network.stride)

    def probabilities(self, row, col, rows, cols, margin=0):
        """(C, rows + 2 margin, cols + 2 margin) class probabilities of the tile core at (row, col) and
        ``margin`` pixels of its halo around it (NaN beyond the model grid; ``margin`` < HALO_PX).

        The halo is read only where the model grid has pixels: at the grid's edges the network
        sees its own zero padding, as it did at the edges of its training crops, and no work is
        spent on halo beyond the map. A tile whose core and halo hold no velocity (sea, empty
        land) costs only its reading: NaN, where the output has no data anyway, and no map pixel
        with data is within its reach.
        """
        height, width = self.shape
        top, left = max(row - self.halo_px, 0), max(col - self.halo_px, 0)
        bottom, right = min(row + rows + self.halo_px, height), min(col + cols + self.halo_px, width)
        side = tuple(-(-length // self.multiple) * self.multiple for length in (bottom - top, right - left))
        kept = np.full((self.network.head.out_channels, rows + 2 * margin, cols + 2 * margin), np.nan,
                       dtype=np.float32)
        image = padded_window(self.band, top, left, side, self.shape)
        if not np.isfinite(image).any():
            return kept
        reference = self.reference.window(top, left, *side)
        measured = None if self.measurements is None else self.measurements.window(top, left, side)
        batch = self.torch.from_numpy(network_input(image, reference, self.pixel_m, measured,
                                                    self.network.input_channels)[None])
        batch = batch.to(self.device, memory_format=self.torch.channels_last)
        with self.torch.inference_mode():
            logits = self.network(batch)[0].contiguous()  # a softmax across channels_last is 5x slower
            probabilities = self.torch.softmax(logits / self.temperature, 0).cpu().numpy()
        first_row, first_col = max(row - margin, 0), max(col - margin, 0)
        last_row, last_col = min(row + rows + margin, height), min(col + cols + margin, width)
        kept[:, first_row - row + margin:last_row - row + margin, first_col - col + margin:last_col - col + margin] = \
            probabilities[:, first_row - top:last_row - top, first_col - left:last_col - left]
        return kept


def model_tiles(shape, stride):
    """[(row, col, rows, cols)] of the tiles of TILE_PX times ``stride`` covering a model grid of ``shape``."""
    height, width = shape
    tile_px = TILE_PX * stride
    return [(row, col, min(tile_px, height - row), min(tile_px, width - col))
            for row in range(0, height, tile_px) for col in range(0, width, tile_px)]


def model_tiler(model, grid, device):
    """The Tiler of ``model`` (a dense LoadedModel) over the opened ModelGridInputs ``grid``."""
    network = inference_network(model.network).to(device)
    return Tiler(network, float(model.metadata.get("temperature", 1.0)), grid.band, grid.shape, grid.reference,
                 grid.pixel_m, device, grid.measurements)


@dataclass
class ModelGridInputs:
    """What the network reads, on the model grid: files in a folder, opened where they are read.

    ``velocity_path``: the velocity (mm/yr, NaN for no data) on the model grid of ``shape`` (rows,
    cols) at ``pixel_m`` metre pixels; ``measurement_paths``: (mean measurement, measured share)
    rasters on that grid, or None for a map that is its own measurement; ``reference``: the
    ReferenceSurface of the velocity; ``on_own_grid``: the model grid is the map's own.
    """

    velocity_path: str
    measurement_paths: tuple
    shape: tuple
    pixel_m: float
    on_own_grid: bool
    reference: ReferenceSurface = None

    def open(self):
        """A view of these inputs with the GDAL datasets open (``band``, ``measurements``): for one process."""
        return _OpenedGrid(self)

    def save(self, folder):
        """Record these inputs, whose rasters lie in ``folder``, in its GRID_FILE (file names, the grid)."""
        names = [os.path.basename(self.velocity_path)] + [os.path.basename(path)
                                                          for path in self.measurement_paths or ()]
        with open(os.path.join(folder, GRID_FILE), "w", encoding="utf-8") as stream:
            json.dump({"files": names, "shape": list(self.shape), "pixel_m": self.pixel_m,
                       "on_own_grid": self.on_own_grid}, stream)

    @classmethod
    def load(cls, folder, model, is_cancelled=None):
        """The inputs ``save`` recorded in ``folder`` (moved there or not), the reference surface recomputed."""
        with open(os.path.join(folder, GRID_FILE), encoding="utf-8") as stream:
            recorded = json.load(stream)
        paths = [os.path.join(folder, name) for name in recorded["files"]]
        shape = tuple(recorded["shape"])
        velocity = checked(gdal.Open(paths[0]), f"open {paths[0]}")
        reference = ReferenceSurface(velocity.GetRasterBand(1), shape, is_cancelled, _crop_px(model))
        return cls(paths[0], tuple(paths[1:]) or None, shape, recorded["pixel_m"], recorded["on_own_grid"],
                   reference)


class _OpenedGrid:
    """ModelGridInputs with its rasters open: ``band`` (the velocity) and ``measurements`` (a MeasurementGrid)."""

    def __init__(self, inputs):
        self.shape, self.pixel_m, self.reference = inputs.shape, inputs.pixel_m, inputs.reference
        self.dataset = checked(gdal.Open(inputs.velocity_path), f"open {inputs.velocity_path}")
        self.band = self.dataset.GetRasterBand(1)
        self.measurements = (None if inputs.measurement_paths is None
                             else MeasurementGrid.opened(inputs.measurement_paths, inputs.shape))


def checked_inputs(velocity_path, model, output_path, band, measurements_path, is_cancelled):
    """(dataset, band, measurements dataset or None) of valid dense detection inputs; InputError otherwise."""
    check_dense_model(model)
    if os.path.abspath(output_path) == os.path.abspath(velocity_path):
        raise InputError("OUTPUT_PROBABILITY", "must differ from INPUT, which is never overwritten")
    dataset, source = open_band(velocity_path, band)
    height, width = dataset.RasterYSize, dataset.RasterXSize
    if min(height, width) < MIN_SIDE_PX:
        raise InputError("INPUT", f"is {width} x {height} pixels; the detector needs at least {MIN_SIDE_PX} "
                                  "pixels a side")
    check_band_values(source, height, width, "INPUT", VELOCITY, "NODATA", is_cancelled)
    return dataset, source, _measurements_dataset(measurements_path, velocity_path, model, dataset)


def prepare_model_grid(dataset, band, model, measured, folder, is_cancelled=None):
    """ModelGridInputs of ``dataset``'s band ``band`` for ``model``, its rasters written into ``folder``.

    ``measured``: the measurements dataset (see ``checked_inputs``) or None.
    """
    height, width = dataset.RasterYSize, dataset.RasterXSize
    pixel_m = working_pixel_m(model.metadata, float(np.sqrt(np.prod(pixel_size_m(dataset)))))
    shape = model_grid(dataset, pixel_m)
    single = _single_band(dataset, band, os.path.join(folder, "velocity.tif"))
    on_own_grid = shape == (height, width)
    resampled = single if on_own_grid else warped(
        single, shape, velocity_method(height, shape[0]), os.path.join(folder, "model_grid.tif"), "GTiff",
        SCRATCH_OPTIONS)
    reference = ReferenceSurface(resampled.GetRasterBand(1), shape, is_cancelled, _crop_px(model))
    measurement_paths = None
    if measured is not None:
        grid = MeasurementGrid(_single_band(measured, 1, os.path.join(folder, "measurements.tif")), shape, folder,
                               is_cancelled)
        measurement_paths = grid.paths
        grid.close()
    velocity_path = resampled.GetDescription()
    single = resampled = None
    return ModelGridInputs(velocity_path, measurement_paths, shape, pixel_m, on_own_grid, reference)


def probability_rasters(template, folder, classes, with_kinds):
    """(probability, kinds or None) model-grid rasters in ``folder`` on ``template``'s grid."""
    probability = create_like(os.path.join(folder, "probability.tif"), template, SCRATCH_OPTIONS)
    kinds = create_like(os.path.join(folder, "kinds.tif"), template, PACKED_SCRATCH_OPTIONS, nodata=None,
                        bands=classes - 1, data_type=gdal.GDT_Byte) if with_kinds else None
    return probability, kinds


def output_rasters(template, dataset, staged, scratch, classes, with_kinds, on_own_grid):
    """(probability, kinds or None) rasters the tiles are written into.

    On the model grid ``template`` in ``scratch`` (see probability_rasters), for write_on_map to
    resample onto the map's grid; or, when the model grid is the map's own, the ``staged``
    (probability path, kinds path or None) outputs themselves on ``dataset``'s grid.
    """
    if not on_own_grid:
        return probability_rasters(template, scratch, classes, with_kinds)
    probability = create_like(staged[0], dataset, OUTPUT_OPTIONS)
    kinds = create_like(staged[1], dataset, PACKED_SCRATCH_OPTIONS, nodata=None, bands=classes - 1,
                        data_type=gdal.GDT_Byte) if with_kinds else None
    return probability, kinds


def tile_outputs(values, with_kinds):
    """(P = 1 - P(no deformation) as (rows, cols) float32, the kinds' probabilities times KIND_SCALE as
    (C - 1, rows, cols) uint8, 0 where NaN, or None) of a tile's (C, rows, cols) class probabilities."""
    kinds = np.round(np.nan_to_num(values[1:]) * KIND_SCALE).astype(np.uint8) if with_kinds else None
    return (1.0 - values[0]).astype(np.float32), kinds


def write_on_map(probability, kinds, dataset, source, staged, scratch, is_cancelled=None):
    """The outputs on the map's grid from the model-grid ``probability`` and ``kinds`` (or None) rasters.

    ``staged``: (probability path, kinds path or None); the probability is NaN where ``source``
    (the input band) has no data.
    """
    on_map = _warped_back(probability, dataset, "bilinear", os.path.join(scratch, "on_map.tif"), SCRATCH_OPTIONS)
    _masked_copy(on_map, source, dataset, staged[0], is_cancelled)
    if kinds is not None:
        _warped_back(kinds, dataset, "nearest", staged[1], PACKED_SCRATCH_OPTIONS)  # closed when dropped


def detect_dense_raster(velocity_path, model, output_path, kinds_path=None, band=1, device="cpu",
                        progress=None, is_cancelled=None, measurements_path=None):
    """Write the deformation probability map of a dense velocity GeoTIFF (mm/yr) by a dense model.

    ``model``: a core.learning.model_file.LoadedModel of the dense family. ``measurements_path``:
    the raster (band 1, mm/yr, no data where unmeasured) the map was interpolated from, on the
    same grid; None (or the velocity itself) for a map that is its own measurement, as a dense
    product is. Models reading only the first three channels ignore it. ``output_path``: float32
    GeoTIFF on the input grid, P = 1 - P(no deformation) in 0-1, NaN where the input has no data.
    ``kinds_path`` (optional): a Byte GeoTIFF with one band per deformation class, its
    probability times KIND_SCALE. Outputs appear only when complete. Returns a summary dict.
    """
    started = time.time()
    report = progress or (lambda fraction, message: None)
    report(0.0, "Checking the velocities")
    dataset, source, measured = checked_inputs(velocity_path, model, output_path, band, measurements_path,
                                               is_cancelled)
    height, width = dataset.RasterYSize, dataset.RasterXSize
    with atomic_outputs(output_path, kinds_path) as (staged, scratch):
        inputs = prepare_model_grid(dataset, band, model, measured, scratch, is_cancelled)
        grid = inputs.open()
        probability, kinds = output_rasters(grid.dataset, dataset, staged, scratch, len(model.classes),
                                            kinds_path is not None, inputs.on_own_grid)
        tiler = model_tiler(model, grid, device)
        tiles = tiler.tiles()
        classified = time.time()
        for number, (row, col, rows, cols) in enumerate(tiles):
            if is_cancelled is not None and is_cancelled():
                raise Cancelled()
            report(0.05 + 0.85 * number / len(tiles), f"Classifying tile {number + 1} of {len(tiles)}")
            values, kind_values = tile_outputs(tiler.probabilities(row, col, rows, cols), kinds is not None)
            if inputs.on_own_grid:  # the staged output itself: NaN where the input has no data
                values[~np.isfinite(read_window(grid.band, (row, col, rows, cols)))] = np.nan
            probability.GetRasterBand(1).WriteArray(values, col, row)
            for kind, layer in enumerate(kind_values if kind_values is not None else ()):
                kinds.GetRasterBand(kind + 1).WriteArray(layer, col, row)
        classified = time.time() - classified
        if not inputs.on_own_grid:
            report(0.9, "Back onto the map's grid")
            write_on_map(probability, kinds, dataset, source, staged, scratch, is_cancelled)
        probability = kinds = grid = tiler = measured = None
    report(1.0, "Done")
    return {"width": width, "height": height, "model_grid": inputs.shape, "working_pixel_m": inputs.pixel_m,
            "tiles": len(tiles), "reference_mm_yr": inputs.reference.median_mm_yr,
            "seconds": time.time() - started, "megapixels_per_second": width * height / 1e6 / max(classified, 1e-9)}


def _crop_px(model):
    """The side (model pixels) of the crops ``model`` was trained on, about whose median they were centred."""
    return int(model.metadata.get("training", {}).get("crop_px", WINDOW_PX))


def _measurements_dataset(measurements_path, velocity_path, model, dataset):
    """The measurements raster opened when the model reads it and it is not the map itself, else None.

    InputError naming MEASUREMENTS when it cannot be read or is not on the velocity map's grid.
    """
    if (measurements_path is None or model.network.input_channels <= FIRST_CHANNELS
            or os.path.abspath(measurements_path) == os.path.abspath(velocity_path)):
        return None
    measured, _ = open_band(measurements_path, 1, "MEASUREMENTS")
    if (measured.RasterXSize, measured.RasterYSize) != (dataset.RasterXSize, dataset.RasterYSize):
        raise InputError("MEASUREMENTS", f"is {measured.RasterXSize} x {measured.RasterYSize} pixels; it must be "
                                         f"on the velocity map's grid of {dataset.RasterXSize} x "
                                         f"{dataset.RasterYSize}")
    return measured


def _warped_back(model_raster, dataset, method, path, options):
    """``model_raster`` resampled onto ``dataset``'s grid (and georeferencing) into the GeoTIFF ``path``."""
    model_raster.FlushCache()
    target = warped(model_raster, (dataset.RasterYSize, dataset.RasterXSize), method, path, "GTiff", options)
    target.SetGeoTransform(dataset.GetGeoTransform())
    target.SetProjection(dataset.GetProjection())
    return target


def _masked_copy(probability, source_band, dataset, path, is_cancelled):
    """The compressed output at ``path``: ``probability`` on ``dataset``'s grid, NaN where the input has no data."""
    probability.FlushCache()
    output = create_like(path, dataset, OUTPUT_OPTIONS)
    values_band = probability.GetRasterBand(1)
    for row, rows in row_blocks(dataset.RasterYSize):
        if is_cancelled is not None and is_cancelled():
            raise Cancelled()
        values = values_band.ReadAsArray(0, row, dataset.RasterXSize, rows)
        values[~np.isfinite(read_window(source_band, (row, 0, rows, dataset.RasterXSize)))] = np.nan
        output.GetRasterBand(1).WriteArray(values, 0, row)
