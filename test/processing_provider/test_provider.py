"""The provider through qgis_process.bin: listed, progress, errors, diagnostics."""
import os
import subprocess

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


def test_each_progress_text_is_printed_once(qgis_process, scene_files, tmp_path):
    qgis_process.enable_plugin()
    completed = qgis_process.call("run", "insardefo:interpolate", "--", f"INPUT={scene_files['sparse']}",
                                  f"OUTPUT={tmp_path / 'dense.tif'}")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stdout.count("Tile 1 of 1") == 1  # it was printed at every step of the solver


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


def test_diagnostics_show_the_plugins_products_fast_inside_qgis_process(qgis_process):
    """qgis_process.bin links GSL, whose reference CBLAS then serves NumPy's products (issue 14).

    The plugin's own products (SciPy's BLAS) must run far faster there than
    NumPy's, both timed in that process one after the other; the report
    must say why.
    """
    completed, results = qgis_process.run("insardefo:diagnostics", {})
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "Plugin matrix products (SciPy BLAS): " in results["DIAGNOSTICS"]
    links = subprocess.run(["ldd", qgis_process.executable], capture_output=True, text=True).stdout
    if "libgslcblas" in links:
        assert results["NUMPY_GFLOPS"] < 0.33 * results["PLUGIN_GFLOPS"], results
        assert "libgslcblas" in results["MATRIX_PRODUCTS"] and "not slowed" in results["MATRIX_PRODUCTS"]
