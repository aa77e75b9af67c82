"""Tests of core/distributed/detection_job.py: dense detection tiles as tasks, here and on a LocalCluster."""
import os

import numpy as np
import pytest

from insar_deformation_detector.core.common.errors import Cancelled, InputError
from insar_deformation_detector.core.detection import dense_detection
from insar_deformation_detector.core.detection.dense_detection import detect_dense_raster
from insar_deformation_detector.core.distributed.detection_job import detect_dense_tiled
from insar_deformation_detector.core.learning.model_file import load_model

from helpers import read_raster, smooth_velocity, write_raster


@pytest.fixture(scope="module")
def maps(tmp_path_factory):
    """(velocity, measurements): a 300 x 260 px map at 10 m with a hole, and a sparse share of it."""
    folder = tmp_path_factory.mktemp("maps")
    values = smooth_velocity(300, 1)[:, :260]
    values[50:60, 50:90] = np.nan
    sparse = np.where(np.random.default_rng(0).random(values.shape) < 0.1, values, np.nan)
    return write_raster(str(folder / "velocity.tif"), values), write_raster(str(folder / "sparse.tif"), sparse)


@pytest.fixture()
def small_tiles(monkeypatch):
    monkeypatch.setattr(dense_detection, "TILE_PX", 48)  # 12 tiles of the 150 x 130 px model grid


def _detect(function, maps, model, folder, name, **options):
    probability, kinds = str(folder / f"{name}.tif"), str(folder / f"{name}-kinds.tif")
    summary = function(maps[0], model, probability, kinds, measurements_path=maps[1], **options)
    return summary, read_raster(probability)[0], read_raster(kinds)[0]


def test_tile_tasks_give_the_one_process_map_and_resume_after_cancel(dense_model, maps, tmp_path,
                                                                     small_tiles):
    model = load_model(dense_model)
    _, probability, kinds = _detect(detect_dense_raster, maps, model, tmp_path, "reference")
    tiles_seen = []
    with pytest.raises(Cancelled):
        _detect(detect_dense_tiled, maps, model, tmp_path, "first", run_folder=str(tmp_path / "run"),
                progress=lambda fraction, message: tiles_seen.append(message) if "Tile" in message else None,
                is_cancelled=lambda: len(tiles_seen) >= 5)
    assert not os.path.exists(tmp_path / "first.tif")
    summary, resumed, resumed_kinds = _detect(detect_dense_tiled, maps, model, tmp_path, "second",
                                              run_folder=str(tmp_path / "run"))
    assert (summary["tiles"], summary["tiles_found_done"], summary["tiles_run"]) == (12, 5, 7)
    np.testing.assert_array_equal(resumed, probability)
    np.testing.assert_array_equal(resumed_kinds, kinds)
    assert np.isnan(resumed[50:60, 50:90]).all()


def test_a_run_folder_of_another_model_is_refused(dense_model, strided_dense_model, maps, tmp_path, small_tiles):
    run = str(tmp_path / "run")
    _detect(detect_dense_tiled, maps, load_model(dense_model), tmp_path, "tiny", run_folder=run)
    with pytest.raises(InputError, match="RUN_FOLDER: .* holds a run of another model_sha256, tiles"):
        _detect(detect_dense_tiled, maps, load_model(strided_dense_model), tmp_path, "strided", run_folder=run)


def test_local_cluster_gives_the_same_map(dense_model, maps, tmp_path, small_tiles):
    pytest.importorskip("distributed")
    model = load_model(dense_model)
    _, here, here_kinds = _detect(detect_dense_tiled, maps, model, tmp_path, "here")
    summary, there, there_kinds = _detect(detect_dense_tiled, maps, model, tmp_path, "there", where="local:2")
    assert summary["tiles_run"] == 12
    np.testing.assert_allclose(there, here, atol=1e-6)
    np.testing.assert_array_equal(np.abs(there_kinds.astype(int) - here_kinds) <= 1, True)


@pytest.mark.parametrize("pixel_m, model_grid", [(50.0, (300, 260)), (230.0, (690, 598))])
def test_maps_on_their_own_grid_and_coarser_than_the_model_give_the_one_process_map(dense_model, maps, tmp_path,
                                                                                    small_tiles, pixel_m,
                                                                                    model_grid):
    values = read_raster(maps[0])[0]
    velocity = write_raster(str(tmp_path / "velocity.tif"), values,
                            geotransform=(400000.0, pixel_m, 0.0, 300000.0, 0.0, -pixel_m))
    model = load_model(dense_model)
    one, tiled = str(tmp_path / "one.tif"), str(tmp_path / "tiled.tif")
    detect_dense_raster(velocity, model, one)
    summary = detect_dense_tiled(velocity, model, tiled)
    assert summary["model_grid"] == model_grid and summary["tiles"] > 12
    np.testing.assert_allclose(read_raster(tiled)[0], read_raster(one)[0], atol=1e-6, equal_nan=True)
