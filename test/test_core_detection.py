"""Detection in core: window lattice, Gaussian merging, shared vs per-window evaluation, tiling, areas."""
import os

import numpy as np
import pytest
from osgeo import gdal, ogr, osr

from helpers import read_raster, smooth_velocity, write_raster
from insar_deformation_detector.core.areas import contour_areas, parse_levels
from insar_deformation_detector.core.deformation_sources import WIDE_POINT_SOURCES
from insar_deformation_detector.core.detection import KIND_SCALE, DetectionSettings, detect_raster
from insar_deformation_detector.core.detection_scoring import geometries, matched_areas, score_areas
from insar_deformation_detector.core.errors import Cancelled, InputError
from insar_deformation_detector.core.gap_filling import fill_gaps
from insar_deformation_detector.core.interpolation import interpolate_raster, looks_sparse
from insar_deformation_detector.core.model_file import DEFAULT_MODEL_PATH, load_model
from insar_deformation_detector.core.networks import build_network
from insar_deformation_detector.core.probability_map import Lattice, merged_map
from insar_deformation_detector.core.raster_grid import GridSpec
from insar_deformation_detector.core.shared_classifier import shared_classifier
from insar_deformation_detector.core.synthetic_scene import make_scene, write_scene_outputs
from insar_deformation_detector.core.window_probabilities import per_window_probabilities, shared_probabilities
from insar_deformation_detector.core.wrapping import DEFAULT_INTERVALS, DEFAULT_OFFSETS

# Shared against per-window evaluation of the bundled model (alexnet_unpadded, whose shared form is
# exact) on a real-looking scene: 768 x 768 px, 3 point sources and a tunnel, MC-interpolated, holes
# filled for the network. Only float rounding may differ.
AGREEMENT_SCENE_PX = 768
SHARED_TOLERANCE = 1e-5  # probability


@pytest.fixture(scope="module")
def model():
    return load_model(DEFAULT_MODEL_PATH)


def scene_paths(folder, size, seed, point_sources, tunnels):
    """A synthetic scene at 10 m with wide point sources: its sparse, truth and MC-dense files."""
    scene = make_scene(GridSpec(400000.0, 300000.0, 10.0, size, size), seed=seed, point_sources=point_sources,
                       tunnels=tunnels, ranges=WIDE_POINT_SOURCES)
    reference = osr.SpatialReference()
    reference.ImportFromEPSG(27700)
    paths = {"sparse": str(folder / "sparse.tif"), "truth": str(folder / "truth.gpkg")}
    write_scene_outputs(scene, paths, reference.ExportToWkt())
    paths["dense"] = str(folder / "dense.tif")
    interpolate_raster(paths["sparse"], paths["dense"])
    return paths


@pytest.fixture(scope="module")
def real_looking(tmp_path_factory):
    """A 480 x 480 px scene with 3 point sources."""
    return scene_paths(tmp_path_factory.mktemp("detection-scene"), 480, seed=3, point_sources=3, tunnels=0)


def test_lattice_covers_the_axis_and_maps_pixels_to_the_nearest_window_centre():
    lattice = Lattice(length=300, window=224, stride=32)
    assert (lattice.count, lattice.padded_length) == (4, 320)  # windows at 0, 32, 64, 96; the last runs past
    # window k's centre lies at 112 + 32 k; pixel p's centre at p + 0.5
    assert list(lattice.nearest([0, 111, 127, 128, 159, 160, 299])) == [0, 0, 0, 1, 1, 2, 3]


def test_merging_is_the_papers_gaussian_over_window_blocks():
    lattice = Lattice(length=224 + 32 * 8, window=224, stride=32)
    values = np.zeros((9, 9, 1))
    values[4, 4] = 1.0
    pixels = np.arange(lattice.length)
    merged = merged_map(values, (0, 0), pixels, pixels, lattice, lattice)[..., 0]
    centre = 112 + 32 * 4  # window 4's centre; the pixels nearest to it span 224..255
    assert merged[centre, centre] == pytest.approx(1.0, abs=1e-3)
    assert merged[224 - 11, centre] == pytest.approx(0.0, abs=1e-6)  # beyond the 10 px radius
    assert merged[224, centre] == pytest.approx(0.5, abs=0.06)  # about half the kernel on the block's edge
    assert merged.sum() == pytest.approx(32 * 32, rel=1e-3)  # the filter keeps the mass


def test_shared_form_of_a_single_window_equals_the_window_alone(model, real_looking):
    velocity = read_raster(real_looking["dense"])[0][100:324, 100:324].astype(np.float32)
    shared = shared_classifier(model.network, model.metadata["architecture"])
    alone = per_window_probabilities(model.network, 3, velocity, 224, (0, 0), (1, 1), 32, DEFAULT_INTERVALS,
                                     DEFAULT_OFFSETS)
    together = shared_probabilities(shared, 3, velocity, (0, 0), (1, 1), 32, DEFAULT_INTERVALS, DEFAULT_OFFSETS)
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_shared_and_per_window_evaluations_find_the_same_areas(model, tmp_path):
    paths = scene_paths(tmp_path, AGREEMENT_SCENE_PX, seed=5, point_sources=3, tunnels=1)
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


