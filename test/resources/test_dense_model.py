"""The bundled dense detector: small, calibrated, and on a map it finds a source and leaves stable ground alone."""
import os

import numpy as np
import pytest
from osgeo import gdal, ogr

from insar_deformation_detector.core.detection.areas import contour_areas
from insar_deformation_detector.core.detection.dense_detection import detect_dense_raster
from insar_deformation_detector.core.learning.dense_network import INPUT_CHANNEL_NAMES
from insar_deformation_detector.core.learning.model_file import DENSE_MODEL_PATH, load_model
from insar_deformation_detector.core.synthesis.atmosphere import turbulent_atmosphere
from insar_deformation_detector.core.synthesis.mogi import mogi_displacement

from helpers import read_raster, write_raster

PEAK_MM_YR = 12.0  # subsidence at the bowl's centre


@pytest.fixture(scope="module")
def model():
    return load_model(DENSE_MODEL_PATH)


def bowl_map(size, pixel_m, seed):
    """(size, size) velocity (mm/yr) at ``pixel_m``: a Mogi bowl of PEAK_MM_YR in turbulent atmosphere,
    and its (size, size) truth mask |deformation| >= 1 mm/yr. The ground is 6 km across at any pixel size."""
    centre = size * pixel_m / 2.0
    coordinates = (np.arange(size) + 0.5) * pixel_m - centre
    east, north = np.meshgrid(coordinates, coordinates)
    vertical = mogi_displacement(east, north, 150.0, 1.0)[2]
    deformation = -PEAK_MM_YR * vertical / vertical.max()
    atmosphere = turbulent_atmosphere((size, size), pixel_m, 1.0, 1.0, np.random.default_rng(seed))[0]
    return (deformation + atmosphere).astype(np.float32), np.abs(deformation) >= 1.0


def test_the_dense_model_is_small_calibrated_and_made_for_this_plugin(model):
    assert os.path.getsize(DENSE_MODEL_PATH) < 10e6
    metadata = model.metadata
    assert model.family == "dense" and model.classes == ["no_deformation", "point_source", "tunnel"]
    assert metadata["input_channels"] == INPUT_CHANNEL_NAMES and metadata["status"] == "complete"
    assert (metadata["pixel_size_m"], metadata["coarsest_pixel_m"]) == (20.0, 100.0)
    assert 0.2 <= metadata["temperature"] <= 5.0
    assert 0.5 <= metadata["area_confidence"]["min_peak"] < 1.0  # its area floor, from the calibration maps


def test_a_source_is_found_and_stable_ground_left_below_one_half(model, tmp_path):
    velocity, truth = bowl_map(300, 20.0, seed=1)
    path = write_raster(str(tmp_path / "bowl.tif"), velocity, geotransform=(400000.0, 20.0, 0.0, 300000.0, 0.0, -20.0))
    detect_dense_raster(path, model, str(tmp_path / "p.tif"))
    probability = read_raster(str(tmp_path / "p.tif"))[0]
    assert probability[truth].max() >= 0.9
    assert np.mean(probability[~truth] < 0.5) >= 0.99  # ground the bowl moves by less than 1 mm/yr


def test_a_50_m_map_and_the_same_ground_at_10_m_give_overlapping_areas(model, tmp_path):
    fine, _ = bowl_map(600, 10.0, seed=2)
    coarse = fine.reshape(120, 5, 120, 5).mean(axis=(1, 3))
    shapes = {}
    for name, values, pixel in (("fine", fine, 10.0), ("coarse", coarse, 50.0)):
        path = write_raster(str(tmp_path / f"{name}.tif"), values,
                            geotransform=(400000.0, pixel, 0.0, 300000.0, 0.0, -pixel))
        probability = str(tmp_path / f"{name}_p.tif")
        detect_dense_raster(path, model, probability)
        areas = str(tmp_path / f"{name}.gpkg")
        contour_areas(probability, [0.5], areas, probability_path=probability)
        source = ogr.Open(areas)
        shapes[name] = [feature.GetGeometryRef().Clone() for feature in source.GetLayerByName("areas")]
    assert shapes["fine"] and shapes["coarse"]
    overlap = max(a.Intersection(b).GetArea() / a.Union(b).GetArea() for a in shapes["fine"] for b in shapes["coarse"])
    assert overlap >= 0.5  # intersection over union of the bowl's areas


def test_a_map_of_100_x_80_px_is_padded_and_its_source_found(model, tmp_path):
    velocity, truth = bowl_map(100, 60.0, seed=3)
    path = write_raster(str(tmp_path / "small.tif"), velocity[:80],
                        geotransform=(400000.0, 60.0, 0.0, 300000.0, 0.0, -60.0))
    summary = detect_dense_raster(path, model, str(tmp_path / "p.tif"))
    probability = read_raster(str(tmp_path / "p.tif"))[0]
    assert summary["model_grid"] == (80, 100) and probability.shape == (80, 100)
    assert probability[truth[:80]].max() >= 0.9
    assert gdal.Open(str(tmp_path / "p.tif")).GetGeoTransform()[1] == 60.0
