"""Which sources a dense model misses on the scene benchmark, and whether the interpolated map still shows them.

    .venv/bin/python bench/scene_misses.py --dense-model resources/models/dense.pt --cache bench/data/scenes

Reads the scenes bench/scenes.py cached in --cache (run it with --prepare-only first). For every
source with a truth polygon peaking at --min-peak mm/yr or more, it detects with the model, traces
the areas at 0.5 as detect draws them (above the model's floor at the scene's working pixel size),
and reports the source as found when an area touches its polygon (as bench/scenes.py does), next
to what the model and the data held over it:

* highest P: the model's highest probability inside the source's bounding box (a miss below 0.5
  was not seen; one above it was lost to the floor);
* footprint: pixels of the map where the source moves the ground by at least half its peak;

* measured: pixels of the sparse raster measured where the source moves the ground by at least
  half its peak (its strong half);
* contrast: the largest |velocity - median of the ring around| of the interpolated map inside
  the source's bounding box, mm/yr (the ring: RING_PX pixels around the box): what the detector,
  which sees only the interpolated map, could see of the source;
* measured contrast: the SUPPORT-th largest |measurement - median of the ring's measurements|
  inside the box, mm/yr: what the measurements themselves show (the SUPPORT-th, so that one or
  two spikes do not count, as thresholding asks for 4 measurements).

The summary gives the share found per contrast bin (of the interpolated map, and of the
measurements for the sources missed), and per pixel size; then the false areas at 0.5 (touching
no truth polygon) per pixel size: their size, highest probability and distance to a source.
"""
import argparse
import glob
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "pluginpath"))

from osgeo import gdal, ogr

from insar_deformation_detector.core.detection.areas import contour_areas
from insar_deformation_detector.core.detection.dense_detection import detect_dense_raster
from insar_deformation_detector.core.learning.area_confidence import area_floor
from insar_deformation_detector.core.learning.model_file import load_model
from insar_deformation_detector.core.learning.training import use_all_cores

from machine import machine

RING_PX = 60
SUPPORT = 4  # measurements that must show a contrast (insardefo:threshold's MIN_MEASUREMENTS)
CONTRAST_BINS = (0.0, 1.0, 2.0, 4.0, float("inf"))  # mm/yr
MISSED_P_BINS = (0.0, 0.2, 0.5, 0.75, 1.0001)


def pixel_box(geometry, transform, shape):
    """(row0, row1, col0, col1) of ``geometry``'s bounding box on a north-up grid, clipped to ``shape``."""
    min_x, max_x, min_y, max_y = geometry.GetEnvelope()
    col0, col1 = int((min_x - transform[0]) / transform[1]), int((max_x - transform[0]) / transform[1]) + 1
    row0, row1 = int((max_y - transform[3]) / transform[5]), int((min_y - transform[3]) / transform[5]) + 1
    return max(row0, 0), min(row1, shape[0]), max(col0, 0), min(col1, shape[1])


def scene_rows(folder, model, work, min_peak):
    """([dict] of the scene in ``folder``'s sources, [dict] of its false areas at 0.5); see the module."""
    dense_path = os.path.join(folder, "dense.tif")
    probability, areas_path = os.path.join(work, "p.tif"), os.path.join(work, "a.gpkg")
    summary = detect_dense_raster(dense_path, model, probability,
                                  measurements_path=os.path.join(folder, "sparse.tif"))
    contour_areas(probability, (0.5,), areas_path, probability_path=probability,
                  min_peak=area_floor(model.metadata, summary["working_pixel_m"]))
    probabilities = gdal.Open(probability).ReadAsArray().astype(float)
    areas_source = ogr.Open(areas_path)
    areas = [(feature.GetGeometryRef().Clone(), feature.GetField("max_probability"))
             for feature in areas_source.GetLayer(0)]
    grid = gdal.Open(dense_path)
    transform, dense = grid.GetGeoTransform(), grid.ReadAsArray().astype(float)
    sparse = gdal.Open(os.path.join(folder, "sparse.tif")).ReadAsArray().astype(float)
    deformation = gdal.Open(os.path.join(folder, "deformation.tif")).ReadAsArray().astype(float)
    pixel_m = transform[1]
    truth = ogr.Open(os.path.join(folder, "truth.gpkg"))
    polygons = [feature.GetGeometryRef().Clone() for feature in truth.GetLayerByName("truth")
                if feature.GetGeometryRef() is not None and not feature.GetGeometryRef().IsEmpty()]
    false = [{"pixel_m": pixel_m, "pixels": area.GetArea() / pixel_m ** 2, "peak": peak,
              "distance_px": min((area.Distance(polygon) for polygon in polygons), default=np.inf) / pixel_m}
             for area, peak in areas if not any(area.Intersects(polygon) for polygon in polygons)]
    rows = []
    for feature in truth.GetLayerByName("truth"):
        geometry, peak = feature.GetGeometryRef(), abs(feature.GetField("peak_los_mm_yr"))
        if geometry is None or geometry.IsEmpty() or peak < min_peak:
            continue
        row0, row1, col0, col1 = pixel_box(geometry, transform, dense.shape)
        ring = dense[max(row0 - RING_PX, 0):row1 + RING_PX, max(col0 - RING_PX, 0):col1 + RING_PX]
        inside = dense[row0:row1, col0:col1]
        contrast = float(np.nanmax(np.abs(inside - np.nanmedian(ring)))) if np.isfinite(inside).any() else 0.0
        sparse_ring = sparse[max(row0 - RING_PX, 0):row1 + RING_PX, max(col0 - RING_PX, 0):col1 + RING_PX]
        measured = sparse[row0:row1, col0:col1]
        measured = np.sort(np.abs(measured[np.isfinite(measured)] - np.nanmedian(sparse_ring)))
        strong = np.abs(deformation[row0:row1, col0:col1]) >= 0.5 * peak
        rows.append({"scene": os.path.basename(folder), "pixel_m": pixel_m, "kind": feature.GetField("type"),
                     "peak": peak, "footprint": int(strong.sum()),
                     "highest_p": float(np.nanmax(probabilities[row0:row1, col0:col1], initial=0.0)),
                     "measured": int((strong & np.isfinite(sparse[row0:row1, col0:col1])).sum()),
                     "contrast": contrast, "measured_contrast": float(measured[-SUPPORT]) if measured.size >= SUPPORT
                     else 0.0, "found": any(area.Intersects(geometry) for area, _ in areas)})
    return rows, false


