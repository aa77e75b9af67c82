"""The paper's baseline: deformation where the raw velocity passes a threshold (section IV-C).

Measurements whose |velocity| reaches a threshold (3, 4.5 and 5 mm/yr for
slow, medium and fast deformation) are dilated by an 18-pixel square to
join the sparse pixels into areas (one measurement covers 180 m x 180 m at
10 m, the paper's "32k m^2"), and a 3 x 3 median filter trims the
outlines. The result is a level raster: at each pixel the highest threshold
reached (0 where none), which core.detection.areas traces like a probability map;
areas with fewer than MIN_MEASUREMENTS measurements at their level are
spike noise and are dropped there.
"""
import numpy as np
from scipy.ndimage import maximum_filter, median_filter

from ..common.errors import Cancelled, InputError
from ..common.raster_io import (
    OUTPUT_OPTIONS,
    PACKED_SCRATCH_OPTIONS,
    atomic_outputs,
    create_like,
    open_band,
    read_window,
)
from ..common.value_checks import VELOCITY, check_band_values

THRESHOLDS_MM_YR = (3.0, 4.5, 5.0)  # section IV-C: slow, medium and fast deformation
DILATION_PX = 18  # section IV-C: dilation joining sparse pixels
MEDIAN_PX = 3  # section IV-C: median filter against spiky noise
MIN_MEASUREMENTS = 4  # section IV-C: an area holds at least 4 velocity points
TILE_PX = 2048


def level_block(velocity, thresholds, dilation=DILATION_PX):
    """(rows, cols) float32: the highest threshold (mm/yr) each pixel's dilated area reaches, else 0.

    ``velocity``: (rows, cols) mm/yr with NaN where unmeasured.
    """
    speed = np.abs(velocity)
    levels = np.zeros(velocity.shape, dtype=np.float32)
    for threshold in sorted(thresholds):
        with np.errstate(invalid="ignore"):
            reached = speed >= threshold
        covered = median_filter(maximum_filter(reached, size=dilation), size=MEDIAN_PX)
        levels[covered] = threshold
    return levels


def threshold_raster(velocity_path, levels_path, measurements_path, thresholds=THRESHOLDS_MM_YR,
                     dilation=DILATION_PX, band=1, progress=None, is_cancelled=None):
    """Write the level raster and the measurements of a velocity GeoTIFF (mm/yr, NaN = unmeasured).

    ``levels_path``: float32, the highest threshold reached after dilation
    and median filtering (0: none). ``measurements_path``: float32, the
    input band's velocities (NaN where unmeasured), the support core.detection.areas
    counts against a level. Both on the input grid, in tiles with halos
    (equal to the untiled result).
    """
    report = progress or (lambda fraction, message: None)
    if not 1 <= dilation <= 200:
        raise InputError("DILATION", f"must lie in [1, 200] pixels, got {dilation}")
    dataset, source = open_band(velocity_path, band)
    height, width = dataset.RasterYSize, dataset.RasterXSize
    check_band_values(source, height, width, "INPUT", VELOCITY, "NODATA", is_cancelled)
    halo = dilation // 2 + MEDIAN_PX  # reach of the dilation and the median filter
    tiles = [(row, col) for row in range(0, height, TILE_PX) for col in range(0, width, TILE_PX)]
    with atomic_outputs(levels_path, measurements_path) as ((levels_staged, measurements_staged), _):
        levels = create_like(levels_staged, dataset, OUTPUT_OPTIONS, nodata=None)
        measurements = create_like(measurements_staged, dataset, PACKED_SCRATCH_OPTIONS)
        try:
            for number, (row, col) in enumerate(tiles):
                if is_cancelled and is_cancelled():
                    raise Cancelled()
                report(number / len(tiles), f"Thresholding tile {number + 1} of {len(tiles)}")
                rows, cols = min(TILE_PX, height - row), min(TILE_PX, width - col)
                top, left = max(0, row - halo), max(0, col - halo)
                bottom, right = min(height, row + rows + halo), min(width, col + cols + halo)
                velocity = read_window(source, (top, left, bottom - top, right - left))
                core = (slice(row - top, row - top + rows), slice(col - left, col - left + cols))
                levels.GetRasterBand(1).WriteArray(level_block(velocity, thresholds, dilation)[core], col, row)
                measurements.GetRasterBand(1).WriteArray(velocity[core].astype(np.float32), col, row)
        finally:
            del levels, measurements  # close the GeoTIFFs before they are moved in place or removed
    report(1.0, "Done")
    return {"width": width, "height": height, "tiles": len(tiles)}
