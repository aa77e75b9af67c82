"""insardefo:diagnostics through qgis_process.bin."""
import subprocess


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
