"""Tests of core/detection/areas.py: areas traced per level."""
import numpy as np
import pytest
from osgeo import ogr

from insar_deformation_detector.core.common.errors import InputError
from insar_deformation_detector.core.detection.areas import contour_areas, parse_levels
from insar_deformation_detector.core.detection.raster_detection import KIND_SCALE

from helpers import write_raster


def _probability_and_velocity(tmp_path):
    """A 60 x 80 probability map with two blobs and a velocity map: subsidence under one, uplift under the other."""
    probability = np.zeros((60, 80))
    probability[10:20, 10:20] = 0.8  # 100 px at 0.8
    probability[12:16, 12:16] = 0.95  # 16 px of them at 0.95
    probability[40:50, 50:70] = 0.6  # 200 px at 0.6
    velocity = np.full((60, 80), 1.0)
    velocity[10:20, 10:20] = -4.0
    velocity[14, 14] = -9.0
    velocity[40:50, 50:70] = 6.0
    measured = np.where(np.arange(60 * 80).reshape(60, 80) % 4 == 0, velocity, np.nan)
    kinds = np.stack([probability * 0.9, probability * 0.1]) * KIND_SCALE  # point source the likelier kind
    return [write_raster(str(tmp_path / f"{name}.tif"), array)
            for name, array in (("p", probability), ("v", velocity), ("m", measured), ("k", kinds))]


def test_areas_are_traced_per_level_with_their_attributes(tmp_path):
    probability, velocity, measured, kinds = _probability_and_velocity(tmp_path)
    output = str(tmp_path / "areas.gpkg")
    counts = contour_areas(probability, (0.5, 0.75, 0.9), output, probability_path=probability,
                           velocity_path=velocity, measurements_path=measured, kinds_path=kinds,
                           kind_names=["point_source", "tunnel"], confidence=lambda peak: peak - 0.1)
    assert counts == {0.5: 2, 0.75: 1, 0.9: 1}
    source = ogr.Open(output)
    layer = source.GetLayerByName("areas")
    rows = sorted((feature.items() for feature in layer), key=lambda row: (row["level"], row["area_m2"]))
    bowl, dome = rows[0], rows[1]
    assert bowl["level"] == 0.5 and bowl["area_m2"] == pytest.approx(100 * 100.0)  # 100 px of 10 m x 10 m
    assert bowl["max_probability"] == pytest.approx(0.95) and bowl["mean_probability"] == pytest.approx(
        (84 * 0.8 + 16 * 0.95) / 100)
    assert bowl["sense"] == "subsidence" and bowl["extreme_velocity_mm_yr"] == pytest.approx(-9.0)
    assert bowl["mean_velocity_mm_yr"] == pytest.approx((99 * -4.0 - 9.0) / 100)
    assert bowl["measurements"] == 20 and bowl["class"] == "point_source"
    assert bowl["confidence"] == pytest.approx(0.85)  # of its highest probability, 0.95
    assert dome["area_m2"] == pytest.approx(200 * 100.0) and dome["sense"] == "uplift"
    assert dome["extreme_velocity_mm_yr"] == pytest.approx(6.0) and dome["measurements"] == 50
    assert [(row["level"], row["area_m2"]) for row in rows[2:]] == [(0.75, 10000.0), (0.9, 1600.0)]
    assert layer.GetSpatialRef().GetAuthorityCode(None) == "27700"


def test_areas_peaking_below_the_floor_are_not_drawn(tmp_path):
    probability = _probability_and_velocity(tmp_path)[0]
    output = str(tmp_path / "areas.gpkg")
    counts = contour_areas(probability, (0.5, 0.75), output, probability_path=probability, min_peak=0.7)
    assert counts == {0.5: 1, 0.75: 1}  # the blob peaking at 0.6 is gone at 0.5; the one at 0.95 stays
    source = ogr.Open(output)
    rows = [feature.items() for feature in source.GetLayerByName("areas")]
    assert all(row["max_probability"] == pytest.approx(0.95) for row in rows)
    assert contour_areas(probability, (0.5,), str(tmp_path / "all.gpkg"), probability_path=probability,
                         min_peak=0.0) == {0.5: 2}


def test_attributes_without_their_rasters_are_null(tmp_path):
    probability = _probability_and_velocity(tmp_path)[0]
    output = str(tmp_path / "areas.gpkg")
    contour_areas(probability, (0.5,), output)
    source = ogr.Open(output)
    row = next(iter(source.GetLayerByName("areas"))).items()
    assert row["area_m2"] > 0 and row["max_probability"] is None and row["sense"] is None
    assert row["confidence"] is None
    assert row["measurements"] is None and row["class"] is None


def test_levels_are_checked_and_sorted():
    assert parse_levels("0.9, 0.5,0.75") == (0.5, 0.75, 0.9)
    for text, words in (("0.5,1.5", "(0, 1]"), ("0", "(0, 1]"), ("half", "comma-separated"), ("", "at least")):
        with pytest.raises(InputError) as error:
            parse_levels(text)
        assert error.value.parameter == "THRESHOLDS" and words in error.value.message


def test_areas_of_a_map_in_degrees_are_in_square_metres(tmp_path):
    probability = np.zeros((40, 40))
    probability[10:20, 10:30] = 0.9  # 200 px of 0.0004 x 0.0004 degrees at about 52 degrees north
    path = write_raster(str(tmp_path / "p.tif"), probability, geotransform=(-1.5, 0.0004, 0.0, 52.01, 0.0, -0.0004),
                        epsg=4326)
    output = str(tmp_path / "areas.gpkg")
    assert contour_areas(path, (0.5,), output) == {0.5: 1}
    source = ogr.Open(output)
    feature = next(iter(source.GetLayerByName("areas")))
    # 200 pixels of about 44.5 m x 27.4 m (0.0004 degrees north-south and east-west at 52 degrees)
    assert feature["area_m2"] == pytest.approx(200 * 44.52 * 27.47, rel=0.01)
