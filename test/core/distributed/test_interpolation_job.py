"""Tests of core/distributed/interpolation_job.py: tiles as tasks, in this process and on a LocalCluster."""
import os

import numpy as np
import pytest

from insar_deformation_detector.core.common.errors import Cancelled, InputError
from insar_deformation_detector.core.distributed.interpolation_job import interpolate_tiled
from insar_deformation_detector.core.interpolation.matrix_completion import MatrixCompletionSettings
from insar_deformation_detector.core.interpolation.raster_interpolation import interpolate_raster

from helpers import read_raster, sparse_bowl

FAST = MatrixCompletionSettings(max_iterations=20)


@pytest.fixture(scope="module")
def sparse_raster(tmp_path_factory):
    """A 400 x 330 px map at 10 m, 4 % measured: a 12 mm/yr bowl on a ramp."""
    return sparse_bowl(str(tmp_path_factory.mktemp("sparse") / "sparse.tif"), 0.04, seed=3)


def test_tile_tasks_in_this_process_give_the_one_process_map(sparse_raster, tmp_path):
    reference, tiled, noise = (str(tmp_path / name) for name in ("reference.tif", "tiled.tif", "noise.tif"))
    interpolate_raster(sparse_raster, reference, settings=FAST, tile_size=160)
    summary = interpolate_tiled(sparse_raster, tiled, settings=FAST, tile_size=160, noise_path=noise)
    assert summary["tiles"] == summary["tiles_run"] == 9
    np.testing.assert_array_equal(read_raster(tiled)[0], read_raster(reference)[0])
    assert np.isfinite(read_raster(noise)[0]).sum() > 0.03 * 400 * 330
    assert [name for name in os.listdir(tmp_path) if name.startswith(".")] == []  # no scratch left


def test_a_run_folder_resumes_with_the_missing_tiles_only_and_refuses_other_settings(sparse_raster, tmp_path):
    run, first, second = str(tmp_path / "run"), str(tmp_path / "first.tif"), str(tmp_path / "second.tif")
    calls = []

    def cancel_after_four():
        return len(calls) >= 4

    with pytest.raises(Cancelled):
        interpolate_tiled(sparse_raster, first, run_folder=run, settings=FAST, tile_size=160,
                          progress=lambda fraction, message: calls.append(message) if "Tile" in message else None,
                          is_cancelled=cancel_after_four)
    assert not os.path.exists(first)
    summary = interpolate_tiled(sparse_raster, second, run_folder=run, settings=FAST, tile_size=160)
    assert (summary["tiles_found_done"], summary["tiles_run"]) == (4, 5)
    whole = str(tmp_path / "whole.tif")
    interpolate_tiled(sparse_raster, whole, settings=FAST, tile_size=160)
    np.testing.assert_array_equal(read_raster(second)[0], read_raster(whole)[0])
    with pytest.raises(InputError, match="RUN_FOLDER: .* holds a run of another settings"):
        interpolate_tiled(sparse_raster, str(tmp_path / "other.tif"), run_folder=run, settings=FAST,
                          tile_size=160, max_distance=5.0)


def test_local_cluster_gives_the_same_map(sparse_raster, tmp_path):
    pytest.importorskip("distributed")
    here, there = str(tmp_path / "here.tif"), str(tmp_path / "there.tif")
    interpolate_tiled(sparse_raster, here, settings=FAST, tile_size=160)
    summary = interpolate_tiled(sparse_raster, there, where="local:2", settings=FAST, tile_size=160)
    assert summary["tiles_run"] == 9
    np.testing.assert_allclose(read_raster(there)[0], read_raster(here)[0], atol=1e-5, equal_nan=True)


def test_a_worker_killed_mid_run_costs_only_its_tile(sparse_raster, tmp_path):
    pytest.importorskip("distributed")
    import psutil

    here, there = str(tmp_path / "here.tif"), str(tmp_path / "there.tif")
    interpolate_tiled(sparse_raster, here, settings=FAST, tile_size=160)
    killed = []

    def kill_a_worker_once(fraction, message):
        workers = [child for child in psutil.Process().children(recursive=True)
                   if "spawn_main" in " ".join(child.cmdline())]
        if not killed and "done" in message and workers:
            workers[0].kill()
            killed.append(workers[0].pid)

    summary = interpolate_tiled(sparse_raster, there, where="local:2", settings=FAST, tile_size=160,
                                progress=kill_a_worker_once)
    assert killed and summary["tiles_run"] == 9
    np.testing.assert_allclose(read_raster(there)[0], read_raster(here)[0], atol=1e-5, equal_nan=True)


def test_cancel_on_a_cluster_stops_within_seconds_and_the_resumed_run_gives_the_same_map(sparse_raster, tmp_path):
    pytest.importorskip("distributed")
    run, done = str(tmp_path / "run"), []
    with pytest.raises(Cancelled):
        interpolate_tiled(sparse_raster, str(tmp_path / "first.tif"), run_folder=run, where="local:2", settings=FAST,
                          tile_size=160, progress=lambda fraction, message: done.append(message) if "done" in message
                          else None, is_cancelled=lambda: bool(done))
    finished = len(os.listdir(os.path.join(run, "interpolation")))
    assert 1 <= finished < 9 and not os.path.exists(tmp_path / "first.tif")
    summary = interpolate_tiled(sparse_raster, str(tmp_path / "second.tif"), run_folder=run, where="local:2",
                                settings=FAST, tile_size=160)
    assert summary["tiles_found_done"] >= finished and summary["tiles_run"] == 9 - summary["tiles_found_done"]
    interpolate_tiled(sparse_raster, str(tmp_path / "whole.tif"), settings=FAST, tile_size=160)
    np.testing.assert_allclose(read_raster(str(tmp_path / "second.tif"))[0],
                               read_raster(str(tmp_path / "whole.tif"))[0], atol=1e-5, equal_nan=True)


def test_without_dask_a_cluster_run_names_where_and_the_install(sparse_raster, tmp_path, monkeypatch):
    from insar_deformation_detector.core.distributed import where

    monkeypatch.setattr(where, "missing_packages", lambda names: list(names))
    with pytest.raises(InputError, match=r"WHERE: 'local:2' needs Dask, which is not installed: .*dask\[distributed\]"):
        interpolate_tiled(sparse_raster, str(tmp_path / "out.tif"), where="local:2", settings=FAST)
    assert not os.path.exists(tmp_path / "out.tif")
