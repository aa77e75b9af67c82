"""Tests of core/common/blas_diagnostics.py: which BLAS serves products here, and the verdict on it."""
import json
import os
import subprocess
import sys

import pytest

from helpers import GSL_CBLAS, ROOT

REPORT = """
import json, sys
sys.path.insert(0, {pluginpath!r})
from insar_deformation_detector.core.common.blas_diagnostics import blas_report
report = blas_report()
print(json.dumps(dict(numpy=report.numpy_gflops, plugin=report.plugin_gflops, library=report.numpy_library,
                      slow=report.numpy_is_slow, explanation=report.explanation())))
"""


@pytest.mark.skipif(GSL_CBLAS is None, reason="GSL's CBLAS (libgslcblas) is not installed")
def test_with_gsl_cblas_loaded_first_numpy_slows_down_and_the_plugins_products_do_not():
    """What QGIS does on Linux (its libraries link GSL), reproduced with LD_PRELOAD in a plain Python.

    Both speeds are measured in that one process, one after the other.
    """
    code = REPORT.format(pluginpath=os.path.join(ROOT, "build", "pluginpath"))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, LD_PRELOAD=GSL_CBLAS, OPENBLAS_NUM_THREADS="1"))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["slow"] and "gslcblas" in report["library"]
    assert report["plugin"] > 3 * report["numpy"], report  # GSL's reference CBLAS: about 10x slower here
    assert "libgslcblas" in report["explanation"] and "not slowed" in report["explanation"]


def test_library_serving_names_the_blas_numpy_and_scipy_reach_here():
    from insar_deformation_detector.core.common import blas_diagnostics

    numpy_blas = blas_diagnostics.library_serving("cblas_sgemm", blas_diagnostics._numpy_extension())
    scipy_blas = blas_diagnostics.library_serving("sgemm_", blas_diagnostics._scipy_blas_extension())
    if numpy_blas is None or scipy_blas is None:
        pytest.skip("NumPy or SciPy calls BLAS under other symbol names here (a wheel's own OpenBLAS)")
    assert os.path.isfile(numpy_blas) and "gslcblas" not in numpy_blas  # pytest loaded NumPy before QGIS
    assert os.path.isfile(scipy_blas)
    assert blas_diagnostics.library_serving("no_such_blas_symbol", blas_diagnostics._numpy_extension()) is None
    assert blas_diagnostics.library_serving("sgemm_", None) is None


def test_the_verdict_follows_the_library_name_whatever_the_speed():
    """On a busy machine an optimised BLAS can measure as slow as a reference one."""
    from insar_deformation_detector.core.common.blas_diagnostics import BlasReport, library_kind

    openblas = "/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3"
    busy = BlasReport(numpy_gflops=0.8, plugin_gflops=2.4, numpy_library=openblas, plugin_library=openblas)
    assert not busy.numpy_is_slow and not busy.plugin_is_slow
    assert busy.explanation().startswith("Matrix products run on an optimised BLAS")
    gsl = BlasReport(numpy_gflops=20.0, plugin_gflops=25.0, numpy_library="/usr/lib/libgslcblas.so.0.0.0",
                     plugin_library=openblas)
    assert gsl.numpy_is_slow and not gsl.plugin_is_slow
    netlib = "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0"
    assert BlasReport(30.0, 30.0, plugin_library=netlib).plugin_is_slow
    assert [library_kind(path) for path in (openblas, netlib, None, "/opt/other/libfast.so")] == [
        "optimised", "reference", None, None]
    unnamed = BlasReport(numpy_gflops=2.0, plugin_gflops=30.0)
    assert unnamed.numpy_is_slow and "that this program loaded before NumPy" not in unnamed.explanation()
