"""Dense detection of a velocity map as one task per tile, resumable from a run folder.

The client checks the inputs and prepares what the network reads on the model grid
(core.detection.dense_detection.prepare_model_grid) into the run folder once; each task
(``classify_tile``, any process: a Dask worker needs numpy, GDAL and torch, never QGIS) opens
those rasters by path, reads its tile and halo, puts the tile core's probability (and the kinds'
probabilities) back onto its own window of the map's grid as ``detect_dense_raster`` does for the
whole map (core.detection.map_windows), and writes them to window files of its own. The mosaic
only places those windows into the outputs, so both paths give the same map.

Each worker process loads a model file once (``_worker_network``) and runs torch on one thread:
a Dask worker runs as many tasks at once as it has threads, so workers x threads is what a
machine's cores must hold, as Dask's own defaults assume.
"""
import functools
import os
import shutil
import time

from osgeo import gdal

from ..common.raster_io import OUTPUT_OPTIONS, PACKED_SCRATCH_OPTIONS, atomic_outputs, create_like, open_band
from ..detection.dense_detection import (
    TILE_PX,
    ModelGridInputs,
    Tiler,
    checked_inputs,
    model_tiles,
    prepare_model_grid,
    tile_outputs,
)
from ..detection.map_windows import map_window, margin_px, on_map
from ..learning.dense_network import inference_network
from ..learning.model_file import load_model
from .run_folder import RunFolder, file_sha256, input_identity
from .tile_runs import run_tiles
from .where import dask_client, in_dask_worker, parse_where
from .window_files import place_windows, write_window

STAGE = "detection"
KINDS = "kinds"
PREPARED = "prepared"


@functools.lru_cache(maxsize=2)
def _worker_network(model_path, modified_ns, device):
    """(inference network, temperature) of the model file, loaded once per process and file version.

    In a Dask worker torch runs on one thread (a task per worker thread); in this process it keeps
    the threads the caller gave it.
    """
    if in_dask_worker():
        import torch

        torch.set_num_threads(1)
    model = load_model(model_path, "MODEL", device)
    return inference_network(model.network).to(device), float(model.metadata.get("temperature", 1.0))


def classify_tile(model_path, device, inputs, map_path, band, tile, probability_path, kinds_path):
    """Task: tile ``tile`` = (row, col, rows, cols) of the model grid ``inputs`` (ModelGridInputs) of the
    map ``map_path`` (band ``band``), put back onto its window of the map's grid
    (core.detection.map_windows), into the window files ``probability_path`` (P, float32, NaN where
    the map has no data; written last, it marks the tile done) and ``kinds_path`` (the kinds'
    probabilities times KIND_SCALE, Byte; None for none)."""
    network, temperature = _worker_network(model_path, os.stat(model_path).st_mtime_ns, device)
    grid = inputs.open()
    tiler = Tiler(network, temperature, grid.band, grid.shape, grid.reference, grid.pixel_m, device,
                  grid.measurements)
    map_dataset, map_band = open_band(map_path, band)
    margin = margin_px(grid.shape, (map_dataset.RasterYSize, map_dataset.RasterXSize))
    probability, kinds = tile_outputs(tiler.probabilities(*tile, margin=margin), kinds_path is not None)
    window, probability, kinds = on_map(probability, kinds, tile, margin, grid.shape, grid.dataset.GetGeoTransform(),
                                        map_dataset, map_band)
    if kinds_path is not None:
        write_window(kinds_path, kinds, map_dataset, window)
    write_window(probability_path, probability, map_dataset, window)


def detection_manifest(velocity_path, band, model_path, measurements_path, with_kinds, device, stride):
    """The run folder manifest of a dense detection (see core.distributed.run_folder): the model grid
    and its tiles follow from the input, the model and the network's ``stride``."""
    return {"stage": STAGE, "input": input_identity(velocity_path), "band": band,
            "measurements": input_identity(measurements_path) if measurements_path else None,
            "model_sha256": file_sha256(model_path), "settings": {"kinds": with_kinds, "device": device},
            "tiles": {"tile_px": TILE_PX * stride}}


