"""Tests of core/distributed/command_line.py: the chain without QGIS, in a subprocess as on a login node."""
import os
import subprocess
import sys

import numpy as np
import pytest
from osgeo import ogr

from helpers import ROOT, area_rows, read_raster, write_points, write_raster

MODULE = "insar_deformation_detector.core.distributed"


def _chain(*arguments, timeout=600):
    """The command line run in a Python that has no QGIS on its path."""
    environment = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "build", "pluginpath"))
    return subprocess.run([sys.executable, "-m", MODULE, *arguments], capture_output=True, text=True,
                          timeout=timeout, env=environment)


@pytest.fixture(scope="module")
def bowl(tmp_path_factory):
    """(sparse raster, point file) of a 300 x 300 px map at 10 m, 8 % measured: a 15 mm/yr bowl."""
    folder = tmp_path_factory.mktemp("chain")
    rng = np.random.default_rng(8)
    rows, cols = np.mgrid[:300, :300]
    velocity = -15.0 * np.exp(-((rows - 150) ** 2 + (cols - 140) ** 2) / (2 * 20.0 ** 2))
    measured = rng.random(velocity.shape) < 0.08
    noisy = velocity + rng.normal(0, 0.5, velocity.shape)
    sparse = write_raster(str(folder / "sparse.tif"), np.where(measured, noisy, np.nan))
    x, y = 400000.0 + 10.0 * (cols[measured] + 0.5), 300000.0 - 10.0 * (rows[measured] + 0.5)
    points = write_points(str(folder / "points.gpkg"), list(zip(x, y, noisy[measured])))
    return sparse, points


def test_the_chain_runs_without_qgis_and_a_local_cluster_gives_the_same_map(bowl, tmp_path):
    outputs = {}
    for name, where in (("here", []), ("there", ["--where", "local:2", "--run-folder", str(tmp_path / "run")])):
        outputs[name] = (str(tmp_path / f"{name}.tif"), str(tmp_path / f"{name}.gpkg"))
        completed = _chain(bowl[0], "--probability", outputs[name][0], "--areas", outputs[name][1], *where)
        assert completed.returncode == 0, completed.stderr
        assert "area(s) at 0.5" in completed.stdout and "[100%] Done" in completed.stderr
    here, there = (read_raster(outputs[name][0])[0] for name in ("here", "there"))
    np.testing.assert_allclose(there, here, atol=1e-6, equal_nan=True)
    assert np.nanmax(here[130:170, 120:160]) >= 0.9
    assert len(area_rows(outputs["there"][1])) == len(area_rows(outputs["here"][1])) > 0
    assert "qgis" not in _chain("--help").stderr


def test_a_point_file_is_gridded_at_the_pixel_size(bowl, tmp_path):
    probability, velocity = str(tmp_path / "p.tif"), str(tmp_path / "v.tif")
    completed = _chain(bowl[1], "--probability", probability, "--velocity", velocity, "--pixel-size", "10")
    assert completed.returncode == 0, completed.stderr
    values, info = read_raster(velocity)
    assert info["size"] == (300, 300) and np.nanmin(values) < -8.0  # the 15 mm/yr bowl, smoothed by matrix completion
    assert np.nanmax(read_raster(probability)[0][130:170, 120:160]) >= 0.9


@pytest.mark.parametrize("arguments, message", [
    (["--where", "local:0"], "error: --where: 'local:0' needs a whole number of workers of at least 1"),
    (["--thresholds", "2"], "error: --thresholds:"),
    (["--model", "missing.pt"], "error: --model:"),
    (["--min-peak", "1.5"], "error: --min-peak: must lie in [0, 1], got 1.5")])
def test_bad_options_exit_2_naming_the_option(bowl, tmp_path, arguments, message):
    probability = str(tmp_path / "p.tif")
    completed = _chain(bowl[0], "--probability", probability, *arguments)
    assert completed.returncode == 2 and message in completed.stderr, completed.stderr
    assert "Traceback" not in completed.stderr and not os.path.exists(probability)


def test_help_documents_every_option():
    completed = _chain("--help")
    assert completed.returncode == 0
    for option in ("--probability", "--areas", "--velocity", "--model", "--where", "--run-folder", "--interpolation",
                   "--thresholds", "--min-peak", "--field", "--pixel-size", "--max-distance", "--tile-size",
                   "--device"):
        assert option in completed.stdout


def test_points_need_a_pixel_size(bowl, tmp_path):
    completed = _chain(bowl[1], "--probability", str(tmp_path / "p.tif"))
    assert completed.returncode == 2 and "error: --pixel-size: is needed to grid a point file" in completed.stderr
    assert ogr.Open(bowl[1]) is not None
