"""Tests of core/detection/dense_detection.py: any size, any pixel size, any CRS, no seams."""
import numpy as np
import pytest
from osgeo import gdal

from insar_deformation_detector.core.common.errors import InputError
from insar_deformation_detector.core.detection import dense_detection
from insar_deformation_detector.core.detection.dense_detection import detect_dense_raster, model_grid
from insar_deformation_detector.core.learning.dense_network import network_input
from insar_deformation_detector.core.learning.model_file import DEFAULT_MODEL_PATH, load_model

from helpers import read_raster, smooth_velocity, write_raster


@pytest.fixture(scope="module")
def velocity(tmp_path_factory):
    """A 300 x 260 px map at 10 m with a hole."""
    values = smooth_velocity(300, 1)[:, :260]
    values[50:60, 50:90] = np.nan
    return write_raster(str(tmp_path_factory.mktemp("dense") / "velocity.tif"), values)


def test_probabilities_land_on_the_input_grid_with_its_holes(dense_model, velocity, tmp_path):
    output, kinds = str(tmp_path / "p.tif"), str(tmp_path / "k.tif")
    summary = detect_dense_raster(velocity, load_model(dense_model), output, kinds)
    probability, info = read_raster(output)
    assert summary["model_grid"] == (150, 130) and info["size"] == (300, 260)
    assert info["geotransform"] == gdal.Open(velocity).GetGeoTransform()
    assert np.isnan(probability[50:60, 50:90]).all() and np.isfinite(probability).sum() == 300 * 260 - 400
    assert 0.0 <= np.nanmin(probability) and np.nanmax(probability) <= 1.0
    assert gdal.Open(kinds).RasterCount == 2


@pytest.mark.parametrize("architecture, tiles", [("unet_tiny", 12), ("unet_strided", 4)])
def test_the_tile_size_never_changes_the_answer(request, velocity, tmp_path, monkeypatch, architecture, tiles):
    model = load_model(request.getfixturevalue("strided_dense_model" if architecture == "unet_strided"
                                               else "dense_model"))
    assert model.metadata["architecture"] == architecture
    detect_dense_raster(velocity, model, str(tmp_path / "one.tif"))
    monkeypatch.setattr(dense_detection, "TILE_PX", 48)  # strided: 96
    assert detect_dense_raster(velocity, model, str(tmp_path / "many.tif"))["tiles"] == tiles
    whole, tiled = read_raster(str(tmp_path / "one.tif"))[0], read_raster(str(tmp_path / "many.tif"))[0]
    np.testing.assert_allclose(whole, tiled, atol=1e-5)


def test_a_map_smaller_than_a_tile_is_padded_and_one_under_16_px_refused(dense_model, tmp_path):
    model = load_model(dense_model)
    small = write_raster(str(tmp_path / "small.tif"), smooth_velocity(100, 2)[:80])
    assert detect_dense_raster(small, model, str(tmp_path / "p.tif"))["model_grid"] == (40, 50)
    tiny = write_raster(str(tmp_path / "tiny.tif"), smooth_velocity(100, 2)[:12, :40])
    with pytest.raises(InputError, match="INPUT: is 40 x 12 pixels"):
        detect_dense_raster(tiny, model, str(tmp_path / "q.tif"))


def test_a_geographic_map_is_sized_in_metres_at_its_latitude(tmp_path):
    # 0.0009 degrees: 100 m north-south, 50 m east-west at 60 degrees north
    path = write_raster(str(tmp_path / "wgs84.tif"), smooth_velocity(100, 3)[:80],
                        geotransform=(10.0, 0.0009, 0.0, 60.036, 0.0, -0.0009), epsg=4326)
    assert model_grid(gdal.Open(path), 20.0) == (400, 250)


def test_a_window_model_is_refused_naming_model(velocity, tmp_path):
    with pytest.raises(InputError, match="MODEL: .* is a windows model; dense detection needs a dense model"):
        detect_dense_raster(velocity, load_model(DEFAULT_MODEL_PATH), str(tmp_path / "p.tif"))


@pytest.mark.parametrize("pixel, working", [(5.0, 20.0), (50.0, 50.0), (200.0, 100.0)])
def test_a_map_is_seen_at_its_own_pixel_size_held_to_the_models_range(dense_model, tmp_path, pixel, working):
    path = write_raster(str(tmp_path / "map.tif"), smooth_velocity(100, 4)[:80],
                        geotransform=(400000.0, pixel, 0.0, 300000.0, 0.0, -pixel))
    summary = detect_dense_raster(path, load_model(dense_model), str(tmp_path / "p.tif"))
    assert summary["working_pixel_m"] == working
    assert summary["model_grid"] == (round(80 * pixel / working), round(100 * pixel / working))


def test_a_map_on_the_models_own_grid_keeps_its_holes_and_grid(dense_model, tmp_path):
    values = smooth_velocity(100, 5)[:80]
    values[20:30, 40:70] = np.nan
    path = write_raster(str(tmp_path / "map.tif"), values, geotransform=(400000.0, 50.0, 0.0, 300000.0, 0.0, -50.0))
    output, kinds = str(tmp_path / "p.tif"), str(tmp_path / "k.tif")
    summary = detect_dense_raster(path, load_model(dense_model), output, kinds)
    probability, info = read_raster(output)
    assert summary["model_grid"] == (80, 100) and info["geotransform"] == gdal.Open(path).GetGeoTransform()
    assert np.isnan(probability[20:30, 40:70]).all() and np.isfinite(probability).sum() == 80 * 100 - 300
    assert np.isnan(gdal.Open(output).GetRasterBand(1).GetNoDataValue())
    assert gdal.Open(kinds).ReadAsArray().shape == (2, 80, 100)


