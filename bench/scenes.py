"""Benchmark: what a geologist sees on the map, for each model family and for thresholding.

    .venv/bin/python bench/scenes.py --dense-model bench/data/dense-model/dense.pt --cache bench/data/scenes
    .venv/bin/python bench/scenes.py --scenes 2 --size 768      # a quick look

Held-out scenes (seeds from 9000, never used for training) of --size px square, half at 10 m
and half at 50 m pixels, made by core.synthesis.synthetic_scene with ranges wider than the
training maps' on both ends: source depths 20-700 m, peak rates 1-40 mm/yr, tunnels of
0.5-20 mm/yr; an extra isotropic atmosphere (total a up to 3 mm^2/yr^2, b 0.4-2 per km), a ramp,
3-20 % of pixels measured, twice the spikes, and roads with their own mean. Each scene is
interpolated by matrix completion once; then the window family (the bundled AlexNet model),
the dense family (--dense-model) and thresholding at 3, 4.5 and 5 mm/yr trace their areas.

Reported for each method: source recall per peak-rate bin (2-3, 3-5, 5-10, 10+ mm/yr; a source
is found when an area at the level touches its truth polygon), area precision (areas touching
ground deforming by 1 mm/yr or more, over all areas) and the number of areas at each level,
pixel F1 against the truth mask |D| >= 1 mm/yr at the lowest level, detection speed in
megapixels per second (interpolation excluded), and for each model a reliability table: the
areas at the lowest level binned by their highest probability, and the share of each bin that is
real (for a calibrated model, about 9 in 10 of the areas peaking at 0.9).

--cache keeps the interpolated scenes in a folder, so a second run (another model) skips their
making; the scenes depend on the seeds and sizes only.
"""
import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "pluginpath"))

from osgeo import gdal, ogr, osr

from insar_deformation_detector.core.common.grid import GridSpec
from insar_deformation_detector.core.detection.areas import contour_areas
from insar_deformation_detector.core.detection.dense_detection import detect_dense_raster
from insar_deformation_detector.core.detection.raster_detection import detect_raster
from insar_deformation_detector.core.detection.scoring import geometries
from insar_deformation_detector.core.detection.thresholding import THRESHOLDS_MM_YR, threshold_raster
from insar_deformation_detector.core.interpolation.raster_interpolation import interpolate_raster
from insar_deformation_detector.core.learning.area_confidence import area_floor, confidence_function
from insar_deformation_detector.core.learning.model_file import DEFAULT_MODEL_PATH, load_model
from insar_deformation_detector.core.learning.training import use_all_cores
from insar_deformation_detector.core.synthesis.atmosphere import turbulent_atmosphere
from insar_deformation_detector.core.synthesis.deformation_sources import SourceRanges
from insar_deformation_detector.core.synthesis.synthetic_scene import make_scene, winding_road, write_scene_outputs

from machine import machine

PROBABILITY_LEVELS = (0.5, 0.75, 0.9)
PEAK_BINS = ((2.0, 3.0), (3.0, 5.0), (5.0, 10.0), (10.0, float("inf")))  # mm/yr
RELIABILITY_BINS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0001)  # edges of an area's highest probability
CONFIDENCE_BINS = (0.0, 0.2, 0.4, 0.6, 0.8, 0.9, 1.0001)  # edges of an area's confidence
FIRST_SEED = 9000
BENCH_SOURCES = SourceRanges(depth_m=(20.0, 700.0), volume_m3=(0.2, 5e6), los_mm_yr=(1.0, 40.0),
                             l_sag_m=(15.0, 200.0), l_hog_m=(15.0, 200.0), d_sag_mm=(0.5, 20.0),
                             d_hog_mm=(0.3, 10.0))
EXTRA_A = (0.0, 1.5)  # mm^2/yr^2 on top of the scene's own 0.7-1.8
EXTRA_B = (0.4, 2.0)  # 1/km
MEASURED = (0.03, 0.20)
RAMP_MM_YR_PER_KM = 0.3
ROADS = (2, 6)
ROAD_OFFSET_MM_YR = (1.0, 5.0)


