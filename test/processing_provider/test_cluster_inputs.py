"""WHERE and RUN_FOLDER of insardefo:interpolate and insardefo:detect, through processing.run and qgis_process.bin."""
import os
import time

import numpy as np
import pytest
from qgis.core import QgsProcessingException

from helpers import area_rows, read_raster, sparse_bowl, write_points, write_raster

pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def sparse_raster(tmp_path_factory):
    """A 400 x 330 px map at 10 m, 6 % measured: a 12 mm/yr bowl on a ramp."""
    return sparse_bowl(str(tmp_path_factory.mktemp("cluster") / "sparse.tif"), 0.06, seed=5)


@pytest.fixture(scope="module")
def in_process(run, sparse_raster, tmp_path_factory):
    """(probability, areas) of insardefo:detect on the raster in this process, as always."""
    folder = tmp_path_factory.mktemp("in-process")
    probability, areas = str(folder / "p.tif"), str(folder / "areas.gpkg")
    run("detect", INPUT=sparse_raster, OUTPUT_PROBABILITY=probability, OUTPUT_AREAS=areas)
    return probability, areas


def test_interpolate_on_a_local_cluster_gives_the_map_of_this_process(run, sparse_raster, tmp_path):
    outputs = {}
    for name, where in (("here", ""), ("there", "local:2")):
        outputs[name] = str(tmp_path / f"{name}.tif")
        run("interpolate", INPUT=sparse_raster, TILE_SIZE=160, MAX_ITERATIONS=20, WHERE=where, OUTPUT=outputs[name])
    # float32 maps of a few mm/yr; this process's BLAS runs on both cores, each worker's on one
    np.testing.assert_allclose(read_raster(outputs["there"])[0], read_raster(outputs["here"])[0], atol=1e-6,
                               rtol=1e-6, equal_nan=True)


def test_detect_on_a_local_cluster_with_a_run_folder_gives_the_same_map_and_resumes(run, sparse_raster, in_process,
                                                                                    tmp_path):
    folder = str(tmp_path / "run")
    for attempt in ("first", "again"):
        probability, areas = str(tmp_path / f"{attempt}.tif"), str(tmp_path / f"{attempt}.gpkg")
        run("detect", INPUT=sparse_raster, WHERE="local:2", RUN_FOLDER=folder, OUTPUT_PROBABILITY=probability,
            OUTPUT_AREAS=areas)
        np.testing.assert_allclose(read_raster(probability)[0], read_raster(in_process[0])[0], atol=1e-6,
                                   equal_nan=True)
        assert len(area_rows(areas)) == len(area_rows(in_process[1])) > 0
    assert sorted(os.listdir(folder)) == ["detection", "interpolated.tif", "interpolation", "measurements.tif"]


def test_a_run_folder_of_another_input_is_refused(run, sparse_raster, tmp_path):
    folder = str(tmp_path / "run")
    run("interpolate", INPUT=sparse_raster, MAX_ITERATIONS=5, RUN_FOLDER=folder, OUTPUT=str(tmp_path / "a.tif"))
    other = write_raster(str(tmp_path / "other.tif"), read_raster(sparse_raster)[0][:, :300])
    with pytest.raises(QgsProcessingException, match="RUN_FOLDER: .* holds a run of another input"):
        run("interpolate", INPUT=other, MAX_ITERATIONS=5, RUN_FOLDER=folder, OUTPUT=str(tmp_path / "b.tif"))
    assert not os.path.exists(tmp_path / "b.tif")


def _tile_times(folder):
    return {path.name: path.stat().st_mtime_ns for path in folder.rglob("tile_*.tif")}


