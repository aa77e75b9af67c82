"""Where persistent scatterers are measured: uneven sampling patterns (section III-B).

Real velocity maps are measured densely on buildings and infrastructure and
sparsely or not at all on fields, woods and water. The paper sub-samples its
synthetic images with point patterns taken from the real SatSense data; we
offer the same (:class:`MaskWindows`, random windows cut from a real
velocity raster) and, when no real layer is at hand, a generator of
comparable patterns (:func:`builtin_pattern`): towns as dense clusters,
roads and railways as dense lines, farmland sparsely measured and some
land (fields, woods, water) not at all.
"""
import numpy as np
from osgeo import gdal
from scipy.ndimage import gaussian_filter

from ..common.errors import InputError
from ..common.raster_io import checked, open_band, read_window, row_blocks

URBAN_COVER = (0.0, 0.4)  # share of a patch that is town
EMPTY_COVER = (0.1, 0.5)  # share with no scatterers at all (fields, woods, water)
URBAN_DENSITY = (0.3, 0.7)  # share of town pixels holding a scatterer
RURAL_DENSITY = (0.005, 0.05)  # share of the remaining countryside pixels
ROAD_DENSITY = (0.3, 0.8)  # share of pixels along roads and railways
ROADS = (0, 4)  # roads and railways crossing a patch
LAND_COVER_SCALE_M = (150.0, 600.0)  # size of towns and fields: smoothing length, metres
MIN_MEASURED_FRACTION = 0.005  # patterns (and mask windows) sparser than this are drawn again
WINDOW_ATTEMPTS = 200  # random windows tried before MASK_SOURCE is declared too sparse
PIXEL_SIZE_TOLERANCE = 1e-6  # relative: a raster this close to the pixel size is used as it is


def _land_cover(shape, pixel_size, rng):
    """(H, W) smooth random field, zero mean and unit variance, blobs of a few hundred metres."""
    sigma = rng.uniform(*LAND_COVER_SCALE_M) / pixel_size
    field = gaussian_filter(rng.standard_normal(shape), sigma, mode="wrap")
    return (field - field.mean()) / max(field.std(), np.finfo(float).tiny)


def _road(shape, rng):
    """Pixel (rows, cols) of a straight road or railway across the patch."""
    height, width = shape
    start = rng.uniform(0, 1, 2) * shape
    angle = rng.uniform(0, np.pi)
    reach = np.hypot(height, width)
    t = np.arange(-reach, reach, 0.5)
    rows = np.round(start[0] + t * np.sin(angle)).astype(int)
    cols = np.round(start[1] + t * np.cos(angle)).astype(int)
    keep = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
    return rows[keep], cols[keep]


def builtin_pattern(shape, pixel_size, rng):
    """A random (H, W) bool mask of measured pixels and a record of how it was made.

    ``pixel_size`` in metres sets the size of towns and fields. The measured
    share varies widely from patch to patch, as in real data.
    """
    for _ in range(WINDOW_ATTEMPTS):
        cover = _land_cover(shape, pixel_size, rng)
        urban_cover, empty_cover = rng.uniform(*URBAN_COVER), rng.uniform(*EMPTY_COVER)
        density = np.full(shape, rng.uniform(*RURAL_DENSITY))
        density[cover <= np.quantile(cover, empty_cover)] = 0.0
        density[cover > np.quantile(cover, 1.0 - urban_cover)] = rng.uniform(*URBAN_DENSITY)
        roads = int(rng.integers(ROADS[0], ROADS[1] + 1))
        for _ in range(roads):
            density[_road(shape, rng)] = rng.uniform(*ROAD_DENSITY)
        measured = rng.random(shape) < density
        if measured.mean() >= MIN_MEASURED_FRACTION:
            return measured, {"pattern": "built-in", "urban_cover": urban_cover,
                              "empty_cover": empty_cover, "roads": roads}
    raise RuntimeError("the built-in sampling pattern stayed empty")  # probability below 1e-100


class MaskWindows:
    """Random windows of a real velocity raster's measured cells.

    ``path``: a GDAL raster on the dataset's pixel size whose finite, non-nodata
    cells are measurements (insardefo:synthesize grids point layers and
    resamples rasters to that pixel size first). Opened lazily, so that an
    instance can be sent to worker processes.
    """

    def __init__(self, path, band=1):
        self.path = path
        self.band = band
        self._source = None

    def __getstate__(self):
        return {"path": self.path, "band": self.band, "_source": None}

    def _open(self):
        if self._source is None:
            self._source = open_band(self.path, self.band, parameter="MASK_SOURCE")
        return self._source

    def check(self, size, is_cancelled=None):
        """Raise InputError unless ``size`` x ``size`` windows with measurements can be cut."""
        dataset, band = self._open()
        height, width = dataset.RasterYSize, dataset.RasterXSize
        if height < size or width < size:
            raise InputError("MASK_SOURCE", f"is {width} x {height} pixels at the dataset's pixel size, "
                                            f"smaller than one {size} x {size} patch")
        self.draw(np.random.default_rng(0), size, is_cancelled)

    def draw(self, rng, size, is_cancelled=None):
        """A (size, size) bool mask from a random window and a record of where it came from."""
        dataset, band = self._open()
        height, width = dataset.RasterYSize, dataset.RasterXSize
        for _ in range(WINDOW_ATTEMPTS):
            row, col = int(rng.integers(0, height - size + 1)), int(rng.integers(0, width - size + 1))
            measured = np.isfinite(read_window(band, (row, col, size, size)))
            if measured.mean() >= MIN_MEASURED_FRACTION:
                return measured, {"pattern": "mask source", "window_row": row, "window_col": col}
        raise self._sparse_error(band, height, width, size, is_cancelled)

    @staticmethod
    def _sparse_error(band, height, width, size, is_cancelled):
        """The InputError for a source without usable windows: empty, or just too sparse."""
        measured = 0
        for row, rows in row_blocks(height):
            if is_cancelled is not None and is_cancelled():
                break
            measured += int(np.isfinite(read_window(band, (row, 0, rows, width))).sum())
        if measured == 0:
            return InputError("MASK_SOURCE", "has no measurements: every cell is nodata")
        return InputError("MASK_SOURCE", f"has {measured} measured cells, but {WINDOW_ATTEMPTS} random "
                                         f"{size} x {size} windows each held fewer than "
                                         f"{100 * MIN_MEASURED_FRACTION:g} % measured cells")


def mask_raster_at(path, band, pixel_size, destination):
    """A raster of ``path``'s measured cells on a grid of ``pixel_size`` (its CRS units).

    Returns (path, band) of ``path`` itself when its pixels already have that
    size; otherwise writes ``destination``, where a cell is measured when any
    measured source cell falls in it (GDAL's average ignores nodata), and
    returns (destination, 1).
    """
    dataset, _ = open_band(path, band, parameter="MASK_SOURCE")
    _, width, _, _, _, height = dataset.GetGeoTransform()
    if all(abs(abs(size) - pixel_size) <= PIXEL_SIZE_TOLERANCE * pixel_size for size in (width, height)):
        return path, band
    options = gdal.WarpOptions(format="GTiff", xRes=pixel_size, yRes=pixel_size, resampleAlg="average",
                               srcBands=[band], dstNodata=float("nan"), outputType=gdal.GDT_Float32,
                               creationOptions=["TILED=YES", "COMPRESS=DEFLATE"])
    checked(gdal.Warp(destination, dataset, options=options), f"resample {path} to {pixel_size} m pixels")
    return destination, 1
