"""Demo, the plugin's main job: a velocity map -> qgis_process -> where the ground deforms.

1. ``qgis_process run insardefo:syntheticscene``: a synthetic Sentinel-1
   velocity map with known point sources and a tunnel, sampled like
   persistent scatterers (build/demo/points.gpkg, layer "measurements",
   field "velocity" in mm/yr) with its truth polygons;
2. ``qgis_process run insardefo:detect`` on the point layer: matrix
   completion (the paper's Algorithm 1), then the bundled dense detector
   (a U-Net that labels every pixel) -> probability.tif, areas.gpkg and the
   dense velocity.tif;
3. renders map.png with QGIS: velocity, probability and the detection
   areas' outlines over the hatched truth; prints the sources found and the
   files.

Run it with ``make demo`` (or ``.venv/bin/python scripts/demo.py`` once set up).
"""
import argparse
import gc
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import qgis_process_runner  # noqa: E402

sys.path.insert(0, qgis_process_runner.ensure_plugin_path())

from insar_deformation_detector.core.detection.scoring import score_areas  # noqa: E402

LEVELS = (0.5, 0.75, 0.9)


def run_step(qgis_process, label, algorithm, parameters):
    """One qgis_process run; prints its time and returns its results (None on failure)."""
    started = time.time()
    completed, results = qgis_process.run(algorithm, parameters)
    if completed.returncode != 0:
        print(f"{label}: qgis_process failed (exit {completed.returncode}):\n{completed.stdout}\n{completed.stderr}",
              file=sys.stderr)
        return None
    print(f"  {label}: {time.time() - started:.1f} s through qgis_process", flush=True)
    return results


def render_map(paths, output):
    """map.png: velocity, probability, areas and truth, styled as in the plugin."""
    from qgis.core import QgsApplication

    application = QgsApplication([], False)
    application.initQgis()
    try:
        _render(paths, output)
    finally:
        gc.collect()  # the layers must go before QGIS does
        application.exitQgis()


def _render(paths, output):
    from qgis.core import QgsRasterLayer, QgsVectorLayer

    from insar_deformation_detector.ui.layer_styles import style_areas, style_probability, style_truth, style_velocity
    from insar_deformation_detector.ui.map_image import render_png

    velocity = QgsRasterLayer(paths["velocity"], "velocity")
    probability = QgsRasterLayer(paths["probability"], "probability")
    areas = QgsVectorLayer(f"{paths['areas']}|layername=areas", "areas", "ogr")
    truth = QgsVectorLayer(f"{paths['truth']}|layername=truth", "truth", "ogr")
    style_velocity(velocity)
    style_probability(probability, LEVELS[0])
    style_areas(areas)
    style_truth(truth)
    render_png([areas, truth, probability, velocity], output, extent=velocity.extent())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=1024, help="scene side in pixels of 10 m (default: 1024)")
    parser.add_argument("--point-sources", type=int, default=4)
    parser.add_argument("--tunnels", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=os.path.join(qgis_process_runner.ROOT, "build", "demo"))
    args = parser.parse_args(argv)
    os.makedirs(args.output, exist_ok=True)
    paths = {name: os.path.join(args.output, file) for name, file in (
        ("sparse", "sparse.tif"), ("points", "points.gpkg"), ("deformation", "deformation.tif"),
        ("truth", "truth.gpkg"), ("velocity", "velocity.tif"), ("probability", "probability.tif"),
        ("areas", "areas.gpkg"), ("map", "map.png"))}

    print(f"Full chain on a {args.size} x {args.size} px synthetic scene (10 m pixels, EPSG:27700):", flush=True)
    with qgis_process_runner.QgisProcess() as qgis_process:
        scene = run_step(qgis_process, "synthetic scene", "insardefo:syntheticscene", {
            "WIDTH": args.size, "HEIGHT": args.size, "POINT_SOURCES": args.point_sources, "TUNNELS": args.tunnels,
            "SOURCE_SIZES": 1, "SEED": args.seed, "OUTPUT_SPARSE": paths["sparse"],
            "OUTPUT_POINTS": paths["points"], "OUTPUT_DEFORMATION": paths["deformation"],
            "OUTPUT_TRUTH": paths["truth"]})
        if scene is None:
            return 1
        detection = run_step(qgis_process, "interpolation and detection", "insardefo:detect", {
            "INPUT": paths["points"], "FIELD": "velocity", "PIXEL_SIZE": 10, "OUTPUT_PROBABILITY": paths["probability"],
            "OUTPUT_AREAS": paths["areas"], "OUTPUT_VELOCITY": paths["velocity"]})
        if detection is None:
            return 1
    scores = {level: score_areas(paths["areas"], paths["truth"], level) for level in LEVELS}
    render_map(paths, paths["map"])  # last: leaving QGIS unloads GDAL's drivers

    print(f"\n{scene['SOURCES']} sources, {scene['MEASUREMENTS']} measurements; detection areas against the truth:")
    for level, score in scores.items():
        print(f"  probability >= {level:g}: {score['areas']} areas, {score['hits']} on a source; "
              f"{score['found']} of {score['sources']} sources found")
    print(f"\nFiles in {args.output}:")
    for name in ("points", "truth", "velocity", "probability", "areas", "map"):
        print(f"  {paths[name]}")
    print("\nThe detection from a shell (see README.md, 'qgis_process'):\n"
          f"  qgis_process.bin run insardefo:detect -- INPUT={paths['points']} FIELD=velocity PIXEL_SIZE=10 "
          f"OUTPUT_PROBABILITY={paths['probability']} OUTPUT_AREAS={paths['areas']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
