"""Tests of core/synthesis/synthetic_scene.py: scenes with a known truth."""
import os

import numpy as np
import pytest
from osgeo import gdal, ogr
from scipy.ndimage import maximum_filter

from insar_deformation_detector.core.common.errors import Cancelled, InputError
from insar_deformation_detector.core.common.grid import GridSpec
from insar_deformation_detector.core.synthesis import synthetic_scene
from insar_deformation_detector.core.synthesis.synthetic_scene import GAP_PX, make_scene, write_scene_outputs

from helpers import rasterized_truth, read_raster, srs, write_raster

GRID = GridSpec(x_min=400000.0, y_max=400000.0, pixel_size=10.0, width=300, height=300)
SETTINGS = dict(seed=3, point_sources=4, tunnels=1)
LOS_MAX = 15.0  # mm/yr: SourceRanges().los_mm_yr, section III-B


@pytest.fixture(scope="module")
def scene():
    return make_scene(GRID, **SETTINGS)


@pytest.fixture(scope="module")
def scene_files(scene, tmp_path_factory):
    folder = tmp_path_factory.mktemp("syntheticscene")
    paths = {name: str(folder / f"{name}{'.gpkg' if name in ('points', 'truth') else '.tif'}")
             for name in synthetic_scene.OUTPUTS}
    return write_scene_outputs(scene, paths, srs(27700).ExportToWkt())


def test_same_seed_gives_the_same_scene_and_another_seed_another(scene):
    again = make_scene(GRID, **SETTINGS)
    for name in ("sparse", "truth", "deformation", "footprints", "source_ids"):
        np.testing.assert_array_equal(getattr(again, name), getattr(scene, name))
    assert again.sources == scene.sources
    other = make_scene(GRID, **dict(SETTINGS, seed=4))
    assert not np.array_equal(other.deformation, scene.deformation)


def test_all_requested_sources_are_placed_with_their_records(scene):
    assert [record["source_id"] for record in scene.sources] == [1, 2, 3, 4, 5]
    assert [record["type"] for record in scene.sources] == ["tunnel"] + ["point_source"] * 4
    for record in scene.sources:
        assert record["sense"] in ("subsidence", "uplift")
        if record["type"] == "point_source":
            assert 3.0 <= record["depth_m"] <= 80.0
            assert 10 ** 0.3 <= abs(record["volume_m3"]) <= 1000.0
            assert np.sign(record["volume_m3"]) == (1 if record["sense"] == "uplift" else -1)
            assert GRID.x_min < record["centre_x"] < GRID.x_min + 3000
            assert GRID.y_max - 3000 < record["centre_y"] < GRID.y_max
        else:
            assert record["sense"] == "subsidence" and record["peak_los_mm_yr"] < 0
            assert 30.0 <= record["l_sag_m_min"] <= record["l_sag_m_max"] <= 80.0


def test_sources_do_not_overlap(scene):
    for record in scene.sources:
        own = scene.footprints == record["source_id"]
        assert own.any()
        near = maximum_filter(own, size=2 * GAP_PX + 1)
        assert set(np.unique(scene.footprints[near])) <= {0, record["source_id"]}
    assert (scene.deformation[scene.footprints == 0] == 0).all()


def test_rates_lie_in_the_papers_range(scene):
    assert np.abs(scene.deformation).max() <= LOS_MAX + 1e-4
    for record in scene.sources:
        assert abs(record["peak_los_mm_yr"]) <= LOS_MAX + 1e-9
        if record["type"] == "point_source":  # never in the faded window edge: the full drawn peak
            assert abs(record["peak_los_mm_yr"]) >= 2.0 - 1e-9


def test_measured_share_and_noise_are_sensible(scene):
    measured = np.isfinite(scene.sparse)
    assert 0.005 <= measured.mean() <= 0.6
    assert scene.details["measurements"] == measured.sum()
    noise = scene.sparse[measured] - scene.truth[measured]
    assert abs(noise.mean()) < 0.1 and 0.3 < noise.std() < 1.5  # nugget 0.0-2.2 mm^2/yr^2
    atmosphere = scene.truth - scene.deformation
    assert 0.3 < atmosphere.std() < 3.0


def test_truth_polygons_cover_the_pixels_above_threshold_and_give_their_peak(scene, scene_files):
    np.testing.assert_array_equal(scene.source_ids > 0, np.abs(scene.deformation) > scene.threshold)
    burnt = rasterized_truth(scene_files["truth"], GRID)
    np.testing.assert_array_equal(burnt, scene.source_ids)
    source = ogr.Open(scene_files["truth"])  # keep the data source alive while its layer is in use
    layer = source.GetLayer("truth")
    assert layer.GetFeatureCount() == len(scene.sources)
    for feature in layer:
        inside = scene.deformation[burnt == feature["source_id"]]
        assert feature["peak_los_mm_yr"] == pytest.approx(inside[np.argmax(np.abs(inside))], rel=1e-6)
        assert feature["area_m2"] == pytest.approx(inside.size * GRID.pixel_size ** 2)
        assert feature.GetGeometryRef().GetArea() == pytest.approx(feature["area_m2"])