def false_summary(false):
    """Markdown table of the false areas at 0.5 (touching no truth polygon) per pixel size."""
    lines = ["| pixel | false areas at 0.5 | median size px | median highest P | median distance to a source px "
             "| within 20 px |", "|---|---:|---:|---:|---:|---:|"]
    for pixel in sorted({area["pixel_m"] for area in false}):
        chosen = [area for area in false if area["pixel_m"] == pixel]
        lines.append(f"| {pixel:g} m | {len(chosen)} | {np.median([a['pixels'] for a in chosen]):.0f} | "
                     f"{np.median([a['peak'] for a in chosen]):.2f} | "
                     f"{np.median([a['distance_px'] for a in chosen]):.0f} | "
                     f"{sum(a['distance_px'] < 20 for a in chosen)} |")
    return "\n".join(lines)


def summary(rows):
    """Markdown tables: found per contrast bin, and per pixel size."""
    lines = ["| contrast, mm/yr | in the interpolated map: sources | found | share | missed sources by their "
             "measured contrast |", "|---|---:|---:|---:|---:|"]
    missed = [row for row in rows if not row["found"]]
    for low, high in zip(CONTRAST_BINS[:-1], CONTRAST_BINS[1:]):
        chosen = [row for row in rows if low <= row["contrast"] < high]
        found = sum(row["found"] for row in chosen)
        share = f"{100 * found / len(chosen):.0f} %" if chosen else "-"
        shown = sum(low <= row["measured_contrast"] < high for row in missed)
        lines.append(f"| {low:g}-{high:g} | {len(chosen)} | {found} | {share} | {shown} |")
    lines += ["", "| highest P of the missed | sources |", "|---|---:|"]
    for low, high in zip(MISSED_P_BINS[:-1], MISSED_P_BINS[1:]):
        lines.append(f"| {low:g}-{min(high, 1.0):g} | {sum(low <= row['highest_p'] < high for row in missed)} |")
    lines += ["", "| pixel | sources | found | of the missed: none measured in the strong half |",
              "|---|---:|---:|---:|"]
    for pixel in sorted({row["pixel_m"] for row in rows}):
        chosen = [row for row in rows if row["pixel_m"] == pixel]
        lost = [row for row in chosen if not row["found"]]
        lines.append(f"| {pixel:g} m | {len(chosen)} | {len(chosen) - len(lost)} | "
                     f"{sum(row['measured'] == 0 for row in lost)} of {len(lost)} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dense-model", required=True)
    parser.add_argument("--cache", default=os.path.join("bench", "data", "scenes"))
    parser.add_argument("--min-peak", type=float, default=3.0, help="mm/yr")
    arguments = parser.parse_args()
    use_all_cores()
    model = load_model(arguments.dense_model)
    folders = sorted(folder for folder in glob.glob(os.path.join(arguments.cache, "scene*"))
                     if os.path.isfile(os.path.join(folder, "dense.tif")))
    if not folders:
        parser.error(f"no cached scenes in {arguments.cache}: run bench/scenes.py --prepare-only first")
    print(machine(), flush=True)
    rows, false = [], []
    with tempfile.TemporaryDirectory(prefix="insardefo-misses-") as work:
        for folder in folders:
            sources, areas = scene_rows(folder, model, work, arguments.min_peak)
            rows, false = rows + sources, false + areas
    print("| scene | kind | peak mm/yr | footprint px | measured in the strong half | contrast mm/yr "
          "| measured contrast | highest P | found |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    for row in sorted(rows, key=lambda row: (row["found"], row["contrast"])):
        print(f"| {row['scene']} | {row['kind']} | {row['peak']:.1f} | {row['footprint']} | {row['measured']} | "
              f"{row['contrast']:.1f} | {row['measured_contrast']:.1f} | {row['highest_p']:.2f} | "
              f"{'yes' if row['found'] else 'no'} |")
    print()
    print(summary(rows))
    print()
    print(false_summary(false))


if __name__ == "__main__":
    main()
