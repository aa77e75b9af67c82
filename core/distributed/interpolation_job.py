"""Interpolation of a sparse velocity raster as one task per tile, resumable from a run folder.

Each task (``interpolate_tile``, any process: a Dask worker needs numpy, scipy and GDAL, never
QGIS) reads its tile's window from the input by path and writes its blended contribution
(core.interpolation.raster_interpolation.tile_result) to its own window file in the run folder.
The mosaic adds the contributions in tile order in float32, as ``interpolate_raster`` does in
one process, so both give the same map.
"""
import dataclasses
import os
import shutil
import time

from ..common.raster_io import atomic_outputs, create_like, open_band
from ..interpolation.matrix_completion import MatrixCompletionSettings
from ..interpolation.raster_interpolation import check_interpolation, interpolation_tiles, tile_result
from .run_folder import RunFolder, input_identity
from .tile_runs import run_tiles
from .where import dask_client, parse_where
from .window_files import place_windows, sum_mosaic, write_window

STAGE = "interpolation"


def interpolate_tile(input_path, band, tile, shape, method, settings, max_distance, dense_path, noise_path):
    """Task: tile ``tile`` of the input into the window files ``dense_path`` (its blended contribution,
    over its window) and ``noise_path`` (its core's spike noise; None for none). The dense file,
    written last, marks the tile done."""
    dataset, source = open_band(input_path, band)
    contribution, noise = tile_result(source, tile, shape, method, settings, max_distance, noise_path is not None)
    if noise_path is not None:
        write_window(noise_path, noise, dataset, tile.core)
    write_window(dense_path, contribution, dataset, tile.window)


def interpolation_manifest(input_path, band, method, settings, max_distance, tile_size, with_noise, tile_count):
    """The run folder manifest of an interpolation (see core.distributed.run_folder)."""
    return {"stage": STAGE, "input": input_identity(input_path), "band": band,
            "settings": {"method": method, "matrix_completion": dataclasses.asdict(settings),
                         "max_distance": max_distance, "noise": with_noise},
            "tiles": {"tile_size": tile_size, "count": tile_count}}


def interpolate_tiled(input_path, output_path, *, run_folder=None, where="", method="matrix_completion",
                      settings=MatrixCompletionSettings(), max_distance=20.0, noise_path=None, tile_size=2500,
                      band=1, progress=None, is_cancelled=None):
    """``interpolate_raster``'s outputs, one task per tile in ``where`` (core.distributed.where text or Where).

    ``run_folder``: where finished tiles are kept, so that a run stopped for any reason resumes
    there with the tiles it lacks (None: a scratch folder beside the output, removed at the end).
    On a cluster the input, outputs and run folder must be on storage every worker reaches.
    Returns a summary dict with the tiles done now and those found done.
    """
    started = time.time()
    report = progress or (lambda fraction, message: None)
    where = parse_where(where) if isinstance(where, str) else where
    report(0.0, "Checking measurements")
    dataset, _, measured = check_interpolation(input_path, {"OUTPUT": output_path, "NOISE": noise_path}, settings,
                                               max_distance, tile_size, method, band, is_cancelled)
    shape = (dataset.RasterYSize, dataset.RasterXSize)
    tiles = interpolation_tiles(*shape, tile_size, max_distance)
    with atomic_outputs(output_path, noise_path) as ((dense_path, partial_noise), scratch):
        folder = RunFolder(run_folder or os.path.join(scratch, "run"), interpolation_manifest(
            input_path, band, method, settings, max_distance, tile_size, noise_path is not None, len(tiles)))
        missing = folder.missing(STAGE, len(tiles))
        calls = [(folder.task_key(STAGE, index), interpolate_tile,
                  (input_path, band, tiles[index], shape, method, settings, max_distance,
                   folder.tile_path(STAGE, index), folder.tile_path("noise", index) if noise_path else None))
                 for index in missing]
        with dask_client(where) as client:
            run_tiles(client, calls, lambda fraction, message: report(0.02 + 0.9 * fraction, message),
                      is_cancelled)
        report(0.92, "Mosaicking the tiles")
        output = create_like(dense_path, dataset)
        sum_mosaic([(folder.tile_path(STAGE, index), tile.window) for index, tile in enumerate(tiles)],
                   output.GetRasterBand(1), *shape, is_cancelled)
        if partial_noise:
            noise = create_like(partial_noise, dataset)
            place_windows([(folder.tile_path("noise", index), tile.core) for index, tile in enumerate(tiles)],
                          noise, is_cancelled)
        output = noise = None
        if run_folder is None:
            shutil.rmtree(folder.path, ignore_errors=True)
    report(1.0, "Done")
    return {"measured_cells": measured, "width": shape[1], "height": shape[0], "tiles": len(tiles),
            "tiles_run": len(missing), "tiles_found_done": len(tiles) - len(missing),
            "seconds": time.time() - started}
