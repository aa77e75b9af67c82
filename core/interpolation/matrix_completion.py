"""Modified matrix completion of sparse velocities (section III-A, Algorithm 1).

Algorithm 1 alternates a gradient step towards the measurements, shrinkage of
the singular values with the non-convex p-norm, and a Gaussian low-pass, while
the regularisation weight alpha decays geometrically. Two solvers share that
loop:

* :func:`complete_reference` is Algorithm 1 as written: a full SVD of the tile
  in every iteration (O(n^3)).
* :func:`complete_fast` runs the same schedule at a fraction of the cost. It
  keeps x in factored form x = A B' (A: H x r, B: W x r), because the Gaussian
  filter is separable and linear, G(U S V') = (G_rows U S)(G_cols V)'; it finds
  the leading singular triplets by a randomised range finder warm-started with
  the previous iteration's right singular vectors, with r sized to the
  singular values that survive the shrinkage (at most SKETCH_MAX_RANK); once
  alpha has decayed it finishes at full rank (see ``polish``); and it starts
  from the nearest-measurement fill instead of the Delaunay triangulation.
  bench/interpolation.py measures both against a known truth.
"""
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.ndimage import distance_transform_edt, gaussian_filter, gaussian_filter1d

from ..common.errors import Cancelled, InputError
from ..common.matrix_products import matmul
from ..common.workers import thread_budget
from .delaunay import delaunay_interpolate
from .spike_noise import median3x3_at

STEP_LIPSCHITZ = 1.1  # Algorithm 1: lambda = 1.1 x largest eigenvalue of M'M, which is 1 for a mask
ALPHA0_FRACTION = 0.9  # Algorithm 1: alpha0 = 0.9 max|Mx|
ALPHA_DECAY = 0.9  # Algorithm 1, line 15: alpha <- 0.9 alpha
FILTER_MODE = "reflect"  # edge handling of G(x, sigma) at tile borders
SKETCH_OVERSAMPLING = 16  # extra columns of the randomised range finder
SKETCH_MIN_RANK = 32
SKETCH_MAX_RANK = 64  # leading singular values tracked; the dense polish restores the rest
SKETCH_SMALLEST_CAP = 16
SKETCH_PIXELS_PER_RANK = 14  # smaller tiles track fewer: at 224 px rank 16 agrees with the full SVD
                             # as closely as rank 64 does (0.002-0.05 mm/yr RMS), at a third of the cost
MATRIX_FILTER_MAX_SIDE = 512  # up to this side the low-pass runs as one matrix product


@dataclass(frozen=True)
class MatrixCompletionSettings:
    """Parameters of Algorithm 1.

    p: non-convex norm exponent, 0 < p <= 1 (paper: 0.8).
    sigma: standard deviation of the Gaussian low-pass, pixels (paper: 5).
    tau: tolerance of both loops (paper: 1e-4).
    max_iterations: K, the inner iteration cap per alpha (paper: 200).
    """

    p: float = 0.8
    sigma: float = 5.0
    tau: float = 1e-4
    max_iterations: int = 200

    def validate(self):
        """Raise :class:`InputError` naming the first out-of-range parameter."""
        if not 0.0 < self.p <= 1.0:
            raise InputError("P", f"must lie in (0, 1], got {self.p}")
        if not 0.0 <= self.sigma <= 100.0:
            raise InputError("SIGMA", f"must lie in [0, 100] pixels, got {self.sigma}")
        if not 0.0 < self.tau < 1.0:
            raise InputError("TAU", f"must lie in (0, 1), got {self.tau}")
        if not 1 <= self.max_iterations <= 100000:
            raise InputError("MAX_ITERATIONS", f"must lie in [1, 100000], got {self.max_iterations}")