def corrupted_sparse(scene, rng):
    """The scene's measurements with the benchmark's own corruptions (see the module's docstring)."""
    pixel = scene.grid.pixel_size
    shape = scene.sparse.shape
    extra = turbulent_atmosphere(shape, pixel, rng.uniform(*EXTRA_A), rng.uniform(*EXTRA_B), rng)[0]
    rows, cols = np.mgrid[:shape[0], :shape[1]]
    angle = rng.uniform(0, 2 * np.pi)
    extra += rng.uniform(0, RAMP_MM_YR_PER_KM) * pixel / 1000.0 * (np.cos(angle) * cols + np.sin(angle) * rows)
    sparse = scene.sparse + extra.astype(np.float32)
    measured = np.isfinite(sparse)
    keep = rng.uniform(*MEASURED) / max(measured.mean(), 1e-9)
    if keep < 1:
        sparse[measured & (rng.random(shape) > keep)] = np.nan
    measured = np.isfinite(sparse)
    spikes = measured & (rng.random(shape) < 0.01)
    sparse[spikes] += rng.uniform(5, 15, spikes.sum()) * rng.choice((-1, 1), spikes.sum())
    for _ in range(int(rng.integers(*ROADS))):
        road_rows, road_cols = winding_road(shape, pixel, rng)
        sparse[road_rows, road_cols] = (scene.truth[road_rows, road_cols] + extra[road_rows, road_cols]
                                        + rng.uniform(*ROAD_OFFSET_MM_YR) * rng.choice((-1, 1)))
    return sparse


def scene_files(folder, index, size, pixel, point_sources, tunnels):
    """Write scene ``index``'s sparse raster, deformation and truth, and interpolate it; returns the paths.

    A scene already complete in ``folder`` (its dense.tif written last) is reused.
    """
    paths = {name: os.path.join(folder, f"{name}.{'gpkg' if name == 'truth' else 'tif'}")
             for name in ("sparse", "deformation", "truth", "dense")}
    if os.path.isfile(paths["dense"]):
        return paths
    seed = FIRST_SEED + index
    scene = make_scene(GridSpec(400000.0, 400000.0, pixel, size, size), seed=seed, point_sources=point_sources,
                       tunnels=tunnels, ranges=BENCH_SOURCES)
    scene.sparse = corrupted_sparse(scene, np.random.default_rng([seed, 1]))
    reference = osr.SpatialReference()
    reference.ImportFromEPSG(27700)
    write_scene_outputs(scene, {name: paths[name] for name in ("sparse", "deformation", "truth")},
                        reference.ExportToWkt())
    interpolate_raster(paths["sparse"], paths["dense"] + ".part.tif")
    os.replace(paths["dense"] + ".part.tif", paths["dense"])
    return paths


def truth_sources(truth_path):
    """[(peak |LOS| mm/yr, geometry)] of the sources with a truth polygon."""
    source = ogr.Open(truth_path)
    return [(abs(feature.GetField("peak_los_mm_yr")), feature.GetGeometryRef().Clone())
            for feature in source.GetLayerByName("truth")
            if feature.GetGeometryRef() is not None and not feature.GetGeometryRef().IsEmpty()]


def pixel_f1(score_path, deformation_path, level):
    """Pixel F1 (%) of score >= level against |deformation| >= 1 mm/yr, where the score is defined."""
    score = gdal.Open(score_path).ReadAsArray().astype(float)
    truth = np.abs(gdal.Open(deformation_path).ReadAsArray()) >= 1.0
    guess = np.nan_to_num(score, nan=-1.0) >= level
    hits = np.count_nonzero(guess & truth)
    precision, recall = hits / max(guess.sum(), 1), hits / max(truth.sum(), 1)
    return 200.0 * precision * recall / max(precision + recall, 1e-9)


def peaks_and_truth(areas_path, level, polygons):
    """[(highest probability, confidence or None, touches a source)] of the areas at ``level``."""
    source = ogr.Open(areas_path)
    rows = []
    for feature in source.GetLayerByName("areas"):
        geometry = feature.GetGeometryRef()
        if geometry is None or geometry.IsEmpty() or abs(feature.GetField("level") - level) > 1e-9:
            continue
        rows.append((feature.GetField("max_probability"), feature.GetField("confidence"),
                     any(geometry.Intersects(polygon) for polygon in polygons)))
    return rows


