"""Which BLAS serves matrix products in this process, and how fast they run.

On Linux a symbol that a Python extension imports is looked up first in the
process's global scope (the program and the libraries it links), then among
the extension's own dependencies. QGIS's libraries link GSL, so inside QGIS
``cblas_sgemm`` and the rest of NumPy's CBLAS calls bind to GSL's unoptimised
reference ``libgslcblas``, whatever BLAS NumPy was built against. This module
names the library each product path reaches and times both: NumPy's ``@``
and the plugin's :func:`core.common.matrix_products.matmul` (SciPy's Fortran BLAS).
"""
import ctypes
import importlib
import importlib.machinery
import os
import sys
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .matrix_products import matmul

PROBE_SHAPE = (1024, 1024, 64)  # (m, k, n): a tall-skinny product like the interpolation solver's
PROBE_REPEATS = 5  # the best of these timings counts
SLOW_SHARE = 1 / 3  # of an unnamed library: NumPy's products below this share of the plugin's speed are slow
REFERENCE_GFLOPS = 5.0  # of an unnamed library: float32 speed below which a BLAS is taken for a reference one
                         # (a reference triple loop reaches 1-3 GFLOP/s; an optimised BLAS 20 or more per core)
OPTIMISED_NAMES = ("openblas", "mkl", "blis", "accelerate", "veclib", "armpl", "essl")
REFERENCE_NAMES = ("gslcblas", "/blas/", "libblas.so", "libcblas.so")  # GSL's; netlib's (Debian: .../blas/)


class _DlInfo(ctypes.Structure):
    _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]


def _dladdr():
    """The C library's ``dladdr`` (glibc 2.34 and later; libdl before), or None."""
    for name in (None, "libdl.so.2"):
        try:
            function = ctypes.CDLL(name).dladdr
        except (OSError, AttributeError, TypeError):
            continue
        function.argtypes = (ctypes.c_void_p, ctypes.POINTER(_DlInfo))
        function.restype = ctypes.c_int
        return function
    return None


def _symbol_address(library, symbol):
    try:
        return ctypes.cast(getattr(library, symbol), ctypes.c_void_p).value
    except AttributeError:
        return None


def library_serving(symbol, module_path):
    """Path of the shared library whose ``symbol`` the extension ``module_path`` calls, or None.

    None when the extension's own dependencies define no ``symbol`` (it
    calls another BLAS interface), when it cannot be found, and off Linux,
    which is not examined. Otherwise the global scope wins, as in the dynamic
    linker's own lookup, and only when no library there defines ``symbol``
    does the extension's own dependency serve it. The global scope is read
    as it is now: the program's libraries, which are what matters inside QGIS.
    """
    dladdr = _dladdr() if sys.platform.startswith("linux") else None
    if dladdr is None or module_path is None:
        return None
    try:
        extension = ctypes.CDLL(module_path, mode=ctypes.RTLD_LOCAL | os.RTLD_NOLOAD)
    except OSError:
        return None
    own = _symbol_address(extension, symbol)
    if own is None:
        return None
    address = _symbol_address(ctypes.CDLL(None), symbol) or own
    info = _DlInfo()
    if not dladdr(address, ctypes.byref(info)) or not info.dli_fname:
        return None
    return os.path.realpath(info.dli_fname.decode(errors="replace"))


def _extension_file(module):
    """File of the compiled ``module`` (a dotted name), or None.

    None when it cannot be imported or is a Python stub (NumPy 2 keeps
    numpy.core._multiarray_umath as one).
    """
    try:
        path = importlib.import_module(module).__file__
    except (ImportError, AttributeError):
        return None
    return path if path and path.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)) else None


def _numpy_extension():
    return _extension_file("numpy._core._multiarray_umath") or _extension_file("numpy.core._multiarray_umath")


def _scipy_blas_extension():
    return _extension_file("scipy.linalg._fblas")


