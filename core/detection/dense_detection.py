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
of tiles of TILE_PX with a halo of HALO_PX around them (beyond the network's reach, and tiles
start on its pooling grid, so tiles join without seams and their size never changes the
answer; a strided network's tiles and halo are twice as wide), and the probabilities are
resampled back onto the map's own grid. Maps smaller than a tile are padded with holes, which the
coverage channel marks; only maps under MIN_SIDE_PX pixels a side are refused.
"""
import os
import time

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


class _Tiler:
    """Class probabilities of the model-grid raster, one tile and its halo at a time."""

    def __init__(self, model, band, shape, reference, pixel_m, device, measurements=None):
        """``reference``: the ReferenceSurface of ``band``; ``pixel_m``: the working pixel size (metres);
        ``measurements``: the map's MeasurementGrid (None: the map is its own measurement)."""
        import torch

        self.torch, self.band, self.shape = torch, band, shape
        self.network = inference_network(model.network).to(device)
        self.temperature = float(model.metadata.get("temperature", 1.0))
        self.reference, self.pixel_m, self.device = reference, pixel_m, device
        self.measurements = measurements
        stride = self.network.stride
        self.tile_px, self.halo_px, self.multiple = TILE_PX * stride, HALO_PX * stride, SIZE_MULTIPLE * stride

    def tiles(self):
        """[(row, col, rows, cols)] of the tiles covering the model grid."""
        height, width = self.shape
        return [(row, col, min(self.tile_px, height - row), min(self.tile_px, width - col))
                for row in range(0, height, self.tile_px) for col in range(0, width, self.tile_px)]

    def probabilities(self, row, col, rows, cols):
        """(C, rows, cols) class probabilities of the tile core at (row, col)."""
        halo = self.halo_px
        top, left = row - halo, col - halo
        side = tuple(-(-(length + 2 * halo) // self.multiple) * self.multiple for length in (rows, cols))
        image = padded_window(self.band, top, left, side, self.shape)
        reference = self.reference.window(top, left, *side)
        measured = None if self.measurements is None else self.measurements.window(top, left, side)
        batch = self.torch.from_numpy(network_input(image, reference, self.pixel_m, measured,
                                                    self.network.input_channels)[None])
        batch = batch.to(self.device, memory_format=self.torch.channels_last)
        with self.torch.inference_mode():
            logits = self.network(batch)[0].contiguous()  # a softmax across channels_last is 5x slower
            probabilities = self.torch.softmax(logits / self.temperature, 0).cpu().numpy()
        return probabilities[:, halo:halo + rows, halo:halo + cols]


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
    check_dense_model(model)
    if os.path.abspath(output_path) == os.path.abspath(velocity_path):
        raise InputError("OUTPUT_PROBABILITY", "must differ from INPUT, which is never overwritten")
    dataset, source = open_band(velocity_path, band)
    height, width = dataset.RasterYSize, dataset.RasterXSize
    if min(height, width) < MIN_SIDE_PX:
        raise InputError("INPUT", f"is {width} x {height} pixels; the detector needs at least {MIN_SIDE_PX} "
                                  "pixels a side")
    report(0.0, "Checking the velocities")
    check_band_values(source, height, width, "INPUT", VELOCITY, "NODATA", is_cancelled)
    measured = _measurements_dataset(measurements_path, velocity_path, model, dataset)
    pixel_m = working_pixel_m(model.metadata, float(np.sqrt(np.prod(pixel_size_m(dataset)))))
    shape = model_grid(dataset, pixel_m)
    classes = len(model.classes)
    with atomic_outputs(output_path, kinds_path) as (staged, scratch):
        single = _single_band(dataset, band, os.path.join(scratch, "velocity.tif"))
        on_own_grid = shape == (height, width)
        resampled = single if on_own_grid else warped(
            single, shape, velocity_method(height, shape[0]), os.path.join(scratch, "model_grid.tif"), "GTiff",
            SCRATCH_OPTIONS)
        grid_band = resampled.GetRasterBand(1)
        reference = ReferenceSurface(grid_band, shape, is_cancelled, _crop_px(model))
        measurements = None if measured is None else MeasurementGrid(
            _single_band(measured, 1, os.path.join(scratch, "measurements.tif")), shape, scratch, is_cancelled)
        probability = create_like(os.path.join(scratch, "probability.tif"), resampled, SCRATCH_OPTIONS)
        kinds = create_like(os.path.join(scratch, "kinds.tif"), resampled, PACKED_SCRATCH_OPTIONS, nodata=None,
                            bands=classes - 1, data_type=gdal.GDT_Byte) if kinds_path else None
        tiler = _Tiler(model, grid_band, shape, reference, pixel_m, device, measurements)
        tiles = tiler.tiles()
        classified = time.time()
        for number, (row, col, rows, cols) in enumerate(tiles):
            if is_cancelled is not None and is_cancelled():
                raise Cancelled()
            report(0.05 + 0.85 * number / len(tiles), f"Classifying tile {number + 1} of {len(tiles)}")
            values = tiler.probabilities(row, col, rows, cols)
            probability.GetRasterBand(1).WriteArray((1.0 - values[0]).astype(np.float32), col, row)
            for kind in range(1, classes if kinds is not None else 1):
                kinds.GetRasterBand(kind).WriteArray(np.round(values[kind] * KIND_SCALE).astype(np.uint8), col, row)
        classified = time.time() - classified
        report(0.9, "Back onto the map's grid")
        on_map = probability if on_own_grid else _warped_back(probability, dataset, "bilinear",
                                                              os.path.join(scratch, "on_map.tif"), SCRATCH_OPTIONS)
        _masked_copy(on_map, source, dataset, staged[0], is_cancelled)
        if kinds is not None:
            _warped_back(kinds, dataset, "nearest", staged[1], PACKED_SCRATCH_OPTIONS)  # closed when dropped
        probability = kinds = on_map = resampled = single = grid_band = measured = tiler = None
        if measurements is not None:
            measurements.close()
    report(1.0, "Done")
    return {"width": width, "height": height, "model_grid": shape, "working_pixel_m": pixel_m, "tiles": len(tiles),
            "reference_mm_yr": reference.median_mm_yr, "seconds": time.time() - started,
            "megapixels_per_second": width * height / 1e6 / max(classified, 1e-9)}


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