def shrink_singular_values(singular_values, alpha, p):
    """Line 6 of Algorithm 1: max(0, s - alpha/(2 lambda) s^(p-1)) for s >= 0."""
    s = np.asarray(singular_values, dtype=float)
    positive = s > 0
    shrunk = np.zeros_like(s)
    shrunk[positive] = np.maximum(0.0, s[positive] - alpha / (2 * STEP_LIPSCHITZ) * s[positive] ** (p - 1))
    return shrunk


def suppressed_measurements(sparse):
    """Measured pixels of ``sparse`` (H, W; NaN = unmeasured) and their Med3x3-suppressed values.

    Returns (rows, cols, y) with y in mm/yr: the noise suppression of
    Algorithm 1's start.
    """
    rows, cols = np.nonzero(np.isfinite(sparse))
    return rows, cols, median3x3_at(sparse, rows, cols)


def delaunay_start(rows, cols, y, shape):
    """Algorithm 1's x0: the (H, W) Delaunay interpolation of the suppressed values."""
    return delaunay_interpolate(rows, cols, y, shape)


def nearest_start(rows, cols, y, shape):
    """(H, W) start where every pixel takes its nearest suppressed measurement.

    The fast solver's x0: the 88-level schedule forgets its start (on the
    2500 x 2500 benchmark the result matches the Delaunay start's to 1e-5
    mm/yr RMSE) and this one costs 0.3 s instead of 10 s of triangulation.
    """
    grid = np.full(shape, np.nan)
    grid[rows, cols] = y
    nearest = distance_transform_edt(np.isnan(grid), return_distances=False, return_indices=True)
    return grid[tuple(nearest)]


def _constant_field(shape, y):
    """(H, W) field at the mean of fewer than three measurements (zero for none)."""
    return np.full(shape, float(np.mean(y)) if len(y) else 0.0)


def _run_schedule(step, alpha0, settings, progress, is_cancelled):
    """The two loops of Algorithm 1 around ``step(alpha) -> cost f``.

    Counts the iterations, reports progress as the share of the alpha decades
    covered, and raises :class:`Cancelled` between iterations.
    """
    alpha, iterations = alpha0, 0
    decades = -np.log(settings.tau)
    while alpha > settings.tau * alpha0:
        previous = None
        for _ in range(settings.max_iterations):
            if is_cancelled is not None and is_cancelled():
                raise Cancelled()
            cost = step(alpha)
            iterations += 1
            if previous is not None and abs(cost - previous) < settings.tau * abs(cost + previous):
                break
            previous = cost
        alpha *= ALPHA_DECAY
        if progress is not None:
            progress(min(1.0, np.log(alpha0 / alpha) / decades))
    return iterations


def complete_reference(sparse, settings=MatrixCompletionSettings(), progress=None, is_cancelled=None):
    """Algorithm 1 with a full SVD per iteration; returns the dense (H, W) field, mm/yr."""
    rows, cols, y = suppressed_measurements(sparse)
    if len(y) < 3:
        return _constant_field(sparse.shape, y)
    state = {"x": delaunay_start(rows, cols, y, sparse.shape)}
    flat = rows * sparse.shape[1] + cols

    def step(alpha):
        _gradient_step(state["x"], flat, y)
        u, s, vt = np.linalg.svd(state["x"], full_matrices=False)
        s = shrink_singular_values(s, alpha, settings.p)
        state["x"] = gaussian_filter(matmul(u * s, vt), settings.sigma, mode=FILTER_MODE)
        return _misfit(state["x"], flat, y) + alpha * s.sum()

    _run_schedule(step, ALPHA0_FRACTION * np.max(np.abs(y)), settings, progress, is_cancelled)
    return state["x"]


def _gradient_step(x, flat, y):
    """Line 3 of Algorithm 1 in place: x <- x + M'(y - Mx) / lambda at flat indices ``flat``."""
    view = x.reshape(-1)
    current = np.take(view, flat)
    np.put(view, flat, current + (y - current) / STEP_LIPSCHITZ)