def test_a_run_on_a_declared_band_and_nodata_resumes_without_redoing_its_tiles(run, sparse_raster, tmp_path):
    velocity = read_raster(sparse_raster)[0]
    two_bands = write_raster(str(tmp_path / "two.tif"), np.stack([np.zeros_like(velocity),
                                                                  np.nan_to_num(velocity, nan=-9999.0)]), nodata=None)
    folder = tmp_path / "run"
    tiles = {}
    for attempt in ("first", "again"):
        run("interpolate", INPUT=two_bands, BAND=2, NODATA=-9999, TILE_SIZE=200, MAX_ITERATIONS=5,
            RUN_FOLDER=str(folder), OUTPUT=str(tmp_path / f"{attempt}.tif"))
        tiles[attempt] = _tile_times(folder)
    assert len(tiles["first"]) == 4 and tiles["again"] == tiles["first"]
    again, first = (read_raster(str(tmp_path / f"{attempt}.tif"))[0] for attempt in ("again", "first"))
    np.testing.assert_array_equal(again, first)


def test_a_run_from_points_resumes_without_redoing_its_tiles(run, sparse_raster, tmp_path):
    velocity, info = read_raster(sparse_raster)
    rows, cols = np.nonzero(np.isfinite(velocity))
    x0, step, _, y0, _, _ = info["geotransform"]
    points = write_points(str(tmp_path / "points.gpkg"),
                          list(zip(x0 + (cols + 0.5) * step, y0 - (rows + 0.5) * step, velocity[rows, cols])))
    folder = tmp_path / "run"
    tiles = {}
    for attempt in ("first", "again"):
        run("interpolate", INPUT=points, FIELD="velocity", PIXEL_SIZE=10.0, TILE_SIZE=200, MAX_ITERATIONS=5,
            RUN_FOLDER=str(folder), OUTPUT=str(tmp_path / f"{attempt}.tif"))
        tiles[attempt] = _tile_times(folder)
    assert len(tiles["first"]) == 4 and tiles["again"] == tiles["first"]
    assert (folder / "measurements.tif").is_file()


@pytest.mark.parametrize("where, message", [("tcp://127.0.0.1:9", "WHERE: no Dask scheduler answered"),
                                            ("local:zero", "WHERE: 'local:zero' needs a whole number"),
                                            ("local:999", "WHERE: 'local:999' asks for more workers than"),
                                            ("somewhere", "WHERE: 'somewhere' is not empty")])
def test_a_bad_or_unreachable_scheduler_fails_fast_naming_where(run, sparse_raster, tmp_path, where, message):
    started = time.time()
    with pytest.raises(QgsProcessingException, match=message):
        run("detect", INPUT=sparse_raster, WHERE=where, OUTPUT_PROBABILITY=str(tmp_path / "p.tif"),
            OUTPUT_AREAS=str(tmp_path / "areas.gpkg"))
    assert time.time() - started < 30
    assert not os.path.exists(tmp_path / "p.tif")


def test_a_window_model_on_a_cluster_is_refused_naming_where(run, sparse_raster, tmp_path):
    from insar_deformation_detector.core.learning.model_file import DEFAULT_MODEL_PATH

    with pytest.raises(QgsProcessingException, match="WHERE: runs on a cluster or with a run folder take a dense"):
        run("detect", INPUT=sparse_raster, MODEL=DEFAULT_MODEL_PATH, WHERE="local:2",
            OUTPUT_PROBABILITY=str(tmp_path / "p.tif"), OUTPUT_AREAS=str(tmp_path / "areas.gpkg"))


def test_detect_on_a_local_cluster_through_qgis_process(qgis_process, sparse_raster, in_process, tmp_path):
    probability, areas = str(tmp_path / "p.tif"), str(tmp_path / "areas.gpkg")
    completed, results = qgis_process.run("insardefo:detect", {
        "INPUT": sparse_raster, "WHERE": "local:2", "RUN_FOLDER": str(tmp_path / "run"),
        "OUTPUT_PROBABILITY": probability, "OUTPUT_AREAS": areas})
    assert completed.returncode == 0, completed.stderr
    assert results["AREAS"] == sum(row["level"] == 0.5 for row in area_rows(in_process[1]))
    np.testing.assert_allclose(read_raster(probability)[0], read_raster(in_process[0])[0], atol=1e-6,
                               equal_nan=True)
