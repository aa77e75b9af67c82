"""The plugin's matrix products equal NumPy's and stay fast where NumPy's CBLAS is GSL's reference one."""
import json
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from helpers import GSL_CBLAS
from insar_deformation_detector.core.matrix_products import matmul

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _operands(layout, dtype_a, dtype_b):
    generator = np.random.default_rng(3)
    a = generator.standard_normal((70, 90)).astype(dtype_a)
    b = generator.standard_normal((90, 40)).astype(dtype_b)
    if layout == "fortran":
        return np.asfortranarray(a), np.asfortranarray(b)
    if layout == "transposed":
        return np.ascontiguousarray(a.T).T, np.ascontiguousarray(b.T).T
    if layout == "strided":
        return np.repeat(a, 2, axis=1)[:, ::2], np.repeat(b, 2, axis=0)[::2]
    return a, b


@pytest.mark.parametrize("layout", ["c", "fortran", "transposed", "strided"])
@pytest.mark.parametrize("dtypes", [(np.float32, np.float32), (np.float64, np.float64), (np.float32, np.float64)])
def test_matmul_equals_numpy_for_every_memory_layout_and_type(layout, dtypes):
    a, b = _operands(layout, *dtypes)
    expected = a @ b
    product = matmul(a, b)
    assert product.dtype == expected.dtype and product.shape == (70, 40)
    assert product.flags.c_contiguous
    tolerance = 1e-5 if product.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(product, expected, rtol=tolerance, atol=tolerance * np.abs(expected).max())


def test_matmul_of_c_ordered_float32_is_numpys_product_bit_for_bit():
    from insar_deformation_detector.core import blas_diagnostics

    numpy_blas = blas_diagnostics.library_serving("cblas_sgemm", blas_diagnostics._numpy_extension())
    scipy_blas = blas_diagnostics.library_serving("sgemm_", blas_diagnostics._scipy_blas_extension())
    if numpy_blas is None or numpy_blas != scipy_blas:
        pytest.skip("NumPy and SciPy are not on the same BLAS library here")
    a, b = _operands("c", np.float32, np.float32)
    assert np.array_equal(matmul(a, b), a @ b)


def test_matmul_without_the_ctypes_routine_falls_back_on_scipys_wrapper(monkeypatch):
    from insar_deformation_detector.core import matrix_products

    monkeypatch.setattr(matrix_products, "_fortran_gemm", lambda dtype: None)
    for layout in ("c", "transposed", "strided"):
        a, b = _operands(layout, np.float32, np.float64)
        np.testing.assert_allclose(matrix_products.matmul(a, b), a @ b, rtol=1e-12, atol=1e-12)


def test_matmul_refuses_complex_matrices():
    with pytest.raises(TypeError, match="real matrices"):
        matmul(np.ones((2, 2), complex), np.ones((2, 2)))


def test_matmul_lets_other_python_threads_run():
    """The product runs without the GIL, as NumPy's does: QGIS's main thread stays responsive."""
    generator = np.random.default_rng(5)
    a = generator.standard_normal((2000, 2000)).astype(np.float32)
    b = generator.standard_normal((2000, 1500)).astype(np.float32)
    started = time.perf_counter()
    matmul(a, b)
    alone = time.perf_counter() - started
    gaps, worker = [], threading.Thread(target=matmul, args=(a, b))
    last = time.perf_counter()
    worker.start()
    while worker.is_alive():
        time.sleep(0.001)
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
    assert max(gaps) < 0.5 * alone, (max(gaps), alone)  # holding the GIL, one gap would last the whole product


def test_matmul_refuses_mismatched_shapes_and_handles_empty_ones():
    with pytest.raises(ValueError, match=r"\(3, 4\) and \(5, 2\)"):
        matmul(np.ones((3, 4)), np.ones((5, 2)))
    assert matmul(np.ones((3, 0), np.float32), np.ones((0, 2), np.float32)).tolist() == [[0, 0]] * 3


REPORT = """
import json, sys
sys.path.insert(0, {pluginpath!r})
from insar_deformation_detector.core.blas_diagnostics import blas_report
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
    from insar_deformation_detector.core import blas_diagnostics

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
    from insar_deformation_detector.core.blas_diagnostics import BlasReport, library_kind

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