def _norm(x):
    """Frobenius norm of a 2-D array.

    Summed by NumPy's own loops: np.linalg.norm calls CBLAS sdot, which
    inside QGIS is GSL's reference one (3x slower, less accurate).
    """
    return float(np.sqrt(np.einsum("ij,ij->", x, x)))


def _misfit(x, flat, y):
    """||y - Mx||^2 in (mm/yr)^2."""
    return float(np.sum((y - np.take(x.reshape(-1), flat)) ** 2))


def max_sketch_rank(shape):
    """Singular values the fast solver tracks for an (H, W) tile."""
    return int(np.clip(min(shape) // SKETCH_PIXELS_PER_RANK, SKETCH_SMALLEST_CAP, SKETCH_MAX_RANK))


@lru_cache(maxsize=8)
def _filter_matrix(length, sigma):
    """(length, length) float32 matrix G with G @ f == gaussian_filter1d(f, sigma, axis=0)."""
    identity = np.eye(length, dtype=np.float32)
    return gaussian_filter1d(identity, sigma, axis=0, mode=FILTER_MODE)


def _low_pass_columns(factor, sigma):
    """G(., sigma) along axis 0 of an (n, k) factor."""
    if factor.shape[0] <= MATRIX_FILTER_MAX_SIDE:
        return matmul(_filter_matrix(factor.shape[0], sigma), factor)
    return gaussian_filter1d(factor, sigma, axis=0, mode=FILTER_MODE)


def _low_pass(x, sigma):
    """G(x, sigma) of an (H, W) array: two matrix products when small, threads when large."""
    if max(x.shape) <= MATRIX_FILTER_MAX_SIDE:
        rows_filtered = matmul(_filter_matrix(x.shape[0], sigma), x.astype(np.float32))
        return matmul(rows_filtered, _filter_matrix(x.shape[1], sigma).T)
    return _parallel_gaussian(x, sigma)


def _parallel_gaussian(x, sigma):
    """G(x, sigma) of a 2-D array, equal to gaussian_filter, on this process's thread budget.

    The filter is separable: the pass along rows runs on bands of rows and
    the pass along columns on bands of columns, in threads (scipy.ndimage
    releases the GIL while it filters). A worker process keeps to its one
    thread, so that workers sharing a machine do not fight over its cores.
    """
    workers = max(1, min(thread_budget(), 8))
    row_bands = [(band, slice(None)) for band in _bands(x.shape[0], workers)]
    column_bands = [(slice(None), band) for band in _bands(x.shape[1], workers)]
    along_rows, result = np.empty_like(x), np.empty_like(x)
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda part: gaussian_filter1d(x[part], sigma, axis=1, mode=FILTER_MODE,
                                                     output=along_rows[part]), row_bands))
        list(pool.map(lambda part: gaussian_filter1d(along_rows[part], sigma, axis=0, mode=FILTER_MODE,
                                                     output=result[part]), column_bands))
    return result


def _bands(length, count):
    """Up to ``count`` contiguous slices covering range(length)."""
    edges = np.linspace(0, length, min(count, length) + 1).astype(int)
    return [slice(start, stop) for start, stop in zip(edges[:-1], edges[1:])]


def _eigh_descending(gram, relative_floor=1e-12):
    """Eigenpairs of a symmetric positive semi-definite matrix, largest first, tiny ones dropped."""
    eigenvalues, vectors = np.linalg.eigh(gram)
    largest = eigenvalues[-1] if len(eigenvalues) else 0.0
    keep = eigenvalues > relative_floor * max(largest, np.finfo(float).tiny)
    return eigenvalues[keep][::-1], vectors[:, keep][:, ::-1]


def _orthonormal_columns(matrix):
    """An orthonormal float32 basis of the column space of ``matrix`` (n x k, n >> k).

    Works through the k x k Gram matrix, which is several times cheaper than
    a Householder QR of a tall matrix and robust to rank deficiency.
    """
    tall = matrix.astype(np.float64)
    eigenvalues, vectors = _eigh_descending(matmul(tall.T, tall))
    return matmul(tall, vectors / np.sqrt(eigenvalues)).astype(np.float32)


