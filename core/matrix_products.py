"""Matrix products that stay fast inside QGIS.

On Linux QGIS's own libraries link GSL, so ``libgslcblas`` (GSL's unoptimised
reference CBLAS) is loaded before Python starts, and every ``cblas_*`` symbol
that NumPy asks for binds to it: inside QGIS ``a @ b`` runs 5-25x slower than
in a plain Python process. GSL exports only the ``cblas_*`` interface, so the
products here call BLAS through SciPy's wrappers of the Fortran interface
(``sgemm_``/``dgemm_``), which still reach the optimised BLAS that SciPy was
built against, in QGIS and out of it alike. Outside QGIS they are the same
kernel NumPy calls: the results are identical to ``a @ b``.
"""
import numpy as np
from scipy.linalg import blas

_GEMM = {np.dtype(np.float32): blas.sgemm, np.dtype(np.float64): blas.dgemm}


def _as_column_major(matrix):
    """(view, transposed): a Fortran-ordered view of ``matrix`` or of its transpose, copying only if neither is."""
    if matrix.flags.f_contiguous:
        return matrix, False
    if matrix.flags.c_contiguous:
        return matrix.T, True
    return np.asfortranarray(matrix), False


def matmul(a, b):
    """``a @ b`` of an (m, k) and a (k, n) real matrix, as an (m, n) C-ordered array.

    float32 when both are float32, float64 otherwise. Computed as the
    column-major product (b' a')' so that C-ordered operands are passed
    without copies.
    """
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"matmul needs (m, k) and (k, n) matrices, got {a.shape} and {b.shape}")
    dtype = np.dtype(np.float32) if a.dtype == b.dtype == np.float32 else np.dtype(np.float64)
    if 0 in a.shape or 0 in b.shape:
        return np.zeros((a.shape[0], b.shape[1]), dtype)
    left, left_transposed = _as_column_major(b.astype(dtype, copy=False))
    right, right_transposed = _as_column_major(a.astype(dtype, copy=False))
    # left is b' when transposed, right is a'; gemm(op(L), op(R)) must give b' a'
    product = _GEMM[dtype](1.0, left, right, trans_a=int(not left_transposed), trans_b=int(not right_transposed))
    return product.T
