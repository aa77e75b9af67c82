"""The algorithm through qgis_process in a subprocess, as a user or a script would call it."""
import os

import numpy as np
from osgeo import gdal

from helpers import RMSE_BOUND, read_raster, rmse


def test_plugin_is_listed_and_enabled(qgis_process):
    qgis_process.enable_plugin()
    listing = qgis_process.call("plugins")
    assert listing.returncode == 0
    assert "* insar_deformation_detector" in listing.stdout  # '*' marks an enabled plugin
    help_text = qgis_process.call("help", "insardefo:interpolate")
    assert help_text.returncode == 0
    assert "Interpolate sparse velocities" in help_text.stdout
    assert "PIXEL_SIZE" in help_text.stdout


def test_points_layer(qgis_process, scene, scene_files, tmp_path):
    output = str(tmp_path / "dense.tif")
    completed, results = qgis_process.run("insardefo:interpolate", {
        "INPUT": scene_files["points"], "FIELD": "velocity", "PIXEL_SIZE": 10, "METHOD": 0, "OUTPUT": output})
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert results["OUTPUT"] == output
    assert results["MEASURED_CELLS"] == int(np.isfinite(scene.sparse).sum())
    result, info = read_raster(output)
    assert info["dtype"] == gdal.GDT_Float32 and info["size"] == scene.truth.shape
    assert rmse(result, scene.truth) < RMSE_BOUND[0]


def test_raster_with_noise_output(qgis_process, scene, scene_files, tmp_path):
    output, noise = str(tmp_path / "dense.tif"), str(tmp_path / "noise.tif")
    completed, results = qgis_process.run("insardefo:interpolate", {
        "INPUT": scene_files["sparse"], "METHOD": 1, "MAX_DISTANCE": 15, "OUTPUT": output, "NOISE": noise})
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert results["OUTPUT"] == output and results["NOISE"] == noise
    result, info = read_raster(output)
    assert info["size"] == scene.truth.shape
    assert rmse(result, scene.truth) < RMSE_BOUND[1]
    assert os.path.exists(noise)


def test_bad_input_fails_with_the_parameter_name_and_no_traceback(qgis_process, scene_files, tmp_path):
    output = str(tmp_path / "dense.tif")
    completed, results = qgis_process.run("insardefo:interpolate", {
        "INPUT": scene_files["points"], "FIELD": "velocity", "OUTPUT": output})
    assert completed.returncode != 0
    assert results is None
    text = completed.stdout + completed.stderr
    assert "PIXEL_SIZE: is required" in text
    assert "Traceback" not in text
    assert not os.path.exists(output)
