"""Benchmark: each numpy-heavy algorithm in a plain Python process and through qgis_process.bin, side by side.

Programs built on QGIS (the desktop, qgis_process) load QGIS's libraries
before Python starts; on Linux those link GSL, whose reference CBLAS then
serves NumPy's matrix products. Scripts, pytest and every other benchmark
here start Python first and never see that. This script runs the same
algorithm on the same input both ways:

* in-process: ``processing.run`` in this Python (NumPy loaded before QGIS,
  as in a PyQGIS script), timed around the call;
* qgis_process: ``qgis_process.bin run`` in a subprocess, the user's path;
  start-up (QGIS, the plugin, its imports) is taken out by subtracting the
  wall time of the same algorithm on a tiny input. The in-process run, too,
  comes after a run on the tiny input, so neither side counts imports.

    .venv/bin/python bench/in_qgis.py --size 1500 --repeats 3

With ``--repeats N`` each side runs N times and the shortest run counts: on a
shared machine single runs of a few seconds vary by up to 2x.

``--plugin-path DIR`` runs the copy of the plugin in DIR/insar_deformation_detector
instead (for example a worktree of an older commit, to measure before and after).
"""
import argparse
import json
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import qgis_process_runner  # noqa: E402
from machine import machine  # noqa: E402

TINY = 224  # pixels: one detection window, the smallest input every algorithm takes


def qgis_process_seconds(runner, algorithm, parameters, tiny_parameters, repeats=1):
    """(work, start-up) seconds of ``algorithm`` through qgis_process on ``parameters``.

    Runs tiny, then ``repeats`` times large and tiny; the start-up is the
    shortest run on ``tiny_parameters`` (negligible work), the work the
    shortest run on ``parameters`` less the start-up. Raises RuntimeError
    when a run fails.
    """
    walls = {"large": [], "tiny": []}
    for label, values in [("tiny", tiny_parameters)] + [("large", parameters), ("tiny", tiny_parameters)] * repeats:
        started = time.perf_counter()
        completed, _ = runner.run(algorithm, values, timeout=3600)
        walls[label].append(time.perf_counter() - started)
        if completed.returncode != 0:
            raise RuntimeError(f"{algorithm} failed through qgis_process:\n{completed.stdout}\n{completed.stderr}")
    start_up = min(walls["tiny"])
    return min(walls["large"]) - start_up, start_up


def write_inputs(folder, size):
    """Sparse and dense velocity rasters (mm/yr) of ``size`` and of TINY pixels; returns {name: path}."""
    from insar_deformation_detector.core.synthesis.synthetic_scene import make_sparse_scene, write_scene

    paths = {}
    for label, side in (("large", size), ("tiny", TINY)):
        scene = make_sparse_scene(side, side, measured_fraction=0.1, seed=1)
        written = write_scene(scene, os.path.join(folder, label), with_points=False)
        paths[f"{label}_sparse"], paths[f"{label}_dense"] = written["sparse"], written["truth"]
    return paths


def cases(paths, size, outputs):
    """(label, algorithm, parameters for the large input, parameters for the tiny one)."""
    def out(name):
        return os.path.join(outputs, name)

    def both(algorithm, label, make):
        return label, algorithm, make("large"), make("tiny")

    return [
        both("insardefo:interpolate", "interpolate (matrix completion)",
             lambda s: {"INPUT": paths[f"{s}_sparse"], "OUTPUT": out(f"{s}_dense.tif")}),
        both("insardefo:noisestats", "noisestats (20,000 points sampled)",
             lambda s: {"INPUT": paths[f"{s}_sparse"], "SAMPLE_SIZE": 20000 if s == "large" else 1000,
                        "OUTPUT_JSON": out(f"{s}_noise.json")}),
        both("insardefo:syntheticscene", "syntheticscene",
             lambda s: {"WIDTH": size if s == "large" else TINY, "HEIGHT": size if s == "large" else TINY,
                        "OUTPUT_SPARSE": out(f"{s}_scene.tif"), "OUTPUT_POINTS": out(f"{s}_points.gpkg"),
                        "OUTPUT_DEFORMATION": out(f"{s}_deformation.tif"), "OUTPUT_TRUTH": out(f"{s}_truth.gpkg")}),
        both("insardefo:threshold", "threshold (areas)",
             lambda s: {"INPUT": paths[f"{s}_sparse"], "OUTPUT_AREAS": out(f"{s}_threshold.gpkg")}),
        both("insardefo:detect", "detect (dense raster: CNN, areas)",
             lambda s: {"INPUT": paths[f"{s}_dense"], "OUTPUT_PROBABILITY": out(f"{s}_p_dense.tif"),
                        "OUTPUT_AREAS": out(f"{s}_areas_dense.gpkg")}),
        both("insardefo:detect", "detect (sparse raster: matrix completion, CNN, areas)",
             lambda s: {"INPUT": paths[f"{s}_sparse"], "OUTPUT_PROBABILITY": out(f"{s}_p_sparse.tif"),
                        "OUTPUT_AREAS": out(f"{s}_areas_sparse.gpkg")}),
        both("insardefo:synthesize", "synthesize (2 x 20 patches, workers)",
             lambda s: {"COUNT": 20 if s == "large" else 1, "KIND": 0, "OUTPUT": out(f"{s}_dataset")}),
    ]