def test_a_source_below_the_threshold_keeps_its_feature_without_geometry(tmp_path):
    scene = make_scene(GRID, threshold=100.0, **SETTINGS)
    path = write_scene_outputs(scene, {"truth": str(tmp_path / "truth.gpkg")}, srs(27700).ExportToWkt())["truth"]
    source = ogr.Open(path)
    features = list(source.GetLayer("truth"))
    assert len(features) == len(scene.sources)
    assert all(feature.GetGeometryRef() is None and feature["area_m2"] == 0 for feature in features)


def test_written_rasters_and_points_hold_the_scene(scene, scene_files):
    for name, array in (("sparse", scene.sparse), ("deformation", scene.deformation),
                        ("noise_free", scene.truth)):
        values, info = read_raster(scene_files[name])
        np.testing.assert_array_equal(values, array.astype(float))
        assert info["geotransform"] == GRID.geotransform() and info["dtype"] == gdal.GDT_Float32
    source = ogr.Open(scene_files["points"])
    layer = source.GetLayer("measurements")
    assert layer.GetFeatureCount() == scene.details["measurements"]
    feature = layer.GetNextFeature()
    row, col = (int((GRID.y_max - feature.GetGeometryRef().GetY()) // 10),
                int((feature.GetGeometryRef().GetX() - GRID.x_min) // 10))
    assert feature["velocity"] == scene.sparse[row, col]


def test_scaled_counts_follow_the_area():
    big = GridSpec(0.0, 0.0, 10.0, 2000, 2000)
    assert synthetic_scene.scaled_count("point_source", big) == 44
    assert synthetic_scene.scaled_count("tunnel", big) == 8
    scene = make_scene(GridSpec(400000.0, 400000.0, 10.0, 600, 600), seed=1)
    assert scene.details["requested"] == {"point_source": 4, "tunnel": 1}
    assert make_scene(GRID, seed=1, point_sources=0, tunnels=0).sources == []


def test_a_full_scene_places_what_fits():
    scene = make_scene(GridSpec(0.0, 0.0, 10.0, 100, 100), seed=2, point_sources=60, tunnels=0)
    assert 0 < scene.details["placed"]["point_source"] < 60


def test_noise_map_values_become_the_noise_and_leave_the_sources_alone(scene, tmp_path):
    noise_map = write_raster(str(tmp_path / "noise.tif"), np.full((40, 50), 2.5))
    noisy = make_scene(GRID, noise_map=noise_map, **SETTINGS)
    np.testing.assert_array_equal(noisy.deformation, scene.deformation)
    measured = np.isfinite(noisy.sparse)
    np.testing.assert_allclose(noisy.sparse[measured] - noisy.truth[measured], 2.5, atol=1e-5)


@pytest.mark.parametrize("change, parameter", [
    ({"grid": GridSpec(0.0, 0.0, 10.0, 0, 300)}, "WIDTH"),
    ({"grid": GridSpec(0.0, 0.0, 10.0, 300, 20001)}, "HEIGHT"),
    ({"grid": GridSpec(0.0, 0.0, -10.0, 300, 300)}, "PIXEL_SIZE"),
    ({"grid": GridSpec(0.0, 0.0, 500.0, 300, 300)}, "PIXEL_SIZE"),  # sources invisible at 500 m
    ({"point_sources": -2}, "POINT_SOURCES"),
    ({"tunnels": -5}, "TUNNELS"),
    ({"threshold": 0.0}, "THRESHOLD"),
    ({"seed": -1}, "SEED"),
    ({"noise_map": "/nonexistent/noise.tif"}, "NOISE_MAP"),
])
def test_bad_settings_name_the_parameter(change, parameter):
    arguments = {"grid": GRID, **SETTINGS, **change}
    with pytest.raises(InputError) as caught:
        make_scene(arguments.pop("grid"), **arguments)
    assert str(caught.value).startswith(f"{parameter}: ")


def test_cancel_stops_generation_and_writing_without_files(scene, tmp_path):
    with pytest.raises(Cancelled):
        make_scene(GRID, is_cancelled=lambda: True, **SETTINGS)
    paths = {"sparse": str(tmp_path / "sparse.tif"), "points": str(tmp_path / "points.gpkg")}
    calls = []
    with pytest.raises(Cancelled):
        write_scene_outputs(scene, paths, srs(27700).ExportToWkt(),
                            is_cancelled=lambda: calls.append(1) or len(calls) > 2)
    assert os.listdir(tmp_path) == []
