"""The whole chain on tiles: a sparse velocity raster to the dense map, the probability and the areas.

Each stage keeps a run folder of its own under the chain's (``interpolation/``, ``detection/``),
so a stopped chain resumes where it stopped. What one stage hands the next (the gridded
measurements, the interpolated map) is kept in the chain's folder too, and replaced only when
its content changed: a stage's manifest names its input file by size and modification time, so
an unchanged intermediate must keep its file for the next stage to resume.
"""
import os
import shutil

from ..common.staging import make_staging_folder
from ..interpolation.matrix_completion import MatrixCompletionSettings
from .detection_job import detect_dense_tiled
from .interpolation_job import interpolate_tiled
from .run_folder import file_sha256

MEASUREMENTS = "measurements.tif"
INTERPOLATED = "interpolated.tif"


def kept(path, folder, name):
    """``path`` moved to ``folder``/``name``, unless a file of the same bytes is there already (then
    ``path`` is removed and the old file, with its modification time, stays). Returns the kept path."""
    target = os.path.join(folder, name)
    if os.path.isfile(target) and file_sha256(target) == file_sha256(path):
        os.remove(path)
    else:
        os.replace(path, target)
    return target


def interpolate_stage(measurements_path, chain_folder, where, method="matrix_completion",
                      settings=MatrixCompletionSettings(), max_distance=20.0, tile_size=2500, progress=None,
                      is_cancelled=None):
    """(measurements, interpolated map) paths in ``chain_folder`` after interpolating ``measurements_path``."""
    os.makedirs(chain_folder, exist_ok=True)
    staging = make_staging_folder(chain_folder)
    try:
        measurements = kept(_copied(measurements_path, staging), chain_folder, MEASUREMENTS)
        dense = os.path.join(staging, INTERPOLATED)
        interpolate_tiled(measurements, dense, run_folder=os.path.join(chain_folder, "interpolation"), where=where,
                          method=method, settings=settings, max_distance=max_distance, tile_size=tile_size,
                          progress=progress, is_cancelled=is_cancelled)
        return measurements, kept(dense, chain_folder, INTERPOLATED)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def detect_stage(velocity_path, model, output_path, kinds_path, chain_folder, where, measurements_path=None,
                 device="cpu", progress=None, is_cancelled=None):
    """``detect_dense_tiled`` with its run folder in ``chain_folder``/detection."""
    return detect_dense_tiled(velocity_path, model, output_path, kinds_path,
                              run_folder=os.path.join(chain_folder, "detection"), where=where, device=device,
                              measurements_path=measurements_path, progress=progress, is_cancelled=is_cancelled)


def _copied(path, folder):
    """A GeoTIFF copy of band 1 of the raster ``path`` in ``folder`` (its bytes depend only on its content)."""
    from osgeo import gdal

    from ..common.raster_io import PACKED_SCRATCH_OPTIONS, checked

    target = os.path.join(folder, MEASUREMENTS)
    checked(gdal.Translate(target, path, format="GTiff", bandList=[1], creationOptions=PACKED_SCRATCH_OPTIONS),
            f"copy {path}")
    return target