@pytest.mark.parametrize("architecture, differs", [("alexnet_unpadded", False), ("alexnet_compact", True)])
def test_only_the_unpadded_network_gives_each_window_alone_in_shared_form(real_looking, architecture, differs):
    import torch

    torch.manual_seed(0)
    network = build_network(architecture, 3).eval()
    network.classifier[-1].weight.data *= 100.0  # a fresh head's probabilities hardly vary between windows
    velocity = read_raster(real_looking["dense"])[0].astype(np.float32)
    velocity[200:260, 40:120] = np.nan
    filled = fill_gaps(velocity)
    origin, counts = (32, 64), (8, 7)  # windows inside the 480 px scene, away from its corner
    alone = per_window_probabilities(network, 3, filled, 224, origin, counts, 32, DEFAULT_INTERVALS,
                                     DEFAULT_OFFSETS)
    together = shared_probabilities(shared_classifier(network, architecture), 3, filled, origin, counts, 32,
                                    DEFAULT_INTERVALS, DEFAULT_OFFSETS)
    assert alone[..., 1].std() > 0.01  # the windows differ, so agreeing means something
    assert (np.abs(together - alone).max() > 0.01) == differs
    if not differs:
        np.testing.assert_allclose(together, alone, atol=1e-5)


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


def test_sparse_and_dense_rasters_are_told_apart(real_looking):
    assert looks_sparse(real_looking["sparse"]) and not looks_sparse(real_looking["dense"])


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
                           kind_names=["point_source", "tunnel"])
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
    assert dome["area_m2"] == pytest.approx(200 * 100.0) and dome["sense"] == "uplift"
    assert dome["extreme_velocity_mm_yr"] == pytest.approx(6.0) and dome["measurements"] == 50
    assert [(row["level"], row["area_m2"]) for row in rows[2:]] == [(0.75, 10000.0), (0.9, 1600.0)]
    assert layer.GetSpatialRef().GetAuthorityCode(None) == "27700"


def test_attributes_without_their_rasters_are_null(tmp_path):
    probability = _probability_and_velocity(tmp_path)[0]
    output = str(tmp_path / "areas.gpkg")
    contour_areas(probability, (0.5,), output)
    source = ogr.Open(output)
    row = next(iter(source.GetLayerByName("areas"))).items()
    assert row["area_m2"] > 0 and row["max_probability"] is None and row["sense"] is None
    assert row["measurements"] is None and row["class"] is None


def _polygons(path, layer_name, squares, level=None):
    """A GeoPackage layer of axis-aligned squares (x0, y0, side) in EPSG:27700, with a level field."""
    reference = osr.SpatialReference()
    reference.ImportFromEPSG(27700)
    source = ogr.GetDriverByName("GPKG").CreateDataSource(path)
    layer = source.CreateLayer(layer_name, reference, ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn("level", ogr.OFTReal))
    for x0, y0, side in squares:
        ring = ogr.Geometry(ogr.wkbLinearRing)
        for x, y in ((x0, y0), (x0 + side, y0), (x0 + side, y0 + side), (x0, y0 + side), (x0, y0)):
            ring.AddPoint_2D(x, y)
        polygon = ogr.Geometry(ogr.wkbPolygon)
        polygon.AddGeometry(ring)
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetGeometry(polygon)
        if level is not None:
            feature.SetField("level", level)
        layer.CreateFeature(feature)
    return path


def test_areas_are_scored_against_the_truth(tmp_path):
    truth = _polygons(str(tmp_path / "truth.gpkg"), "truth", [(0, 0, 100), (1000, 0, 100), (2000, 0, 100)])
    areas = _polygons(str(tmp_path / "areas.gpkg"), "areas", [(50, 50, 100), (5000, 0, 10)], level=0.5)
    score = score_areas(areas, truth, 0.5)
    assert (score["sources"], score["found"], score["areas"], score["hits"]) == (3, 1, 2, 1)
    assert score["recall"] == pytest.approx(1 / 3) and score["precision"] == pytest.approx(0.5)
    assert score_areas(areas, truth, 0.9)["areas"] == 0


def test_levels_are_checked_and_sorted():
    assert parse_levels("0.9, 0.5,0.75") == (0.5, 0.75, 0.9)
    for text, words in (("0.5,1.5", "(0, 1]"), ("0", "(0, 1]"), ("half", "comma-separated"), ("", "at least")):
        with pytest.raises(InputError) as error:
            parse_levels(text)
        assert error.value.parameter == "THRESHOLDS" and words in error.value.message


def test_holes_are_filled_smoothly_and_measured_values_kept():
    rows, cols = np.mgrid[0:200, 0:200]
    plane = (0.02 * rows + 0.01 * cols).astype(np.float32)  # mm/yr
    holed = plane.copy()
    holed[80:120, 80:120] = np.nan
    holed[:, 190:] = np.nan
    filled = fill_gaps(holed)
    assert np.isfinite(filled).all()
    np.testing.assert_array_equal(filled[np.isfinite(holed)], holed[np.isfinite(holed)])
    hole = filled[78:122, 78:122]
    assert np.abs(hole - plane[78:122, 78:122]).max() < 0.5  # a plane rising 0.8 mm/yr across the hole
    assert np.abs(np.diff(hole, axis=0)).max() < 0.06 and np.abs(np.diff(hole, axis=1)).max() < 0.06  # no steps
    assert np.isnan(fill_gaps(np.full((5, 5), np.nan))).all()


def test_holes_are_filled_cluster_by_cluster_exactly_as_over_the_whole_map(monkeypatch):
    from insar_deformation_detector.core import gap_filling

    holed = smooth_velocity(400, 2).astype(np.float32)
    holed[30:70, 40:90] = np.nan  # separate clusters, one on the edge, one far from any data
    holed[200:203, 300:302] = np.nan
    holed[:, 380:] = np.nan
    holed[250:400, 0:150] = np.nan
    assert len(gap_filling._hole_clusters(~np.isfinite(holed), 16)) == 4
    by_cluster = fill_gaps(holed)
    monkeypatch.setattr(gap_filling, "MAX_HOLE_CLUSTERS", 0)  # one pass over the whole map
    np.testing.assert_array_equal(by_cluster, fill_gaps(holed))
