"""Matrix products that stay fast inside QGIS.

On Linux QGIS's own libraries link GSL, so ``libgslcblas`` (GSL's unoptimised
reference CBLAS) is loaded before Python starts, and every ``cblas_*`` symbol
that NumPy asks for binds to it: inside QGIS ``a @ b`` runs about ten times
slower than in a plain Python process. GSL exports only the ``cblas_*``
interface, so the products here call the Fortran interface (``sgemm_``,
``dgemm_``) of the BLAS that SciPy was built against, which QGIS does not
replace. Outside QGIS that is the kernel NumPy calls too: the results equal
``a @ b`` to rounding (bit for bit for general C-ordered operands).

The routine is called through ctypes, which releases the GIL while it runs,
as NumPy does: SciPy's own wrapper holds it, and would stall Python on
QGIS's main thread (dialogs, console) while a background task interpolates.
"""
import ctypes
from functools import lru_cache

import numpy as np
from scipy.linalg import blas

_WRAPPERS = {np.dtype(np.float32): blas.sgemm, np.dtype(np.float64): blas.dgemm}
_INT = ctypes.c_int  # scipy.linalg.blas.sgemm/dgemm are the LP64 (32-bit integer) routines


@lru_cache(maxsize=None)
def _fortran_gemm(dtype):
    """ctypes function of the ``?gemm_`` routine behind SciPy's wrapper for ``dtype``, or None.

    Arguments as Fortran passes them: transa, transb, m, n, k, alpha, a,
    lda, b, ldb, beta, c, ldc by reference, then the two character lengths.
    """
    get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
    get_pointer.restype = ctypes.c_void_p
    get_pointer.argtypes = (ctypes.py_object, ctypes.c_char_p)
    try:
        address = get_pointer(_WRAPPERS[dtype]._cpointer, None)
    except (AttributeError, ValueError, TypeError):
        return None
    if not address:
        return None
    by_reference, pointer = ctypes.POINTER(_INT), ctypes.c_void_p
    prototype = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_char_p, by_reference, by_reference, by_reference,
                                 pointer, pointer, by_reference, pointer, by_reference, pointer, pointer, by_reference,
                                 ctypes.c_size_t, ctypes.c_size_t)
    return prototype(address)


def _as_column_major(matrix):
    """(view, transposed): a Fortran-ordered view of ``matrix`` or of its transpose, copying only if neither is."""
    if matrix.flags.f_contiguous:
        return matrix, False
    if matrix.flags.c_contiguous:
        return matrix.T, True
    return np.asfortranarray(matrix), False


def _column_major_product(left, transpose_left, right, transpose_right):
    """op(left) op(right) of Fortran-ordered matrices as a Fortran-ordered array (op: transpose or not)."""
    rows = left.shape[1] if transpose_left else left.shape[0]
    inner = left.shape[0] if transpose_left else left.shape[1]
    columns = right.shape[0] if transpose_right else right.shape[1]
    routine = _fortran_gemm(left.dtype)
    if routine is None:
        return _WRAPPERS[left.dtype](1.0, left, right, trans_a=int(transpose_left), trans_b=int(transpose_right))
    product = np.empty((rows, columns), dtype=left.dtype, order="F")
    real = ctypes.c_float if left.dtype == np.float32 else ctypes.c_double
    one, zero = real(1.0), real(0.0)
    routine(b"T" if transpose_left else b"N", b"T" if transpose_right else b"N",
            ctypes.byref(_INT(rows)), ctypes.byref(_INT(columns)), ctypes.byref(_INT(inner)),
            ctypes.addressof(one), left.ctypes.data, ctypes.byref(_INT(max(1, left.shape[0]))),
            right.ctypes.data, ctypes.byref(_INT(max(1, right.shape[0]))),
            ctypes.addressof(zero), product.ctypes.data, ctypes.byref(_INT(max(1, rows))), 1, 1)
    return product


def matmul(a, b):
    """``a @ b`` of an (m, k) and a (k, n) real matrix, as an (m, n) C-ordered array.

    float32 when both are float32, float64 otherwise. Computed as the
    column-major product (b' a')' so that C-ordered operands are passed
    without copies. The result is always C-contiguous (callers update it in
    place through ``reshape(-1)``).
    """
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"matmul needs (m, k) and (k, n) matrices, got {a.shape} and {b.shape}")
    if not all(np.issubdtype(matrix.dtype, np.floating) or np.issubdtype(matrix.dtype, np.integer)
               for matrix in (a, b)):
        raise TypeError(f"matmul needs real matrices, got {a.dtype} and {b.dtype}")
    dtype = np.dtype(np.float32) if a.dtype == b.dtype == np.float32 else np.dtype(np.float64)
    if 0 in a.shape or 0 in b.shape:
        return np.zeros((a.shape[0], b.shape[1]), dtype)
    left, left_transposed = _as_column_major(b.astype(dtype, copy=False))
    right, right_transposed = _as_column_major(a.astype(dtype, copy=False))
    # left is b' when transposed, right is a'; op(left) op(right) must give b' a'
    return _column_major_product(left, not left_transposed, right, not right_transposed).T
