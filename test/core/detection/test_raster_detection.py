"""Tests of core/detection/raster_detection.py: a probability map tile by tile."""
import os

import numpy as np
import pytest
from osgeo import gdal

from insar_deformation_detector.core.common.errors import Cancelled, InputError
from insar_deformation_detector.core.detection.areas import contour_areas
from insar_deformation_detector.core.detection.raster_detection import KIND_SCALE, DetectionSettings, detect_raster
from insar_deformation_detector.core.detection.scoring import geometries, matched_areas
from insar_deformation_detector.core.learning.model_file import load_model

from helpers import interpolated_scene, read_raster, write_raster

# Shared against per-window evaluation of the bundled model (alexnet_unpadded, whose shared form is
# exact) on a real-looking scene: 768 x 768 px, 3 point sources and a tunnel, MC-interpolated, holes
# filled for the network. Only float rounding may differ.
AGREEMENT_SCENE_PX = 768
SHARED_TOLERANCE = 1e-5  # probability


def test_shared_and_per_window_evaluations_find_the_same_areas(model, tmp_path):
    paths = interpolated_scene(tmp_path, AGREEMENT_SCENE_PX, seed=5, point_sources=3, tunnels=1)
    maps, areas = {}, {}
    for evaluation in ("shared", "per_window"):
        output = str(tmp_path / f"{evaluation}.tif")
        detect_raster(paths["dense"], model, output, settings=DetectionSettings(evaluation=evaluation))
        maps[evaluation] = read_raster(output)[0]
        areas[evaluation] = str(tmp_path / f"{evaluation}.gpkg")
        contour_areas(output, (0.5, 0.75, 0.9), areas[evaluation])
    np.testing.assert_allclose(maps["shared"], maps["per_window"], atol=SHARED_TOLERANCE)
    for level in (0.5, 0.75, 0.9):
        shared, alone = (geometries(areas[evaluation], "areas", level) for evaluation in ("shared", "per_window"))
        assert len(shared) == len(alone) == matched_areas(shared, alone), (level, len(shared), len(alone))
    assert len(geometries(areas["shared"], "areas", 0.5)) >= 1  # the scene's sources give areas to compare


def test_tiles_give_the_untiled_map(model, real_looking, tmp_path):
    whole, tiled = str(tmp_path / "whole.tif"), str(tmp_path / "tiled.tif")
    detect_raster(real_looking["dense"], model, whole)
    summary = detect_raster(real_looking["dense"], model, tiled, settings=DetectionSettings(tile_size=256))
    assert summary["tiles"] == 4
    np.testing.assert_allclose(read_raster(tiled)[0], read_raster(whole)[0], atol=2e-5)


def test_probability_map_is_float32_on_the_input_grid_with_nodata_where_the_input_has_none(model, real_looking,
                                                                                           tmp_path):
    velocity, info = read_raster(real_looking["dense"])
    velocity[:, :60] = np.nan
    source = write_raster(str(tmp_path / "holes.tif"), velocity, geotransform=info["geotransform"])
    output, kinds = str(tmp_path / "p.tif"), str(tmp_path / "kinds.tif")
    detect_raster(source, model, output, kinds)
    probability, out_info = read_raster(output)
    assert out_info["geotransform"] == info["geotransform"] and out_info["dtype"] == gdal.GDT_Float32
    assert np.isnan(probability[:, :60]).all()
    np.testing.assert_array_equal(np.isfinite(probability), np.isfinite(velocity))
    assert 0.0 <= np.nanmin(probability) and np.nanmax(probability) <= 1.0
    shares = gdal.Open(kinds).ReadAsArray() / KIND_SCALE
    assert shares.shape == (2, 480, 480)  # point source and tunnel shares add up to P_final
    measured = np.isfinite(velocity)
    np.testing.assert_allclose(shares.sum(axis=0)[measured], probability[measured], atol=1.01 / KIND_SCALE)


def test_bad_detection_input_is_refused_with_the_parameter_named(model, real_looking, tmp_path):
    small = write_raster(str(tmp_path / "small.tif"), np.zeros((200, 300)))
    empty = write_raster(str(tmp_path / "empty.tif"), np.full((240, 240), np.nan))
    cases = [(small, DetectionSettings(), "INPUT", "smaller than one 224 x 224 window"),
             (empty, DetectionSettings(), "INPUT", "no valid cell"),
             (real_looking["dense"], DetectionSettings(stride=28), "STRIDE", "multiple of the network's stride"),
             (real_looking["dense"], DetectionSettings(evaluation="magic"), "EVALUATION", "shared, per_window")]
    for source, settings, parameter, words in cases:
        with pytest.raises(InputError) as error:
            detect_raster(source, model, str(tmp_path / "out.tif"), settings=settings)
        assert error.value.parameter == parameter and words in error.value.message
    assert not os.path.exists(tmp_path / "out.tif")


def test_a_model_for_other_windows_or_without_the_negative_class_is_refused(model, real_looking, tmp_path):
    for change, words in ((dict(input_size=64), "64-pixel inputs"),
                          (dict(classes=["tunnel", "no_deformation"]), "'no_deformation' first")):
        other = type(model)(model.network, dict(model.metadata, **change), model.path)
        with pytest.raises(InputError) as error:
            detect_raster(real_looking["dense"], other, str(tmp_path / "out.tif"))
        assert error.value.parameter == "MODEL" and words in error.value.message


def test_cancel_stops_detection_and_leaves_no_output(model, real_looking, tmp_path):
    polls = []
    with pytest.raises(Cancelled):
        detect_raster(real_looking["dense"], model, str(tmp_path / "p.tif"),
                      is_cancelled=lambda: polls.append(1) or len(polls) > 3)
    assert os.listdir(tmp_path) == []


def test_a_dense_model_is_refused_naming_model(dense_model, tmp_path):
    velocity = write_raster(str(tmp_path / "v.tif"), np.zeros((240, 240), np.float32))
    with pytest.raises(InputError, match="MODEL: .* is a dense model; sliding-window detection needs a windows"):
        detect_raster(velocity, load_model(dense_model), str(tmp_path / "p.tif"))
