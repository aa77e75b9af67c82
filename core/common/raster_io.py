"""GDAL raster reading and writing shared by the algorithms."""
import os
import shutil
from contextlib import contextmanager

import numpy as np
from osgeo import gdal

from .errors import Cancelled, InputError
from .staging import make_staging_folder
from .workers import thread_budget

BLOCK_ROWS = 512  # rows per block when streaming a whole raster
# The fastest DEFLATE level: on a 1536 x 1536 probability map a third of the default level's time
# for a file 4 % larger (bench/README.md, "Detection overheads")
OUTPUT_OPTIONS = ["TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256", "COMPRESS=DEFLATE",
                  "PREDICTOR=3", "ZLEVEL=1", "BIGTIFF=IF_SAFER"]
SCRATCH_OPTIONS = ["TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256", "BIGTIFF=IF_SAFER", "SPARSE_OK=TRUE"]
# Scratch rasters that are mostly zeros or nodata (masks, sparse measurements, class shares): a
# national map's would otherwise take tens of GB
PACKED_SCRATCH_OPTIONS = SCRATCH_OPTIONS + ["COMPRESS=DEFLATE", "ZLEVEL=1"]


def checked(result, action):
    """``result`` of a GDAL call, or RuntimeError with GDAL's message if it is None.

    GDAL's exception mode is process-wide and QGIS and other plugins rely on
    its default, so we test results instead of switching it on.
    """
    if result is None:
        raise RuntimeError(f"GDAL could not {action}: {gdal.GetLastErrorMsg() or 'unknown error'}")
    return result


def open_band(path, band_number, parameter="INPUT"):
    """Open ``path`` read-only and return (dataset, band), or raise InputError."""
    try:
        dataset = checked(gdal.Open(path, gdal.GA_ReadOnly), f"open {path}")
    except RuntimeError as error:
        raise InputError(parameter, f"cannot be read as a raster ({error})") from None
    if not 1 <= band_number <= dataset.RasterCount:
        raise InputError("BAND", f"must lie in 1..{dataset.RasterCount}, got {band_number}")
    return dataset, dataset.GetRasterBand(band_number)


def read_window(band, window):
    """Float64 array of ``window`` = (row, col, rows, cols), nodata cells as NaN."""
    row, col, rows, cols = window
    values = band.ReadAsArray(col, row, cols, rows).astype(np.float64)
    nodata = band.GetNoDataValue()
    if nodata is not None and not np.isnan(nodata):
        values[values == nodata] = np.nan
    return values


def padded_window(band, top, left, side, shape, fill=np.nan):
    """(side[0], side[1]) float32 values of ``band`` (a raster of ``shape``) from (top, left), ``fill`` outside it."""
    image = np.full(side, fill, dtype=np.float32)
    inside = (max(top, 0), max(left, 0), min(top + side[0], shape[0]), min(left + side[1], shape[1]))
    if inside[2] > inside[0] and inside[3] > inside[1]:
        image[inside[0] - top:inside[2] - top, inside[1] - left:inside[3] - left] = read_window(
            band, (inside[0], inside[1], inside[2] - inside[0], inside[3] - inside[1]))
    return image


def window_geotransform(geotransform, row, col):
    """The geotransform of a window whose first pixel is (row, col) of a grid with ``geotransform``."""
    x0, dx, rx, y0, ry, dy = geotransform
    return (x0 + col * dx + row * rx, dx, rx, y0 + col * ry + row * dy, ry, dy)


def row_blocks(height, block_rows=BLOCK_ROWS):
    """Windows' (row, rows) pairs covering ``height`` rows in blocks."""
    return [(row, min(block_rows, height - row)) for row in range(0, height, block_rows)]


def count_finite(band, height, width, is_cancelled=None, parameter="INPUT", inspect=None):
    """Number of finite cells of a band, streamed in row blocks.

    Raises InputError naming ``parameter`` when a cell is infinite or no
    cell is valid, and core.common.errors.Cancelled when ``is_cancelled()`` turns true.
    ``inspect(block)``, when given, sees every block (NaN where no data) in
    the same pass.
    """
    valid = 0
    for row, rows in row_blocks(height):
        if is_cancelled is not None and is_cancelled():
            raise Cancelled()
        block = read_window(band, (row, 0, rows, width))
        if np.isinf(block).any():
            raise InputError(parameter, f"holds infinite values (first in rows {row}-{row + rows - 1}); "
                                        "set them to nodata first")
        if inspect is not None:
            inspect(block)
        valid += int(np.isfinite(block).sum())
    if valid == 0:
        raise InputError(parameter, "has no valid cell: every cell is nodata or NaN")
    return valid


def threaded(options):
    """GeoTIFF creation ``options`` with compression spread over this process's thread budget
    (core.common.workers) when they compress; the file is the same, written faster."""
    options = list(options)
    if any(option.startswith("COMPRESS=") for option in options):
        options.append(f"NUM_THREADS={thread_budget()}")
    return options


def create_like(path, template, options=OUTPUT_OPTIONS, nodata=float("nan"), bands=1, data_type=gdal.GDT_Float32):
    """A GeoTIFF of ``bands`` bands of ``data_type`` (default one float32 band) on ``template``'s grid.

    ``nodata`` is set on every band (``None``: none set). Compression uses every thread of the
    process's budget.
    """
    dataset = checked(gdal.GetDriverByName("GTiff").Create(
        path, template.RasterXSize, template.RasterYSize, bands, data_type, threaded(options)), f"create {path}")
    dataset.SetGeoTransform(template.GetGeoTransform())
    dataset.SetProjection(template.GetProjection())
    if nodata is not None:
        for band in range(1, bands + 1):
            dataset.GetRasterBand(band).SetNoDataValue(nodata)
    return dataset


@contextmanager
def atomic_outputs(*paths):
    """Yield (partial paths, scratch folder); move the partial files in place only on success.

    Each partial file lies in a staging folder beside its destination
    (core.common.staging: the same file system, so the move is atomic) and keeps the
    destination's extension, which GDAL drivers check. ``None`` entries are
    passed through as ``None``. The scratch folder yielded is the first
    destination's, for side files. A failure or cancellation leaves no
    partial file and no changed destination.
    """
    targets = [os.path.abspath(path) if path else None for path in paths]
    folders = {}
    try:
        for target in filter(None, targets):
            directory = os.path.dirname(target)
            if directory not in folders:
                folders[directory] = make_staging_folder(directory)
        staged = [os.path.join(folders[os.path.dirname(target)], f"part{index}{os.path.splitext(target)[1]}")
                  if target else None for index, target in enumerate(targets)]
        yield staged, next(iter(folders.values()))
        for temporary, target in zip(staged, targets):
            if target:
                os.replace(temporary, target)
    finally:
        for folder in folders.values():
            shutil.rmtree(folder, ignore_errors=True)