class _FactoredIterate:
    """State of the fast solver: dense x plus the warm-start basis of its rows."""

    def __init__(self, x, rows, cols, y, settings):
        self.x = x.astype(np.float32)
        self.flat = rows * x.shape[1] + cols
        self.y = y
        self.settings = settings
        self.max_rank = min(max_sketch_rank(x.shape), *x.shape)
        self.rank = min(SKETCH_MIN_RANK, self.max_rank)
        self.basis = None
        self.rng = np.random.default_rng(0)

    def _sketch(self):
        """Columns spanning the row space to probe: last right vectors plus random ones."""
        extra = self.rank - (0 if self.basis is None else self.basis.shape[1])
        random = self.rng.standard_normal((self.x.shape[1], max(extra, 0))).astype(np.float32)
        return random if self.basis is None else np.hstack([self.basis[:, : self.rank], random])

    def _leading_svd(self):
        """Leading singular triplets (u: H x k, s: k, v: W x k) of x within the sketched range."""
        q = _orthonormal_columns(matmul(self.x, self._sketch()))
        projected = matmul(q.T, self.x).astype(np.float64)
        eigenvalues, vectors = _eigh_descending(matmul(projected, projected.T))
        s = np.sqrt(eigenvalues)
        v = matmul(projected.T, vectors) / s
        return matmul(q, vectors.astype(np.float32)), s, v.astype(np.float32)

    def _resize(self, kept):
        """Rank for the next iteration: the survivors plus margin, growing while all survive."""
        if kept >= self.rank:
            self.rank = min(self.max_rank, int(np.ceil(1.5 * self.rank)))
        else:
            self.rank = min(self.max_rank, max(SKETCH_MIN_RANK, kept + SKETCH_OVERSAMPLING))

    def step(self, alpha):
        _gradient_step(self.x, self.flat, self.y)
        u, s, v = self._leading_svd()
        s = shrink_singular_values(s, alpha, self.settings.p)
        kept = int(np.count_nonzero(s))
        self._resize(kept)
        self.basis = v
        left = _low_pass_columns(u[:, :kept] * s[:kept].astype(np.float32), self.settings.sigma)
        right = _low_pass_columns(v[:, :kept], self.settings.sigma)
        self.x = matmul(left, right.T)
        return _misfit(self.x, self.flat, self.y) + alpha * s.sum()

    def polish(self, is_cancelled=None):
        """The schedule's tail at full rank: data step and low-pass until x settles.

        Once alpha has decayed to tau alpha0, the shrinkage no longer changes
        any singular value that matters, so Algorithm 1's iteration reduces
        to x <- G(x + M'(y - Mx) / lambda). Running it densely restores the
        small singular values that the truncated iterations left out. Stops
        when ||x_k - x_(k-1)|| < tau ||x_k||, or after K iterations.
        """
        for _ in range(self.settings.max_iterations):
            if is_cancelled is not None and is_cancelled():
                raise Cancelled()
            previous = self.x.copy()
            _gradient_step(self.x, self.flat, self.y)
            self.x = _low_pass(self.x, self.settings.sigma)
            if _norm(self.x - previous) < self.settings.tau * _norm(self.x):
                return


def complete_fast(sparse, settings=MatrixCompletionSettings(), progress=None, is_cancelled=None):
    """Algorithm 1 on a factored iterate; returns the dense (H, W) float32 field, mm/yr."""
    rows, cols, y = suppressed_measurements(sparse)
    if len(y) < 3:
        return _constant_field(sparse.shape, y).astype(np.float32)
    iterate = _FactoredIterate(nearest_start(rows, cols, y, sparse.shape), rows, cols, y, settings)
    _run_schedule(iterate.step, ALPHA0_FRACTION * np.max(np.abs(y)), settings, progress, is_cancelled)
    iterate.polish(is_cancelled)
    return iterate.x