def test_measurements_reach_the_network_and_must_lie_on_the_maps_grid(dense_model, velocity, tmp_path,
                                                                      monkeypatch):
    model = load_model(dense_model)
    values = read_raster(velocity)[0]
    sparse = np.where(np.random.default_rng(0).random(values.shape) < 0.2, values + 3.0, np.nan)
    measured = write_raster(str(tmp_path / "measured.tif"), sparse)
    seen = []

    def recorded(*arguments, **keywords):
        image = network_input(*arguments, **keywords)
        seen.append(image)
        return image
    monkeypatch.setattr(dense_detection, "network_input", recorded)
    for name, measurements in (("own", None), ("measured", measured), ("itself", velocity)):
        detect_dense_raster(velocity, model, str(tmp_path / f"{name}.tif"), measurements_path=measurements)
    own, with_measurements, itself = seen
    np.testing.assert_array_equal(own, itself)  # a map given as its own measurements is a dense map
    np.testing.assert_array_equal(own[:3], with_measurements[:3])
    share = with_measurements[4][with_measurements[1] > 0]  # 2 x 2 map pixels per 20 m model pixel
    assert 0.15 < share.mean() < 0.25 and set(np.unique(share)) <= {0.0, 0.25, 0.5, 0.75, 1.0}
    measured_mean = with_measurements[3][with_measurements[4] > 0] - own[0][with_measurements[4] > 0]
    assert abs(np.median(measured_mean) - 0.3) < 0.05  # measurements 3 mm/yr above the map, / 10
    other_grid = write_raster(str(tmp_path / "other.tif"), sparse[:100])
    with pytest.raises(InputError, match="MEASUREMENTS: is 260 x 100 pixels; it must be on the velocity map's grid"):
        detect_dense_raster(velocity, model, str(tmp_path / "p.tif"), measurements_path=other_grid)


def test_a_model_of_the_first_three_channels_ignores_measurements(velocity, tmp_path):
    import torch

    from insar_deformation_detector.core.learning.dense_network import (
        FIRST_CHANNELS,
        INPUT_CHANNEL_NAMES,
        build_dense_network,
    )
    from insar_deformation_detector.core.learning.model_file import plugin_version, save_model

    torch.manual_seed(1)
    path = str(tmp_path / "three.pt")
    save_model(path, build_dense_network("unet_tiny", 2, input_channels=FIRST_CHANNELS),
               {"family": "dense", "architecture": "unet_tiny", "plugin_version": plugin_version(),
                "classes": ["no_deformation", "point_source"], "pixel_size_m": 20.0,
                "input_channels": INPUT_CHANNEL_NAMES[:FIRST_CHANNELS]})
    model = load_model(path)
    assert model.network.input_channels == FIRST_CHANNELS
    measured = write_raster(str(tmp_path / "measured.tif"), read_raster(velocity)[0] + 5.0)
    detect_dense_raster(velocity, model, str(tmp_path / "a.tif"))
    detect_dense_raster(velocity, model, str(tmp_path / "b.tif"), measurements_path=measured)
    np.testing.assert_array_equal(read_raster(str(tmp_path / "a.tif"))[0], read_raster(str(tmp_path / "b.tif"))[0])


def test_a_tile_without_velocity_is_not_classified_and_the_map_is_unchanged(dense_model, tmp_path, monkeypatch):
    values = smooth_velocity(600, 4)[:300]
    values[:, 130:] = np.nan  # sea east of model column 65 (10 m pixels, 20 m model pixels)
    path = write_raster(str(tmp_path / "coast.tif"), values)
    model = load_model(dense_model)
    monkeypatch.setattr(dense_detection, "TILE_PX", 32)  # tiles from model column 160 on: out of the halo's reach
    calls, network = [], dense_detection.inference_network
    monkeypatch.setattr(dense_detection, "inference_network", lambda trained: _Counted(network(trained), calls))
    summary = detect_dense_raster(path, model, str(tmp_path / "p.tif"))
    assert summary["tiles"] == 50 and len(calls) == 25
    probability = read_raster(str(tmp_path / "p.tif"))[0]
    assert np.isnan(probability[:, 130:]).all() and np.isfinite(probability[:, :130]).all()
    monkeypatch.setattr(dense_detection, "TILE_PX", 1024)
    detect_dense_raster(path, model, str(tmp_path / "one.tif"))
    np.testing.assert_allclose(read_raster(str(tmp_path / "one.tif"))[0], probability, atol=1e-5)


class _Counted:
    """An inference network that records each batch it classifies."""

    def __init__(self, network, calls):
        self.network, self.calls = network, calls
        self.stride, self.input_channels, self.head = network.stride, network.input_channels, network.head

    def to(self, device):
        self.network = self.network.to(device)
        return self

    def __call__(self, batch):
        self.calls.append(tuple(batch.shape))
        return self.network(batch)
