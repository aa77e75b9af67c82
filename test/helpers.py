"""Small file writers and readers for the tests (plain GDAL/OGR), and a wait on Qt events."""
import ctypes.util
import hashlib
import os

import numpy as np
from osgeo import gdal, ogr, osr

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# RMSE (mm/yr) against the noise-free truth of the conftest scene (100 x 120, seed 7, 10 %
# measured, spike noise), by METHOD index. Measured when written: matrix completion 0.90,
# Delaunay 1.08, from the raster and from the points alike; the truth's own spread is 3.1.
# The bounds keep a margin over those.
RMSE_BOUND = {0: 1.3, 1: 1.5}

# GSL's reference CBLAS, which QGIS's programs load before Python on Linux; None where it is not installed
GSL_CBLAS = ctypes.util.find_library("gslcblas")


def srs(epsg):
    if epsg is None:
        return None
    reference = osr.SpatialReference()
    reference.ImportFromEPSG(epsg)
    reference.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return reference


def write_points(path, rows, epsg=27700, field_type=ogr.OFTReal, field="velocity", multipoint=False):
    """GeoPackage layer "points" from ``rows`` of (x, y, value) or (((x, y), ...), value) for multipoints."""
    if os.path.exists(path):
        os.remove(path)
    source = ogr.GetDriverByName("GPKG").CreateDataSource(path)
    layer = source.CreateLayer("points", srs(epsg), ogr.wkbMultiPoint if multipoint else ogr.wkbPoint)
    layer.CreateField(ogr.FieldDefn(field, field_type))
    for row in rows:
        feature = ogr.Feature(layer.GetLayerDefn())
        if multipoint:
            parts, value = row
            geometry = ogr.Geometry(ogr.wkbMultiPoint)
            for x, y in parts:
                point = ogr.Geometry(ogr.wkbPoint)
                point.AddPoint_2D(x, y)
                geometry.AddGeometry(point)
        else:
            x, y, value = row
            geometry = ogr.Geometry(ogr.wkbPoint)
            geometry.AddPoint_2D(x, y)
        if value is not None:
            feature.SetField(field, value)
        feature.SetGeometry(geometry)
        layer.CreateFeature(feature)
    source = None
    return path


def write_raster(path, array, geotransform=(400000.0, 10.0, 0.0, 300000.0, 0.0, -10.0), epsg=27700,
                 nodata=float("nan")):
    array = np.asarray(array, dtype=np.float32)
    bands = array[None] if array.ndim == 2 else array
    dataset = gdal.GetDriverByName("GTiff").Create(path, bands.shape[2], bands.shape[1], bands.shape[0],
                                                   gdal.GDT_Float32)
    dataset.SetGeoTransform(geotransform)
    if epsg is not None:
        dataset.SetProjection(srs(epsg).ExportToWkt())
    for index, band in enumerate(bands, start=1):
        if nodata is not None:
            dataset.GetRasterBand(index).SetNoDataValue(nodata)
        dataset.GetRasterBand(index).WriteArray(band)
    dataset = None
    return path


def read_raster(path):
    """(array float64 with NaN nodata, dataset info dict)."""
    dataset = gdal.Open(path)
    band = dataset.GetRasterBand(1)
    array = band.ReadAsArray().astype(float)
    nodata = band.GetNoDataValue()
    if nodata is not None and not np.isnan(nodata):
        array[array == nodata] = np.nan
    info = {"geotransform": dataset.GetGeoTransform(), "size": (dataset.RasterYSize, dataset.RasterXSize),
            "dtype": band.DataType, "nodata": nodata, "wkt": dataset.GetProjection(),
            "driver": dataset.GetDriver().ShortName}
    return array, info


def rmse(result, truth):
    valid = np.isfinite(result)
    return float(np.sqrt(np.mean((result[valid] - truth[valid]) ** 2)))


def smooth_velocity(size, seed):
    """(size, size) float32 mm/yr: 32-px blocks of a few mm/yr and a subsiding bowl 30 px wide."""
    rng = np.random.default_rng(seed)
    coarse = rng.normal(0.0, 2.0, (size // 32 + 2, size // 32 + 2))
    field = np.kron(coarse, np.ones((32, 32)))[:size, :size]
    rows, cols = np.mgrid[:size, :size]
    bowl = -8.0 * np.exp(-((rows - size / 2) ** 2 + (cols - size / 3) ** 2) / (2 * 30.0 ** 2))
    return (field + bowl).astype(np.float32)


def sparse_bowl(path, measured_share, seed):
    """GeoTIFF at ``path`` of a 400 x 330 px map at 10 m: a 12 mm/yr bowl on a ramp, ``measured_share``
    of its pixels measured with 0.5 mm/yr of noise, NaN elsewhere."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[:400, :330]
    velocity = 0.01 * cols - 12.0 * np.exp(-((rows - 200) ** 2 + (cols - 160) ** 2) / (2 * 25.0 ** 2))
    measured = rng.random(velocity.shape) < measured_share
    return write_raster(path, np.where(measured, velocity + rng.normal(0, 0.5, velocity.shape), np.nan))


def file_hash(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def tree_hashes(directory):
    """{relative path: sha256} of every file under ``directory``."""
    hashes = {}
    for folder, _, files in os.walk(directory):
        for name in files:
            path = os.path.join(folder, name)
            hashes[os.path.relpath(path, directory)] = file_hash(path)
    return hashes


def interpolated_scene(folder, size, seed, point_sources, tunnels):
    """A synthetic scene at 10 m with wide point sources: paths of its sparse, truth and MC-dense files."""
    from insar_deformation_detector.core.common.grid import GridSpec
    from insar_deformation_detector.core.interpolation.raster_interpolation import interpolate_raster
    from insar_deformation_detector.core.synthesis.deformation_sources import WIDE_POINT_SOURCES
    from insar_deformation_detector.core.synthesis.synthetic_scene import make_scene, write_scene_outputs

    scene = make_scene(GridSpec(400000.0, 300000.0, 10.0, size, size), seed=seed, point_sources=point_sources,
                       tunnels=tunnels, ranges=WIDE_POINT_SOURCES)
    paths = {"sparse": str(folder / "sparse.tif"), "truth": str(folder / "truth.gpkg")}
    write_scene_outputs(scene, paths, srs(27700).ExportToWkt())
    paths["dense"] = str(folder / "dense.tif")
    interpolate_raster(paths["sparse"], paths["dense"])
    return paths


def area_rows(path):
    """Attribute dicts of the features of a GeoPackage's "areas" layer."""
    source = ogr.Open(path)
    return [feature.items() for feature in source.GetLayerByName("areas")]


def rasterized_truth(path, grid):
    """(H, W) int array of the truth polygons' source_id burnt onto ``grid`` (a GridSpec; 0 outside)."""
    target = gdal.GetDriverByName("MEM").Create("", grid.width, grid.height, 1, gdal.GDT_Int32)
    target.SetGeoTransform(grid.geotransform())
    source = ogr.Open(path)
    assert gdal.RasterizeLayer(target, [1], source.GetLayer("truth"), options=["ATTRIBUTE=source_id"]) == 0
    return target.ReadAsArray()


def wait_until(condition, seconds=120):
    """Process Qt events until ``condition()`` holds; False on timeout."""
    from qgis.PyQt.QtCore import QCoreApplication, QElapsedTimer

    timer = QElapsedTimer()
    timer.start()
    while not condition():
        if timer.elapsed() > seconds * 1000:
            return False
        QCoreApplication.processEvents()
    return True
