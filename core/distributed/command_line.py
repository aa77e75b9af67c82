"""The whole chain without QGIS: measurements in, the deformation probability and its areas out.

    python -m insar_deformation_detector.core.distributed INPUT --probability P.tif [options]

For a login node or a batch job: the same interpolation, dense detection and areas as
``insardefo:detect``, one task per tile in this process, on a LocalCluster (--where local:N) or on
a running Dask cluster (--where tcp://host:port, or a scheduler file), resumable from
--run-folder. Needs numpy, SciPy, GDAL, PyTorch (and Dask for a cluster), never QGIS.
"""
import argparse
import os
import sys
import time

from ..common.errors import Cancelled, InputError
from ..common.raster_io import atomic_outputs
from ..interpolation.matrix_completion import MatrixCompletionSettings
from ..interpolation.point_files import grid_point_file, is_point_file
from .chain import detect_stage, interpolate_stage
from .where import parse_where

INTERPOLATIONS = ("auto", "matrix_completion", "delaunay", "none")
EXIT_INPUT_ERROR, EXIT_INTERRUPTED = 2, 130


def parser():
    """The command line's argument parser (its --help is the reference)."""
    described = argparse.ArgumentParser(
        prog="python -m insar_deformation_detector.core.distributed", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    described.add_argument("input", help="velocity raster (mm/yr; sparse or dense) or point file (GeoPackage, "
                                         "shapefile...) of persistent scatterers in a projected CRS")
    described.add_argument("--probability", required=True, help="output deformation probability GeoTIFF (0-1)")
    described.add_argument("--areas", help="output GeoPackage of detection areas (none: not traced)")
    described.add_argument("--velocity", help="also write the dense velocity that was classified (GeoTIFF, mm/yr)")
    described.add_argument("--model", help="dense model file (default: the bundled resources/models/dense.pt)")
    described.add_argument("--where", default="", help="empty: this process; local:N: a LocalCluster of N "
                                                        "workers; tcp://host:port or a scheduler file: a cluster")
    described.add_argument("--run-folder", help="keep finished tiles here; a run again with it resumes "
                                                "(default: a scratch folder, removed at the end)")
    described.add_argument("--interpolation", choices=INTERPOLATIONS, default="auto",
                           help="auto: points and sparse rasters by matrix completion, dense rasters as they are")
    described.add_argument("--thresholds", default="0.5,0.75,0.9", help="area levels of probability")
    described.add_argument("--min-peak", type=float, help="draw no area whose highest probability is below this "
                                                          "(default: the model's floor; 0: every area)")
    described.add_argument("--field", default="velocity", help="velocity field of a point file (mm/yr)")
    described.add_argument("--pixel-size", type=float, help="grid of a point file, in its CRS units (required "
                                                            "for points)")
    described.add_argument("--max-distance", type=float, default=20.0,
                           help="no interpolated value farther than this from a measurement (pixels)")
    described.add_argument("--tile-size", type=int, default=2500, help="interpolation tile side (pixels)")
    described.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="where the network runs")
    return described