def reliability(rows, column=0, bins=RELIABILITY_BINS):
    """Markdown rows of a reliability table of peaks_and_truth rows binned by ``column`` at edges ``bins``.

    ``column``: 0 for the areas' highest probability, 1 for their confidence.
    """
    peaks = np.array([row[column] for row in rows], dtype=float)
    real = np.array([row[-1] for row in rows], dtype=bool)
    lines = []
    for low, high in zip(bins[:-1], bins[1:]):
        inside = (peaks >= low) & (peaks < high)
        share = f"{100 * real[inside].mean():.0f} %" if inside.any() else "-"
        lines.append(f"| {low:.1f}-{min(high, 1.0):.1f} | {inside.sum()} | {real[inside].sum()} | {share} |")
    return lines


def score(areas_path, truth, levels, tally):
    """Add recall per peak bin, areas and areas on a source at each level to ``tally``."""
    polygons = [geometry for _, geometry in truth]
    for level in levels:
        areas = geometries(areas_path, "areas", level)
        entry = tally.setdefault(level, {"areas": 0, "hits": 0, "bins": [[0, 0] for _ in PEAK_BINS]})
        entry["areas"] += len(areas)
        entry["hits"] += sum(any(area.Intersects(polygon) for polygon in polygons) for area in areas)
        for peak, polygon in truth:
            for number, (low, high) in enumerate(PEAK_BINS):
                if low <= peak < high:
                    entry["bins"][number][1] += 1
                    entry["bins"][number][0] += any(area.Intersects(polygon) for area in areas)


def run_methods(paths, models, folder, results):
    """Detect with every model and by thresholding on one scene; add to ``results``.

    A model with an area floor is scored twice from the same probabilities: as detection draws
    its areas (above the floor) and, as "<name>, no floor", with every area.
    """
    truth = truth_sources(paths["truth"])
    dense = gdal.Open(paths["dense"])
    megapixels = dense.RasterXSize * dense.RasterYSize / 1e6
    for name, model in models.items():
        probability = os.path.join(folder, f"p_{name}.tif")
        started = time.perf_counter()
        if model.family == "dense":
            summary = detect_dense_raster(paths["dense"], model, probability, measurements_path=paths["sparse"])
        else:
            summary = detect_raster(paths["dense"], model, probability)
        seconds = time.perf_counter() - started
        floor = area_floor(model.metadata, summary.get("working_pixel_m"))
        tracings = {name: floor} if floor is None else {name: floor, f"{name}, no floor": None}
        for number, (label, min_peak) in enumerate(tracings.items()):
            areas = os.path.join(folder, f"a_{name}_{number}.gpkg")
            contour_areas(probability, PROBABILITY_LEVELS, areas, probability_path=probability,
                          velocity_path=paths["dense"], measurements_path=paths["sparse"],
                          confidence=confidence_function(model.metadata), min_peak=min_peak)
            entry = results.setdefault(label, {"levels": {}, "seconds": 0.0, "megapixels": 0.0, "f1": [],
                                               "reliability": [], "floors": set()})
            entry["floors"].add(min_peak)
            entry["seconds"] += seconds
            entry["megapixels"] += megapixels
            entry["f1"].append(pixel_f1(probability, paths["deformation"], PROBABILITY_LEVELS[0]))
            score(areas, truth, PROBABILITY_LEVELS, entry["levels"])
            entry["reliability"] += peaks_and_truth(areas, PROBABILITY_LEVELS[0], [polygon for _, polygon in truth])
    levels, measured = os.path.join(folder, "levels.tif"), os.path.join(folder, "measured.tif")
    threshold_raster(paths["sparse"], levels, measured)
    areas = os.path.join(folder, "a_threshold.gpkg")
    contour_areas(levels, THRESHOLDS_MM_YR, areas, velocity_path=measured, measurements_path=measured,
                  support_path=measured, min_support=4)
    entry = results.setdefault("threshold", {"levels": {}, "f1": []})
    entry["f1"].append(pixel_f1(levels, paths["deformation"], THRESHOLDS_MM_YR[0]))
    score(areas, truth, THRESHOLDS_MM_YR, entry["levels"])


