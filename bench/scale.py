"""Benchmark: the chain in one process and on a Dask LocalCluster, and what a national map would take.

    .venv/bin/python bench/scale.py                      # 6000 x 6000 px, in process, local:1 and local:2
    .venv/bin/python bench/scale.py --size 3000 --modes process,local:2   # a quicker look

A sparse synthetic velocity scene of --size px at 10 m (point sources, tunnels, atmosphere,
about 10 % measured; seed 4242) is interpolated by matrix completion (2,500 px tiles, the paper's)
and classified by the bundled dense detector, in this process as insardefo:detect does (numpy
and torch on every core), then one task per tile on each LocalCluster of --modes (one thread
per worker). Reported: the wall time of each stage and of its tile phase, the tiled outputs'
largest difference from the in-process ones, the parallel efficiency of local:N over local:1
(the tile phases' speed-up over N), the cost of one 2,500 px tile of interpolation and of
detection on one worker, and the projected wall time of a national map: the paper's 98,504 x
68,504 px (1,100 tiles of 2,500 px), of which --data-fraction hold measurements (the rest cost
only their reading), on 16, 64, 128 and 256 single-threaded workers (64 machines of 2 cores hold
128), with the serial parts (model grid, mosaics, the windows placed) scaled by pixels from this
run, areas excluded.
"""
import argparse
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "pluginpath"))

from osgeo import gdal, osr

from insar_deformation_detector.core.common.grid import GridSpec
from insar_deformation_detector.core.detection.dense_detection import detect_dense_raster
from insar_deformation_detector.core.distributed.detection_job import detect_dense_tiled
from insar_deformation_detector.core.distributed.interpolation_job import interpolate_tiled
from insar_deformation_detector.core.interpolation.raster_interpolation import interpolate_raster
from insar_deformation_detector.core.learning.model_file import DENSE_MODEL_PATH, load_model
from insar_deformation_detector.core.learning.training import use_all_cores
from insar_deformation_detector.core.synthesis.synthetic_scene import make_scene, write_scene_outputs

from machine import machine

NATIONAL_PX = (98_504, 68_504)  # the paper's map of the UK
NATIONAL_TILES = 1_100  # of 2,500 px (the paper)
TILE_PX = 2500
SEED = 4242
WORKERS = (16, 64, 128, 256)  # single-threaded workers projected; 128 of them are the 64 workers of 2 cores


class PhaseClock:
    """A progress callback that notes when each phase of a run began (by its message)."""

    def __init__(self):
        self.started, self.marks = time.time(), []

    def __call__(self, fraction, message):
        if not self.marks or self.marks[-1][1] != message:
            self.marks.append((time.time() - self.started, message))

    def serial_phases(self):
        """"message seconds" of the phases outside the tiles, in order (the client's serial work)."""
        ends = [seconds for seconds, _ in self.marks[1:]] + [time.time() - self.started]
        return ", ".join(f"{message} {end - seconds:.1f} s" for (seconds, message), end in zip(self.marks, ends)
                         if " of " not in message and "done" not in message and not message.endswith("to run")
                         and message != "Done")

    def tile_phase(self):
        """Seconds from the tiles' start ("N tile(s) to run") to the mosaic's."""
        start = next(seconds for seconds, message in self.marks if message.endswith("to run"))
        return next(seconds for seconds, message in self.marks if message.startswith("Mosaicking")) - start


