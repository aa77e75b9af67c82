"""The plugin's matrix products equal NumPy's and stay fast where NumPy's CBLAS is GSL's reference one."""
import ctypes.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from insar_deformation_detector.core.matrix_products import matmul

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GSL_CBLAS = ctypes.util.find_library("gslcblas")


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
    a, b = _operands("c", np.float32, np.float32)
    assert np.array_equal(matmul(a, b), a @ b)


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
    """What QGIS does on Linux (its libraries link GSL), reproduced with LD_PRELOAD in a plain Python."""
    from insar_deformation_detector.core.blas_diagnostics import product_gflops

    code = REPORT.format(pluginpath=os.path.join(ROOT, "build", "pluginpath"))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, LD_PRELOAD=GSL_CBLAS))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    here = product_gflops(matmul)
    assert report["slow"] and "gslcblas" in report["library"]
    assert report["numpy"] < 0.2 * here  # GSL's reference CBLAS: about 15x slower on this machine
    assert report["plugin"] > 0.25 * here  # the plugin's products are not slowed
    assert "libgslcblas" in report["explanation"] and "not slowed" in report["explanation"]


def test_library_serving_names_the_blas_numpy_and_scipy_reach_here():
    from insar_deformation_detector.core import blas_diagnostics

    numpy_blas = blas_diagnostics.library_serving("cblas_sgemm", blas_diagnostics._numpy_extension())
    scipy_blas = blas_diagnostics.library_serving("sgemm_", blas_diagnostics._scipy_blas_extension())
    assert os.path.isfile(numpy_blas) and "gslcblas" not in numpy_blas  # pytest loaded NumPy before QGIS
    assert os.path.isfile(scipy_blas)
    assert blas_diagnostics.library_serving("no_such_blas_symbol", blas_diagnostics._numpy_extension()) is None