def report(results):
    """Markdown tables of ``results``."""
    lines = ["| method, level | recall 2-3 | 3-5 | 5-10 | 10+ mm/yr | areas | on deformation | precision |",
             "|---|---|---|---|---|---|---|---|"]
    for name, entry in results.items():
        for level, tally in entry["levels"].items():
            recalls = [f"{found}/{total} ({100 * found / total:.0f} %)" if total else "-"
                       for found, total in tally["bins"]]
            precision = 100 * tally["hits"] / tally["areas"] if tally["areas"] else float("nan")
            lines.append(f"| {name} >= {level:g} | " + " | ".join(recalls)
                         + f" | {tally['areas']} | {tally['hits']} | {precision:.0f} % |")
    lines += ["", "| method | pixel F1 at the lowest level | detection speed | area floors |", "|---|---|---|---|"]
    for name, entry in results.items():
        speed = (f"{entry['megapixels'] / entry['seconds']:.2f} MP/s" if entry.get("seconds") else "-")
        floor = ", ".join(f"{value:.3f}" for value in sorted(entry.get("floors", set()) - {None})) or "-"
        lines.append(f"| {name} | {np.mean(entry['f1']):.1f} % | {speed} | {floor} |")
    for name, entry in results.items():
        if entry.get("reliability"):
            lines += ["", f"Reliability, {name}: areas at {PROBABILITY_LEVELS[0]:g} by their highest probability",
                      "", "| highest P | areas | real | share real |", "|---|---|---|---|"]
            lines += reliability(entry["reliability"])
            if any(row[1] is not None for row in entry["reliability"]):
                lines += ["", f"Reliability, {name}: the same areas by their confidence (the model's area calibration)",
                          "", "| confidence | areas | real | share real |", "|---|---|---|---|"]
                lines += reliability(entry["reliability"], 1, CONFIDENCE_BINS)
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenes", type=int, default=12, help="scenes, half at 10 m and half at 50 m")
    parser.add_argument("--size", type=int, default=1536)
    parser.add_argument("--point-sources", type=int, default=8)
    parser.add_argument("--tunnels", type=int, default=2)
    parser.add_argument("--window-model", default=DEFAULT_MODEL_PATH, help="a window-family model file ('none': skip)")
    parser.add_argument("--dense-model", help="a dense-family model file (none: the window family only)")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--cache", help="keep the interpolated scenes in this folder (reused when there)")
    parser.add_argument("--prepare-only", action="store_true", help="make the scenes (into --cache) and stop")
    arguments = parser.parse_args()
    use_all_cores()
    models = {} if arguments.window_model == "none" else {"windows": load_model(arguments.window_model)}
    if arguments.dense_model:
        models["dense"] = load_model(arguments.dense_model)
    print(machine(), flush=True)
    results = {}
    with tempfile.TemporaryDirectory(prefix="insardefo-scenes-") as folder:
        for index in range(arguments.scenes):
            pixel = 10.0 if index < (arguments.scenes + 1) // 2 else 50.0
            name = f"scene{index}-{arguments.size}px-{pixel:g}m-{arguments.point_sources}p{arguments.tunnels}t"
            scene_folder = os.path.join(arguments.cache or folder, name)
            work_folder = os.path.join(folder, name)
            os.makedirs(scene_folder, exist_ok=True)
            os.makedirs(work_folder, exist_ok=True)
            paths = scene_files(scene_folder, index, arguments.size, pixel, arguments.point_sources,
                                arguments.tunnels)
            if not arguments.prepare_only:
                run_methods(paths, models, work_folder, results)
            print(f"scene {index + 1} of {arguments.scenes} ({pixel:g} m) done", flush=True)
    if not arguments.prepare_only:
        print(report(results))
    if arguments.json:
        with open(arguments.json, "w", encoding="utf-8") as handle:
            json.dump({str(key): value for key, value in results.items()}, handle, indent=2, default=str)


if __name__ == "__main__":
    main()