def start_qgis():
    """A headless QgsApplication with Processing and the plugin's provider, in this Python."""
    from qgis.core import QgsApplication

    application = QgsApplication([], False)
    application.initQgis()
    sys.path.append("/usr/share/qgis/python/plugins")
    from processing.core.Processing import Processing

    Processing.initialize()
    import insar_deformation_detector

    plugin = insar_deformation_detector.classFactory(None)
    plugin.initProcessing()
    return application, plugin


def in_process_seconds(algorithm, parameters, tiny_parameters, repeats=1):
    """Shortest of ``repeats`` runs of ``processing.run`` on ``parameters`` in this Python, seconds.

    A run on ``tiny_parameters`` comes first: it pays the imports (PyTorch,
    the model), as qgis_process's start-up does.
    """
    import processing
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback

    seconds = []
    for values in [tiny_parameters] + [parameters] * repeats:
        started = time.perf_counter()
        processing.run(algorithm, values, context=QgsProcessingContext(), feedback=QgsProcessingFeedback())
        seconds.append(time.perf_counter() - started)
    return min(seconds[1:])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1500, help="side of the square test rasters, pixels")
    parser.add_argument("--only", help="run only the cases whose label contains this text")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each case on each side; the shortest counts")
    parser.add_argument("--plugin-path", help="folder holding the insar_deformation_detector plugin to run")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args()
    plugin_path = os.path.abspath(args.plugin_path) if args.plugin_path else qgis_process_runner.ensure_plugin_path()
    sys.path.insert(0, plugin_path)
    os.environ["QT_QPA_PLATFORM"] = "offscreen"

    application, plugin = start_qgis()
    results = []
    print(f"# {args.size} x {args.size} px rasters, 10 % measured; {machine()}")
    print(f"{'algorithm':55s} {'in-process':>11s} {'qgis_process':>13s} {'ratio':>6s}  (start-up)")
    with tempfile.TemporaryDirectory() as folder, \
            qgis_process_runner.QgisProcess(plugin_path=plugin_path) as runner:
        paths = write_inputs(folder, args.size)
        in_process_cases = cases(paths, args.size, _folder(folder, "in-process"))
        for (label, algorithm, large, tiny), (_, _, here_large, here_tiny) in zip(
                cases(paths, args.size, _folder(folder, "qgis_process")), in_process_cases):
            if args.only and args.only not in label:
                continue
            here = in_process_seconds(algorithm, here_large, here_tiny, args.repeats)
            there, start_up = qgis_process_seconds(runner, algorithm, large, tiny, args.repeats)
            results.append({"algorithm": label, "in_process_s": here, "qgis_process_s": there,
                            "ratio": there / here, "qgis_process_start_up_s": start_up})
            print(f"{label:55s} {here:10.1f}s {there:12.1f}s {there / here:6.2f}  ({start_up:.1f} s)", flush=True)
    plugin.unload()
    application.exitQgis()
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"machine": machine(), "size": args.size, "repeats": args.repeats, "results": results}, handle,
                      indent=2)


def _folder(parent, name):
    path = os.path.join(parent, name)
    os.makedirs(path)
    return path


if __name__ == "__main__":
    main()
