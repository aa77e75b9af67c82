"""Benchmark: detection speed (shared vs per-window evaluation) and detection against known sources.

    .venv/bin/python bench/detection.py                 # both parts, about 20 minutes on 2 cores
    .venv/bin/python bench/detection.py --part speed

Speed: a synthetic scene (--speed-size px square, 10 m) is interpolated by
matrix completion and classified with the bundled model by the shared
(fully convolutional) form at stride 32, by each window alone at stride 32
(the same windows), and by each window alone at the paper's stride 28.
Prints megapixels per second, the ratios, and the time the fastest path
would take on the paper's whole-UK map (98,504 x 68,504 px).

Truth: --scenes synthetic scenes (--size px square, 10 m, wide point
sources and tunnels of known position) go through matrix completion and
insardefo:detect's core (shared, and per window for the comparison), and
the raw measurements through insardefo:threshold's core; for each method:
sources found (recall), areas touching a source (precision) and the number
of areas, as in section IV-C. Also how the shared evaluation's areas and
the per-window evaluation's match (an area is matched when one of the
other's overlaps it with IoU >= 0.5) and which sources each finds.
"""
import argparse
import json
import os
import platform
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "pluginpath"))

from osgeo import ogr, osr

from insar_deformation_detector.core.common.grid import GridSpec
from insar_deformation_detector.core.detection.areas import contour_areas
from insar_deformation_detector.core.detection.raster_detection import DetectionSettings, detect_raster
from insar_deformation_detector.core.detection.scoring import geometries, is_matched, score_areas, sources_found
from insar_deformation_detector.core.detection.thresholding import THRESHOLDS_MM_YR, threshold_raster
from insar_deformation_detector.core.interpolation.raster_interpolation import interpolate_raster
from insar_deformation_detector.core.learning.model_file import DEFAULT_MODEL_PATH, load_model
from insar_deformation_detector.core.learning.training import use_all_cores
from insar_deformation_detector.core.synthesis.deformation_sources import WIDE_POINT_SOURCES
from insar_deformation_detector.core.synthesis.synthetic_scene import make_scene, write_scene_outputs

UK_PIXELS = 98504 * 68504  # section IV-C: the whole-UK velocity map
PROBABILITY_LEVELS = (0.5, 0.75, 0.9)


def scene_files(folder, size, seed, point_sources, tunnels):
    """Write a scene's sparse raster and truth, interpolate it; returns the paths."""
    scene = make_scene(GridSpec(400000.0, 400000.0, 10.0, size, size), seed=seed, point_sources=point_sources,
                       tunnels=tunnels, ranges=WIDE_POINT_SOURCES)
    reference = osr.SpatialReference()
    reference.ImportFromEPSG(27700)
    paths = {"sparse": os.path.join(folder, "sparse.tif"), "truth": os.path.join(folder, "truth.gpkg")}
    write_scene_outputs(scene, paths, reference.ExportToWkt())
    paths["dense"] = os.path.join(folder, "dense.tif")
    interpolate_raster(paths["sparse"], paths["dense"])
    return paths


def timed_detection(model, dense, output, **settings):
    started = time.perf_counter()
    detect_raster(dense, model, output, settings=DetectionSettings(**settings))
    return time.perf_counter() - started


def speed(model, arguments, folder):
    paths = scene_files(folder, arguments.speed_size, seed=1, point_sources=-1, tunnels=-1)
    megapixels = arguments.speed_size ** 2 / 1e6
    runs = {"shared, stride 32": dict(evaluation="shared", stride=32),
            "per window, stride 32": dict(evaluation="per_window", stride=32),
            "per window, stride 28 (paper)": dict(evaluation="per_window", stride=28)}
    rates = {}
    for name, settings in runs.items():
        seconds = timed_detection(model, paths["dense"], os.path.join(folder, "p.tif"), device=arguments.device,
                                  **settings)
        rates[name] = megapixels / seconds
        print(f"  {name}: {seconds:.1f} s, {rates[name]:.4f} MP/s", flush=True)
    fastest = rates["shared, stride 32"]
    result = {"size_px": arguments.speed_size, "megapixels_per_second": rates,
              "speedup_same_windows": fastest / rates["per window, stride 32"],
              "speedup_over_paper_stride": fastest / rates["per window, stride 28 (paper)"],
              "uk_map_hours": UK_PIXELS / 1e6 / fastest / 3600}
    print(f"  shared is {result['speedup_same_windows']:.1f}x faster than per window at the same stride, "
          f"{result['speedup_over_paper_stride']:.1f}x faster than per window at stride 28; "
          f"whole UK: {result['uk_map_hours']:.1f} h", flush=True)
    return result


def _peaks(path, level):
    """(geometry, max_probability) of the areas at ``level``."""
    source = ogr.Open(path)  # the layer lives only as long as its data source
    return [(feature.GetGeometryRef().Clone(), feature.GetField("max_probability"))
            for feature in source.GetLayerByName("areas") if abs(feature.GetField("level") - level) < 1e-9]


def area_agreement(shared, per_window, truth_path, level):
    """Areas of each evaluation at ``level``, how many the other matches, how high the unmatched ones
    reach above the level (max_probability - level), and the sources each finds."""
    a, b = _peaks(shared, level), _peaks(per_window, level)
    a_areas, b_areas = [geometry for geometry, _ in a], [geometry for geometry, _ in b]
    a_matched = [is_matched(area, b_areas) for area in a_areas]
    b_matched = [is_matched(area, a_areas) for area in b_areas]
    unmatched = [peak - level for (_, peak), matched in zip(a + b, a_matched + b_matched) if not matched]
    truth = geometries(truth_path, "truth")
    return {"shared_areas": len(a), "per_window_areas": len(b),
            "shared_matched": sum(a_matched), "per_window_matched": sum(b_matched),
            "unmatched_peak_above_level": max(unmatched, default=None),
            "shared_found": sources_found(a_areas, truth), "per_window_found": sources_found(b_areas, truth)}


