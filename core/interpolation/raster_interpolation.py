"""Sparse velocity raster in, dense velocity raster out (section III-A).

``interpolate_array`` works on one in-memory grid; ``interpolate_raster``
streams a GeoTIFF of any size through GDAL tile by tile (the paper used
2500 x 2500 tiles) with blended overlaps, so memory stays bounded.
"""
import math
import os
import time

import numpy as np
from scipy.ndimage import distance_transform_edt

from ..common.errors import InputError
from ..common.raster_io import SCRATCH_OPTIONS, atomic_outputs, create_like, open_band, read_window, row_blocks
from ..common.tiling import blend_weights, make_tiles
from ..common.value_checks import VELOCITY, check_band_values
from .delaunay import delaunay_interpolate
from .matrix_completion import MatrixCompletionSettings, complete_fast
from .spike_noise import spike_noise_map

METHODS = ("matrix_completion", "delaunay")
BLEND = 64  # pixels on each side of a tile boundary over which tiles are cross-faded
SPARSE_INTERIOR_SHARE = 0.5  # share of valid cells with four valid neighbours below which a raster is sparse
EDGE_MARGIN = 64  # pixels kept between the blend band and a window edge, beyond MAX_DISTANCE


def coverage_mask(measured, max_distance):
    """(H, W) bool: cells within ``max_distance`` pixels of a measured cell."""
    if not measured.any():
        return np.zeros(measured.shape, dtype=bool)
    return distance_transform_edt(~measured) <= max_distance


def interpolate_array(sparse, method="matrix_completion", settings=MatrixCompletionSettings(),
                      max_distance=math.inf, progress=None, is_cancelled=None):
    """Dense (H, W) float32 velocities (mm/yr) from ``sparse`` (H, W; NaN = unmeasured).

    Cells farther than ``max_distance`` pixels from every measurement are NaN.
    """
    _check_method(method)
    measured = np.isfinite(sparse)
    if method == "matrix_completion":
        dense = complete_fast(sparse, settings, progress, is_cancelled)
    else:
        rows, cols = np.nonzero(measured)
        dense = (delaunay_interpolate(rows, cols, sparse[rows, cols], sparse.shape, is_cancelled) if len(rows) >= 3
                 else np.full(sparse.shape, np.nanmean(sparse) if len(rows) else np.nan))
    dense = dense.astype(np.float32)
    dense[~coverage_mask(measured, max_distance)] = np.nan
    return dense


def looks_sparse(path, band_number=1, parameter="INPUT"):
    """Whether a velocity raster holds scattered measurements rather than a dense map.

    Sparse: fewer than SPARSE_INTERIOR_SHARE of its valid cells have all
    four neighbours valid (persistent-scatterer rasters: well under a
    third, even in towns; interpolated maps: over 95 %). Streamed in row blocks.
    """
    dataset, band = open_band(path, band_number, parameter)
    height, width = dataset.RasterYSize, dataset.RasterXSize
    valid = interior = 0
    for row, rows in row_blocks(height):
        top, bottom = max(0, row - 1), min(height, row + rows + 1)
        finite = np.isfinite(read_window(band, (top, 0, bottom - top, width)))
        padded = np.pad(finite, 1)
        surrounded = finite & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
        block = slice(row - top, row - top + rows)
        valid += int(finite[block].sum())
        interior += int(surrounded[block].sum())
    return interior < SPARSE_INTERIOR_SHARE * valid


def _check_method(method):
    if method not in METHODS:
        raise InputError("METHOD", f"must be one of {', '.join(METHODS)}, got {method!r}")


def _validate(settings, max_distance, tile_size, method):
    settings.validate()
    _check_method(method)
    if not 0 <= max_distance <= 10000:
        raise InputError("MAX_DISTANCE", f"must lie in [0, 10000] pixels, got {max_distance}")
    if not 2 * BLEND <= tile_size <= 20000:
        raise InputError("TILE_SIZE", f"must lie in [{2 * BLEND}, 20000] pixels, got {tile_size}")


def _count_measurements(band, height, width, is_cancelled):
    """Number of finite cells; raises InputError on infinite values, values no velocity has, or too few cells."""
    measured = check_band_values(band, height, width, "INPUT", VELOCITY, "NODATA", is_cancelled)
    if measured < 3:
        raise InputError("INPUT", f"has {measured} valid cell(s); interpolation needs at least 3")
    return measured


def _add_window(dataset, window, values):
    """dataset[window] += values (single band, float32, added in float32 as a mosaic of tile files is)."""
    row, col, rows, cols = window
    band = dataset.GetRasterBand(1)
    band.WriteArray(band.ReadAsArray(col, row, cols, rows) + values, col, row)


def blended(dense, weights):
    """A tile's share of the mosaic: ``dense`` times its blend ``weights``, and 0 where the weight is 0.

    Beyond the blend band a window's edge cells may lack the measurements just outside it and be
    NaN there; they weigh nothing, and must not carry their NaN into the neighbour's core.
    """
    return np.where(weights > 0, dense * weights, 0.0)


