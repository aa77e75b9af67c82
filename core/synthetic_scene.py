"""Sparse velocity maps with a known truth, for the demo, tests and benchmarks.

A scene is smooth deformation (Mogi sources) plus turbulent atmosphere
(section II-B covariance), sampled unevenly like persistent scatterers (dense
towns, roads, sparse fields) and corrupted by spike noise (the nugget).
"""
import os
from dataclasses import dataclass

import numpy as np
from osgeo import gdal, ogr, osr

from .atmosphere import DEFAULT_A_RANGE, DEFAULT_B_RANGE, turbulent_atmosphere
from .mogi import POISSON_RATIO, mogi_displacement

NUGGET = 0.8  # mm^2/yr^2: sill (1.5-2.9) minus a (0.7-1.8), section II-B
OUTLIER_FRACTION = 0.01  # share of measurements hit by large spikes
OUTLIER_RANGE = (5.0, 15.0)  # mm/yr, magnitude of those spikes
URBAN_DENSITY, ROAD_DENSITY, RURAL_DENSITY = 0.45, 0.30, 0.02  # relative PS densities


@dataclass
class SparseScene:
    """``truth``: (H, W) noise-free deformation + atmosphere, mm/yr.
    ``sparse``: (H, W) measurements with spike noise, NaN where unmeasured, mm/yr.
    ``deformation``: (H, W) deformation alone, mm/yr."""

    truth: np.ndarray
    sparse: np.ndarray
    deformation: np.ndarray
    pixel_size: float


def _deformation(shape, pixel_size, rng):
    """Vertical velocity (mm/yr) of randomly placed Mogi sources, 3-15 mm/yr peaks."""
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]].astype(float)
    field = np.zeros(shape)
    for _ in range(max(1, round(shape[0] * shape[1] / 500 ** 2))):
        depth = rng.uniform(5, 40) * pixel_size
        peak_m = rng.uniform(3, 15) / 1000.0 * rng.choice([-1, 1])
        volume = peak_m * np.pi * depth ** 2 / (1 - POISSON_RATIO)
        centre_row, centre_col = rng.uniform(0, shape[0]), rng.uniform(0, shape[1])
        east = (cols - centre_col) * pixel_size
        north = (centre_row - rows) * pixel_size
        field += mogi_displacement(east, north, depth, volume)[2] * 1000.0
    return field


def _scatterer_density(shape, pixel_size, measured_fraction, rng):
    """Per-pixel probability of holding a persistent scatterer, mean ``measured_fraction``."""
    towns = turbulent_atmosphere(shape, pixel_size, 1.0, 1000.0 / (30 * pixel_size), rng)[0]
    density = np.where(towns > np.quantile(towns, 0.85), URBAN_DENSITY, RURAL_DENSITY)
    for _ in range(max(1, (shape[0] + shape[1]) // 200)):
        start, end = rng.uniform(0, 1, 2) * shape, rng.uniform(0, 1, 2) * shape
        steps = int(np.hypot(*(end - start))) + 1
        line = np.linspace(start, end, steps).astype(int).clip(0, np.array(shape) - 1)
        density[line[:, 0], line[:, 1]] = np.maximum(density[line[:, 0], line[:, 1]], ROAD_DENSITY)
    return np.clip(density * measured_fraction / density.mean(), 0.0, 0.95)


def _spike_noise(count, rng):
    """Nugget noise with a heavy tail of large spikes, mm/yr."""
    noise = rng.normal(0.0, np.sqrt(NUGGET), count)
    spikes = rng.random(count) < OUTLIER_FRACTION
    noise[spikes] += rng.uniform(*OUTLIER_RANGE, spikes.sum()) * rng.choice([-1, 1], spikes.sum())
    return noise


def make_sparse_scene(height, width, pixel_size=10.0, measured_fraction=0.10, seed=0):
    """A (height, width) scene at ``pixel_size`` metres with about ``measured_fraction`` measured."""
    rng = np.random.default_rng(seed)
    shape = (height, width)
    deformation = _deformation(shape, pixel_size, rng)
    a, b = rng.uniform(*DEFAULT_A_RANGE), rng.uniform(*DEFAULT_B_RANGE)
    truth = deformation + turbulent_atmosphere(shape, pixel_size, a, b, rng)[0]
    measured = rng.random(shape) < _scatterer_density(shape, pixel_size, measured_fraction, rng)
    sparse = np.full(shape, np.nan)
    sparse[measured] = truth[measured] + _spike_noise(int(measured.sum()), rng)
    return SparseScene(truth.astype(np.float32), sparse.astype(np.float32),
                       deformation.astype(np.float32), float(pixel_size))


def _write_raster(path, array, geotransform, srs):
    dataset = gdal.GetDriverByName("GTiff").Create(
        path, array.shape[1], array.shape[0], 1, gdal.GDT_Float32,
        ["TILED=YES", "COMPRESS=DEFLATE", "PREDICTOR=3"])
    dataset.SetGeoTransform(geotransform)
    dataset.SetProjection(srs.ExportToWkt())
    band = dataset.GetRasterBand(1)
    band.SetNoDataValue(float("nan"))
    band.WriteArray(array)
    dataset = None


def _write_points(path, scene, x_min, y_max, srs):
    rows, cols = np.nonzero(np.isfinite(scene.sparse))
    source = ogr.GetDriverByName("GPKG").CreateDataSource(path)
    layer = source.CreateLayer("measurements", srs, ogr.wkbPoint)
    layer.CreateField(ogr.FieldDefn("velocity", ogr.OFTReal))
    definition = layer.GetLayerDefn()
    layer.StartTransaction()
    for row, col in zip(rows, cols):
        feature = ogr.Feature(definition)
        feature.SetField("velocity", float(scene.sparse[row, col]))
        point = ogr.Geometry(ogr.wkbPoint)
        point.AddPoint_2D(x_min + (col + 0.5) * scene.pixel_size, y_max - (row + 0.5) * scene.pixel_size)
        feature.SetGeometry(point)
        layer.CreateFeature(feature)
    layer.CommitTransaction()
    source = None


def write_scene(scene, directory, x_min=400000.0, y_max=300000.0, epsg=27700, with_points=True):
    """Write truth and sparse GeoTIFFs and (``with_points``) a GeoPackage of the measurements.

    Returns ``{"truth", "sparse", "points"}`` paths; the point layer is
    "measurements" with a "velocity" field (mm/yr), one point per measured
    pixel centre.
    """
    os.makedirs(directory, exist_ok=True)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    geotransform = (x_min, scene.pixel_size, 0.0, y_max, 0.0, -scene.pixel_size)
    paths = {name: os.path.join(directory, f"{name}.tif") for name in ("truth", "sparse")}
    paths["points"] = os.path.join(directory, "points.gpkg")
    _write_raster(paths["truth"], scene.truth, geotransform, srs)
    _write_raster(paths["sparse"], scene.sparse, geotransform, srs)
    if with_points:
        if os.path.exists(paths["points"]):
            os.remove(paths["points"])
        _write_points(paths["points"], scene, x_min, y_max, srs)
    else:
        del paths["points"]
    return paths


def rmse(result_path, truth_path):
    """Root-mean-square error (mm/yr) of a result raster over its valid cells."""
    result = gdal.Open(result_path).ReadAsArray().astype(float)
    truth = gdal.Open(truth_path).ReadAsArray().astype(float)
    valid = np.isfinite(result)
    return float(np.sqrt(np.mean((result[valid] - truth[valid]) ** 2)))