def truth(model, arguments, folder):
    totals = {}
    agreement = []
    for index in range(arguments.scenes):
        scene_folder = os.path.join(folder, f"scene{index}")
        os.makedirs(scene_folder, exist_ok=True)
        paths = scene_files(scene_folder, arguments.size, seed=100 + index, point_sources=arguments.point_sources,
                            tunnels=arguments.tunnels)
        outputs = {}
        for evaluation in ("shared", "per_window") if arguments.compare else ("shared",):
            probability = os.path.join(scene_folder, f"p_{evaluation}.tif")
            detect_raster(paths["dense"], model, probability,
                          settings=DetectionSettings(evaluation=evaluation, device=arguments.device))
            outputs[evaluation] = os.path.join(scene_folder, f"areas_{evaluation}.gpkg")
            contour_areas(probability, PROBABILITY_LEVELS, outputs[evaluation], probability_path=probability,
                          velocity_path=paths["dense"], measurements_path=paths["sparse"])
        if arguments.compare:
            agreement.append({level: area_agreement(outputs["shared"], outputs["per_window"], paths["truth"], level)
                              for level in PROBABILITY_LEVELS})
        levels, measurements = (os.path.join(scene_folder, name) for name in ("levels.tif", "measured.tif"))
        threshold_raster(paths["sparse"], levels, measurements)
        outputs["threshold"] = os.path.join(scene_folder, "areas_threshold.gpkg")
        contour_areas(levels, THRESHOLDS_MM_YR, outputs["threshold"], velocity_path=measurements,
                      measurements_path=measurements, support_path=measurements, min_support=4)
        for method, levels_of in (("cnn", PROBABILITY_LEVELS), ("threshold", THRESHOLDS_MM_YR)):
            for level in levels_of:
                score = score_areas(outputs["shared" if method == "cnn" else "threshold"], paths["truth"], level)
                total = totals.setdefault(f"{method} >= {level:g}", {"sources": 0, "found": 0, "areas": 0, "hits": 0})
                for key in total:
                    total[key] += score[key]
        print(f"  scene {index + 1} of {arguments.scenes} done", flush=True)
    for total in totals.values():
        total["recall"] = total["found"] / total["sources"] if total["sources"] else float("nan")
        total["precision"] = total["hits"] / total["areas"] if total["areas"] else float("nan")
    return {"scenes": arguments.scenes, "size_px": arguments.size, "scores": totals,
            "shared_against_per_window_areas": agreement}


def print_truth(result):
    print(f"\n{result['scenes']} scenes of {result['size_px']} x {result['size_px']} px at 10 m\n")
    print("| method, level | sources found | recall | areas | areas on a source | precision |")
    print("|---|---|---|---|---|---|")
    for name, score in result["scores"].items():
        print(f"| {name} | {score['found']} of {score['sources']} | {100 * score['recall']:.0f} % | {score['areas']} "
              f"| {score['hits']} | {100 * score['precision']:.0f} % |")
    if result["shared_against_per_window_areas"]:
        print("\nShared against per-window areas, per scene (areas matched at IoU >= 0.5 of areas; "
              "highest peak of an unmatched area above the level; the same sources found):")
        print("| level | " + " | ".join(f"scene {index + 1}" for index in range(result["scenes"])) + " |")
        print("|---|" + "---|" * result["scenes"])
        for level in PROBABILITY_LEVELS:
            cells = []
            for scene in result["shared_against_per_window_areas"]:
                row = scene[level]
                same = "yes" if row["shared_found"] == row["per_window_found"] else "no"
                peak = row["unmatched_peak_above_level"]
                cells.append(f"shared {row['shared_matched']}/{row['shared_areas']}, per window "
                             f"{row['per_window_matched']}/{row['per_window_areas']}; "
                             f"{'none' if peak is None else f'+{peak:.3f}'}; {same}")
            print(f"| >= {level:g} | " + " | ".join(cells) + " |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("speed", "truth", "both"), default="both")
    parser.add_argument("--model", default=DEFAULT_MODEL_PATH)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--speed-size", type=int, default=1024, help="pixels per side of the speed scene")
    parser.add_argument("--scenes", type=int, default=3)
    parser.add_argument("--size", type=int, default=1536, help="pixels per side of each truth scene")
    parser.add_argument("--point-sources", type=int, default=4, help="point sources per truth scene")
    parser.add_argument("--tunnels", type=int, default=1, help="tunnels per truth scene")
    parser.add_argument("--no-compare", dest="compare", action="store_false",
                        help="skip the per-window run on the truth scenes")
    parser.add_argument("--json", help="also write the results to this file")
    arguments = parser.parse_args()
    use_all_cores()
    model = load_model(arguments.model, device=arguments.device)
    print(f"Model {arguments.model}; {platform.processor() or platform.machine()}, {os.cpu_count()} cores", flush=True)
    results = {}
    with tempfile.TemporaryDirectory(prefix="insardefo-bench-") as folder:
        if arguments.part in ("speed", "both"):
            results["speed"] = speed(model, arguments, folder)
        if arguments.part in ("truth", "both"):
            results["truth"] = truth(model, arguments, folder)
            print_truth(results["truth"])
    if arguments.json:
        with open(arguments.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2, default=float)


if __name__ == "__main__":
    main()