def main(argv=None):
    """Run the chain; exit status 0, 2 for bad input (the message names the option) or 130 when interrupted."""
    arguments = parser().parse_args(argv)
    try:
        summary = run(arguments, _printer())
    except InputError as failure:
        print(f"error: {failure}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    except (Cancelled, KeyboardInterrupt):
        print("interrupted: no output was written; finished tiles stay in the run folder for a resume",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    print(summary)
    return 0


def run(arguments, progress=None):
    """The chain for parsed ``arguments``; returns a one-line summary."""
    from ..detection.areas import contour_areas, parse_levels
    from ..learning.area_confidence import confidence_function
    from ..learning.model_file import DENSE_MODEL_PATH, load_model

    started = time.time()
    report = progress or (lambda fraction, message: None)
    where = parse_where(arguments.where, "--where")
    levels = parse_levels(arguments.thresholds, "--thresholds")
    model = load_model(arguments.model or DENSE_MODEL_PATH, "--model", arguments.device)
    model.require_family("dense", "the command line")
    _check_min_peak(arguments)
    chain_folder = arguments.run_folder
    outputs = (arguments.probability, arguments.areas, arguments.velocity)
    with atomic_outputs(*outputs) as (staged, scratch):
        chain = chain_folder or os.path.join(scratch, "run")
        measurements = _measurements(arguments, scratch)
        velocity, method = measurements, _interpolation(arguments, measurements)
        if method != "none":
            measurements, velocity = interpolate_stage(
                measurements, chain, where, method=method,
                settings=MatrixCompletionSettings(), max_distance=arguments.max_distance,
                tile_size=arguments.tile_size, progress=lambda fraction, message: report(0.4 * fraction, message))
        if staged[2]:
            _copy(velocity, staged[2])
        kinds = os.path.join(scratch, "kinds.tif") if staged[1] else None  # the areas' class
        summary = detect_stage(velocity, model, staged[0], kinds, chain, where, measurements_path=measurements,
                               device=arguments.device,
                               progress=lambda fraction, message: report(0.4 + 0.5 * fraction, message))
        counts = {}
        if staged[1]:
            counts = contour_areas(staged[0], levels, staged[1], probability_path=staged[0], velocity_path=velocity,
                                   measurements_path=measurements, kinds_path=kinds, kind_names=model.classes[1:],
                                   confidence=confidence_function(model.metadata),
                                   min_peak=_min_peak(arguments, model, summary["working_pixel_m"]),
                                   progress=lambda fraction, message: report(0.9 + 0.1 * fraction, message))
    report(1.0, "Done")
    found = ", ".join(f"{count} area(s) at {level:g}" for level, count in counts.items()) or "no areas traced"
    return (f"{summary['width']} x {summary['height']} px, {summary['tiles']} detection tile(s) "
            f"({summary['tiles_found_done']} found done): {found}; {time.time() - started:.1f} s")


def _check_min_peak(arguments):
    """InputError naming --min-peak unless it is unset or lies in [0, 1]."""
    if arguments.min_peak is not None and not 0.0 <= arguments.min_peak <= 1.0:
        raise InputError("--min-peak", f"must lie in [0, 1], got {arguments.min_peak:g}")


def _min_peak(arguments, model, pixel_m):
    """--min-peak, else the model's floor at the working pixel size ``pixel_m`` (None: every area is drawn)."""
    from ..learning.area_confidence import area_floor

    return area_floor(model.metadata, pixel_m) if arguments.min_peak is None else arguments.min_peak


def _measurements(arguments, scratch):
    """The measurements raster of the input: the raster itself, or a point file gridded into ``scratch``."""
    if not os.path.exists(arguments.input):
        raise InputError("INPUT", f"{arguments.input} does not exist")
    if is_point_file(arguments.input):
        if arguments.interpolation == "none":
            raise InputError("--interpolation", "a point file must be interpolated; choose auto or a method")
        if arguments.pixel_size is None:
            raise InputError("--pixel-size", "is needed to grid a point file")
        return grid_point_file(arguments.input, arguments.field, arguments.pixel_size,
                               os.path.join(scratch, "points.tif"))
    return arguments.input


def _interpolation(arguments, measurements):
    """The interpolation method for the input: --interpolation, with auto resolved by the raster's look."""
    from ..interpolation.raster_interpolation import looks_sparse

    if arguments.interpolation != "auto":
        return arguments.interpolation
    return "matrix_completion" if looks_sparse(measurements) else "none"


def _copy(source, target):
    from osgeo import gdal

    from ..common.raster_io import OUTPUT_OPTIONS, checked

    checked(gdal.Translate(target, source, format="GTiff", creationOptions=OUTPUT_OPTIONS), f"write {target}")


def _printer():
    """A progress callback printing a line per new whole percent or message to standard error."""
    last = {}

    def report(fraction, message):
        line = f"[{100 * fraction:3.0f}%] {message}"
        if line != last.get("line"):
            last["line"] = line
            print(line, file=sys.stderr, flush=True)

    return report