def _core_of(array, tile):
    """The part of a window-shaped ``array`` that lies in the tile's core."""
    r0, c0 = tile.window[:2]
    rc0, cc0, rows, cols = tile.core
    return array[rc0 - r0 : rc0 - r0 + rows, cc0 - c0 : cc0 - c0 + cols]


def _copy_blocks(source, target, height, width):
    """Stream band 1 of ``source`` into ``target`` block by block."""
    for row, rows in row_blocks(height):
        block = source.GetRasterBand(1).ReadAsArray(0, row, width, rows)
        target.GetRasterBand(1).WriteArray(block, 0, row)


def interpolation_tiles(height, width, tile_size, max_distance):
    """Tiles of an interpolation: cores of ``tile_size`` pixels in windows wide enough for the blend and
    for every measurement within ``max_distance`` pixels of the blend band."""
    return make_tiles(height, width, tile_size, BLEND + EDGE_MARGIN + math.ceil(max_distance))


def tile_result(source, tile, shape, method, settings, max_distance, with_noise=False, progress=None,
                is_cancelled=None):
    """(contribution, noise) of one tile of a raster of ``shape`` (rows, cols) read from band ``source``.

    ``contribution``: (window rows, cols) float32, the dense velocities (mm/yr) times the tile's blend
    weights (see ``blended``); the contributions of all tiles sum to the mosaic. ``noise``: the spike
    noise (mm/yr) of the tile's core when ``with_noise``, else None. A window without a measurement
    (sea, empty land) costs only its reading: its dense map is all NaN, as interpolation would make it.
    """
    sparse = read_window(source, tile.window)
    dense = (interpolate_array(sparse, method, settings, max_distance, progress, is_cancelled)
             if np.isfinite(sparse).any() else np.full(sparse.shape, np.nan, dtype=np.float32))
    contribution = blended(dense, blend_weights(tile, *shape, BLEND)).astype(np.float32)
    return contribution, (_core_of(spike_noise_map(sparse), tile) if with_noise else None)


def check_interpolation(input_path, output_paths, settings, max_distance, tile_size, method, band=1,
                        is_cancelled=None):
    """(dataset, band, measured cells) of a valid interpolation input; InputError naming what is wrong.

    ``output_paths``: {parameter name: path or None} of the outputs, none of which may be the input.
    """
    _validate(settings, max_distance, tile_size, method)
    for name, path in output_paths.items():
        if path and os.path.abspath(path) == os.path.abspath(input_path):
            raise InputError(name, "must differ from INPUT, which is never overwritten")
    dataset, source = open_band(input_path, band)
    return dataset, source, _count_measurements(source, dataset.RasterYSize, dataset.RasterXSize, is_cancelled)


def interpolate_raster(input_path, output_path, *, method="matrix_completion",
                       settings=MatrixCompletionSettings(), max_distance=20.0, noise_path=None,
                       tile_size=2500, band=1, progress=None, is_cancelled=None):
    """Interpolate a sparse velocity GeoTIFF (mm/yr; nodata/NaN = unmeasured).

    Writes ``output_path``: a tiled, compressed float32 GeoTIFF on the input
    grid, NaN beyond ``max_distance`` pixels from any measurement; and, if
    given, ``noise_path``: the spike-noise map N = y - Med3x3(y). Outputs
    appear only when complete. Returns a summary dict.
    """
    started = time.time()
    report = progress or (lambda fraction, message: None)
    report(0.0, "Checking measurements")
    dataset, source, measured = check_interpolation(input_path, {"OUTPUT": output_path, "NOISE": noise_path},
                                                    settings, max_distance, tile_size, method, band, is_cancelled)
    height, width = dataset.RasterYSize, dataset.RasterXSize
    tiles = interpolation_tiles(height, width, tile_size, max_distance)
    with atomic_outputs(output_path, noise_path) as ((dense_path, partial_noise), scratch):
        # Sparse and without nodata: blocks not yet written read as zeros.
        accumulator = create_like(os.path.join(scratch, "sum.tif"), dataset, SCRATCH_OPTIONS, nodata=None)
        noise = create_like(partial_noise, dataset) if partial_noise else None
        for index, tile in enumerate(tiles):
            def tile_progress(fraction, index=index):
                report(0.02 + 0.93 * (index + fraction) / len(tiles),
                       f"Tile {index + 1} of {len(tiles)}")
            tile_progress(0.0)
            contribution, tile_noise = tile_result(source, tile, (height, width), method, settings, max_distance,
                                                   noise is not None, tile_progress, is_cancelled)
            _add_window(accumulator, tile.window, contribution)
            if noise is not None:
                noise.GetRasterBand(1).WriteArray(tile_noise, tile.core[1], tile.core[0])
        report(0.95, "Writing output")
        output = create_like(dense_path, dataset)
        _copy_blocks(accumulator, output, height, width)
        accumulator = noise = output = None
    report(1.0, "Done")
    return {"measured_cells": measured, "width": width, "height": height, "tiles": len(tiles),
            "seconds": time.time() - started}