def detect_dense_tiled(velocity_path, model, output_path, kinds_path=None, *, run_folder=None, where="", band=1,
                       device="cpu", measurements_path=None, progress=None, is_cancelled=None):
    """``detect_dense_raster``'s outputs, one task per tile in ``where`` (core.distributed.where text or Where).

    ``model``: a dense LoadedModel (its file is what the workers load). ``run_folder``: where the
    prepared model grid and the finished tiles are kept, so that a run stopped for any reason
    resumes with the tiles it lacks (None: a scratch folder beside the output, removed at the end).
    On a cluster the inputs, outputs, model file and run folder must be on storage every worker
    reaches. Returns a summary dict.
    """
    started = time.time()
    report = progress or (lambda fraction, message: None)
    where = parse_where(where) if isinstance(where, str) else where
    report(0.0, "Checking the velocities")
    dataset, _, measured = checked_inputs(velocity_path, model, output_path, band, measurements_path,
                                               is_cancelled)
    with atomic_outputs(output_path, kinds_path) as (staged, scratch):
        stride = model.network.stride
        folder = RunFolder(run_folder or os.path.join(scratch, "run"), detection_manifest(
            velocity_path, band, model.path, measured.GetDescription() if measured else None,
            kinds_path is not None, device, stride))
        report(0.01, "Preparing the model grid")
        inputs = _prepared(folder, dataset, band, model, measured, is_cancelled)
        tiles = model_tiles(inputs.shape, stride)
        missing = folder.missing(STAGE, len(tiles))
        with dask_client(where) as client:
            shared = client.scatter(inputs, broadcast=True) if client is not None else inputs
            calls = [(folder.task_key(STAGE, index), classify_tile,
                      (model.path, device, shared, velocity_path, band, tiles[index], folder.tile_path(STAGE, index),
                       folder.tile_path(KINDS, index) if kinds_path else None)) for index in missing]
            classified = time.time()
            run_tiles(client, calls, lambda fraction, message: report(0.05 + 0.85 * fraction, message),
                      is_cancelled)
            classified = time.time() - classified
        report(0.9, "Mosaicking the tiles")
        windows = [map_window(tile, inputs.shape, (dataset.RasterYSize, dataset.RasterXSize)) for tile in tiles]
        probability = create_like(staged[0], dataset, OUTPUT_OPTIONS)
        place_windows(list(zip((folder.tile_path(STAGE, index) for index in range(len(tiles))), windows)),
                      probability, is_cancelled)
        if kinds_path is not None:
            kinds = create_like(staged[1], dataset, PACKED_SCRATCH_OPTIONS, nodata=None, bands=len(model.classes) - 1,
                                data_type=gdal.GDT_Byte)
            place_windows(list(zip((folder.tile_path(KINDS, index) for index in range(len(tiles))), windows)),
                          kinds, is_cancelled)
        probability = kinds = measured = None
        if run_folder is None:
            shutil.rmtree(folder.path, ignore_errors=True)
    report(1.0, "Done")
    width, height = dataset.RasterXSize, dataset.RasterYSize
    return {"width": width, "height": height, "model_grid": inputs.shape, "working_pixel_m": inputs.pixel_m,
            "tiles": len(tiles), "tiles_run": len(missing), "tiles_found_done": len(tiles) - len(missing),
            "seconds": time.time() - started,
            "megapixels_per_second": width * height / 1e6 / max(classified, 1e-9) if missing else None}


def _prepared(folder, dataset, band, model, measured, is_cancelled):
    """The ModelGridInputs kept in the run folder, prepared there first when missing.

    They are prepared in a scratch folder of their own and renamed into place when whole, so a
    run stopped while preparing leaves none.
    """
    target = os.path.join(folder.path, PREPARED)
    if not os.path.isdir(target):
        partial = os.path.join(folder.path, f".{PREPARED}.{os.getpid()}")
        shutil.rmtree(partial, ignore_errors=True)
        os.makedirs(partial)
        prepare_model_grid(dataset, band, model, measured, partial, is_cancelled).save(partial)
        os.replace(partial, target)
    return ModelGridInputs.load(target, model, is_cancelled)