def sparse_scene(folder, size):
    """The benchmark's sparse raster (10 m pixels), written once into ``folder``."""
    path = os.path.join(folder, f"sparse-{size}.tif")
    if not os.path.isfile(path):
        scene = make_scene(GridSpec(400000.0, 400000.0, 10.0, size, size), seed=SEED,
                           point_sources=max(2, size * size // 3_000_000), tunnels=max(1, size * size // 12_000_000))
        reference = osr.SpatialReference()
        reference.ImportFromEPSG(27700)
        write_scene_outputs(scene, {"sparse": path + ".part.tif"}, reference.ExportToWkt())
        os.replace(path + ".part.tif", path)
    return path


def in_process(sparse, folder, model):
    """{stage: seconds} and output paths of the chain as insardefo:detect runs it."""
    dense, probability = os.path.join(folder, "process-dense.tif"), os.path.join(folder, "process-p.tif")
    started = time.time()
    interpolate_raster(sparse, dense)
    interpolated = time.time()
    detect_dense_raster(dense, model, probability, os.path.join(folder, "process-kinds.tif"),
                        measurements_path=sparse)
    return {"interpolation": interpolated - started, "detection": time.time() - interpolated}, dense, probability


def tiled(sparse, folder, model, where):
    """{stage: seconds, stage tiles: seconds} and output paths of the chain one task per tile in ``where``."""
    name = where.replace(":", "")
    dense, probability = os.path.join(folder, f"{name}-dense.tif"), os.path.join(folder, f"{name}-p.tif")
    interpolation, detection = PhaseClock(), PhaseClock()
    started = time.time()
    interpolate_tiled(sparse, dense, where=where, progress=interpolation)
    interpolated = time.time()
    summary = detect_dense_tiled(dense, model, probability, os.path.join(folder, f"{name}-kinds.tif"), where=where,
                                 measurements_path=sparse, progress=detection)
    times = {"interpolation": interpolated - started, "detection": time.time() - interpolated,
             "interpolation tiles": interpolation.tile_phase(), "detection tiles": detection.tile_phase(),
             "detection tile count": summary["tiles"], "model grid": summary["model_grid"]}
    print(f"{where} serial phases: interpolation: {interpolation.serial_phases()}; detection: "
          f"{detection.serial_phases()}")
    return times, dense, probability


def largest_difference(first, second):
    """max |first - second| over cells finite in both, and whether both have the same NaN cells."""
    a, b = (gdal.Open(path).ReadAsArray().astype(np.float64) for path in (first, second))
    same_holes = bool((np.isnan(a) == np.isnan(b)).all())
    both = np.isfinite(a) & np.isfinite(b)
    return float(np.abs(a[both] - b[both]).max()), same_holes


def projection(per_tile_s, serial_s_per_mp, data_fraction, workers):
    """Projected seconds of the national chain on ``workers`` workers (see the module)."""
    with_data = math.ceil(NATIONAL_TILES * data_fraction)
    serial = serial_s_per_mp * NATIONAL_PX[0] * NATIONAL_PX[1] / 1e6
    return math.ceil(with_data / workers) * per_tile_s + serial


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=6000)
    parser.add_argument("--modes", default="process,local:1,local:2")
    parser.add_argument("--data-fraction", type=float, default=0.5,
                        help="share of the national map's 2,500 px tiles holding measurements")
    parser.add_argument("--folder", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "scale"))
    arguments = parser.parse_args()
    os.makedirs(arguments.folder, exist_ok=True)
    use_all_cores()
    print(machine())
    sparse = sparse_scene(arguments.folder, arguments.size)
    model = load_model(DENSE_MODEL_PATH)
    measured = np.isfinite(gdal.Open(sparse).ReadAsArray()).mean()
    print(f"{arguments.size} x {arguments.size} px at 10 m, {100 * measured:.1f} % measured")
    results, outputs = {}, {}
    for mode in arguments.modes.split(","):
        if mode == "process":
            results[mode], *outputs[mode] = in_process(sparse, arguments.folder, model)
        else:
            results[mode], *outputs[mode] = tiled(sparse, arguments.folder, model, mode)
        print(f"{mode}: " + ", ".join(f"{key} {value:.1f} s" if isinstance(value, float) else f"{key} {value}"
                                      for key, value in results[mode].items()), flush=True)
    process_outputs = [os.path.join(arguments.folder, name) for name in ("process-dense.tif", "process-p.tif")]
    if "process" not in outputs and all(map(os.path.isfile, process_outputs)):
        outputs["process"] = process_outputs  # an earlier run's, of the same scene
    reference = "process" if "process" in outputs else next(iter(outputs))
    for mode in outputs:
        if mode != reference:
            for index, name in enumerate(("dense velocity", "probability")):
                difference, holes = largest_difference(outputs[reference][index], outputs[mode][index])
                print(f"{mode} against {reference}, {name}: largest difference {difference:.2e}, "
                      f"same no-data cells: {holes}")
    single = [mode for mode in results if mode == "local:1"]
    tiles = math.ceil(arguments.size / TILE_PX) ** 2
    for mode in results:
        if single and mode.startswith("local:") and mode != "local:1":
            workers = int(mode.split(":")[1])
            for stage in ("interpolation tiles", "detection tiles"):
                speedup = results["local:1"][stage] / results[mode][stage]
                print(f"{mode} {stage}: speed-up {speedup:.2f} over local:1, efficiency {speedup / workers:.2f}")
    if single:
        one = results["local:1"]
        interpolation_tile = one["interpolation tiles"] / tiles
        detection_tile = one["detection tiles"] / (arguments.size ** 2 / 1e6) * TILE_PX ** 2 / 1e6
        serial = (one["interpolation"] - one["interpolation tiles"] + one["detection"] - one["detection tiles"])
        serial_per_mp = serial / (arguments.size ** 2 / 1e6)
        print(f"one worker: {interpolation_tile:.1f} s per 2,500 px tile of interpolation, {detection_tile:.1f} s "
              f"of detection; serial parts {serial:.1f} s ({serial_per_mp:.3f} s per megapixel)")
        for fraction in (arguments.data_fraction, 1.0):
            hours = [projection(interpolation_tile + detection_tile, serial_per_mp, fraction, workers) / 3600
                     for workers in WORKERS]
            print(f"national map, {100 * fraction:.0f} % of tiles with data: " + ", ".join(
                f"{workers} workers {value:.2f} h" for workers, value in zip(WORKERS, hours)))


if __name__ == "__main__":
    main()
