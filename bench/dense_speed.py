"""Detection speed of dense models, compared fairly: each scene detected by each model in turn, repeatedly.

    .venv/bin/python bench/dense_speed.py resources/models/dense.pt bench/data/dense-model/strided.pt

bench/scenes.py times each model over all its scenes in one pass, so the first model pays for the
cold caches and any other job on the machine falls on one model more than another. Here every
round detects one scene of each pixel size in the --cache of bench/scenes.py (run it with
--prepare-only first) with every model in turn, as detect does (measurements included), and
the median over --rounds of each model's whole detection (reading, resampling, network, writing;
interpolation excluded) is reported in megapixels of the map per second, per pixel size. The
first round warms up and is not counted.
"""
import argparse
import glob
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "pluginpath"))

from osgeo import gdal

from insar_deformation_detector.core.detection.dense_detection import detect_dense_raster
from insar_deformation_detector.core.learning.model_file import load_model

from machine import machine


def scene_per_pixel_size(cache):
    """{pixel size (metres): folder of the first cached scene at that size}."""
    scenes = {}
    for folder in sorted(glob.glob(os.path.join(cache, "scene*"))):
        pixel_m = gdal.Open(os.path.join(folder, "dense.tif")).GetGeoTransform()[1]
        scenes.setdefault(pixel_m, folder)
    return scenes


def timed(model, folder, output):
    """Seconds of one whole detection of the scene in ``folder`` by ``model``, and its megapixels."""
    started = time.perf_counter()
    summary = detect_dense_raster(os.path.join(folder, "dense.tif"), model, output,
                                  measurements_path=os.path.join(folder, "sparse.tif"))
    return time.perf_counter() - started, summary["width"] * summary["height"] / 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", help="dense model files")
    parser.add_argument("--cache", default=os.path.join("bench", "data", "scenes"))
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (after one to warm up)")
    arguments = parser.parse_args()
    models = {path: load_model(path) for path in arguments.models}
    scenes = scene_per_pixel_size(arguments.cache)
    seconds = {(path, pixel): [] for path in models for pixel in scenes}
    megapixels = {}
    print(machine(), flush=True)
    with tempfile.TemporaryDirectory() as work:
        for round_number in range(arguments.rounds + 1):
            for pixel, folder in scenes.items():
                for path, model in models.items():
                    spent, megapixels[pixel] = timed(model, folder, os.path.join(work, "p.tif"))
                    if round_number:
                        seconds[(path, pixel)].append(spent)
    print("| model | " + " | ".join(f"{pixel:g} m map ({megapixels[pixel]:.2f} MP)" for pixel in scenes) + " |")
    print("|---|" + "---:|" * len(scenes))
    for path in models:
        cells = [f"{megapixels[pixel] / np.median(seconds[(path, pixel)]):.2f} MP/s" for pixel in scenes]
        print(f"| {path} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