def library_kind(library):
    """"reference", "optimised", or None when ``library`` (a path or None) is not one we know."""
    name = (library or "").lower()
    if any(known in name for known in OPTIMISED_NAMES):
        return "optimised"
    if any(known in name for known in REFERENCE_NAMES):
        return "reference"
    return None


def product_gflops(product, shape=PROBE_SHAPE, repeats=PROBE_REPEATS):
    """float32 speed of ``product(a, b)`` on an (m, k) by (k, n) pair, GFLOP/s (best of ``repeats``)."""
    m, k, n = shape
    generator = np.random.default_rng(0)
    a = generator.standard_normal((m, k), dtype=np.float32)
    b = generator.standard_normal((k, n), dtype=np.float32)
    product(a, b)
    best = np.inf
    for _ in range(repeats):
        started = time.perf_counter()
        product(a, b)
        best = min(best, time.perf_counter() - started)
    return 2.0 * m * k * n / max(best, 1e-9) / 1e9


@dataclass(frozen=True)
class BlasReport:
    """Speeds (float32 GFLOP/s) and serving libraries (paths) of NumPy's products and of the plugin's."""

    numpy_gflops: float
    plugin_gflops: float
    numpy_library: Optional[str] = None  # serves NumPy's cblas_sgemm
    plugin_library: Optional[str] = None  # serves SciPy's sgemm_

    @property
    def numpy_is_slow(self):
        """NumPy's ``@`` reaches a reference BLAS: by its library's name, else by its speed."""
        kind = library_kind(self.numpy_library)
        return kind == "reference" if kind else self.numpy_gflops < SLOW_SHARE * self.plugin_gflops

    @property
    def plugin_is_slow(self):
        """The plugin's products reach a reference BLAS: by its library's name, else by its speed."""
        kind = library_kind(self.plugin_library)
        return kind == "reference" if kind else self.plugin_gflops < REFERENCE_GFLOPS

    def explanation(self):
        """One line for the user on what the libraries and speeds mean."""
        if self.plugin_is_slow:
            return (f"Matrix products run at {self.plugin_gflops:.1f} GFLOP/s even through SciPy's BLAS"
                    f"{_named(self.plugin_library)}, an unoptimised reference BLAS, so interpolation is slow: "
                    "install OpenBLAS (Debian, Ubuntu: apt install libopenblas0) and restart QGIS.")
        if self.numpy_is_slow:
            cause = (" that this program loaded before NumPy" if "gslcblas" in (self.numpy_library or "") else "")
            return (f"NumPy's matrix products run at {self.numpy_gflops:.1f} GFLOP/s on an unoptimised reference "
                    f"CBLAS{_named(self.numpy_library)}{cause}; the plugin calls SciPy's BLAS instead "
                    f"({self.plugin_gflops:.1f} GFLOP/s), so its interpolation is not slowed.")
        return (f"Matrix products run on an optimised BLAS (NumPy {self.numpy_gflops:.1f}, plugin "
                f"{self.plugin_gflops:.1f} GFLOP/s).")

    def lines(self):
        """(label, value) pairs for the diagnostics text."""
        return [("NumPy matrix products", f"{self.numpy_gflops:.1f} GFLOP/s{_served_by(self.numpy_library)}"),
                ("Plugin matrix products (SciPy BLAS)",
                 f"{self.plugin_gflops:.1f} GFLOP/s{_served_by(self.plugin_library)}"),
                ("BLAS verdict", self.explanation())]


def _served_by(library):
    return f" ({library})" if library else ""


def _named(library):
    return f" ({os.path.basename(library)})" if library else ""


def blas_report():
    """Time NumPy's ``@`` and the plugin's ``matmul`` here and name the libraries they reach (about 0.5 s)."""
    return BlasReport(numpy_gflops=product_gflops(np.matmul), plugin_gflops=product_gflops(matmul),
                      numpy_library=library_serving("cblas_sgemm", _numpy_extension()),
                      plugin_library=library_serving("sgemm_", _scipy_blas_extension()))
