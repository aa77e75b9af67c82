"""Tests of core/common/matrix_products.py: products equal NumPy's and stay fast
where NumPy's CBLAS is GSL's reference one.
"""
import threading
import time

import numpy as np
import pytest

from insar_deformation_detector.core.common.matrix_products import matmul


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
    from insar_deformation_detector.core.common import blas_diagnostics

    numpy_blas = blas_diagnostics.library_serving("cblas_sgemm", blas_diagnostics._numpy_extension())
    scipy_blas = blas_diagnostics.library_serving("sgemm_", blas_diagnostics._scipy_blas_extension())
    if numpy_blas is None or numpy_blas != scipy_blas:
        pytest.skip("NumPy and SciPy are not on the same BLAS library here")
    a, b = _operands("c", np.float32, np.float32)
    assert np.array_equal(matmul(a, b), a @ b)


def test_matmul_without_the_ctypes_routine_falls_back_on_scipys_wrapper(monkeypatch):
    from insar_deformation_detector.core.common import matrix_products

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
