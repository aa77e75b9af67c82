"""Turbulent atmospheric delay as a stationary Gaussian random field.

The paper (section II-B, equation 1) models the covariance of UK velocities as
C(d) = a exp(-b d) for separations d > 0 (d in km, C in mm^2/yr^2). The paper
samples it through a Cholesky factor; at 224 x 224 pixels that matrix is
50,176 square, so we use circulant embedding instead, which is exact for a
stationary covariance and costs two FFTs per pair of fields.
"""
import numpy as np
from scipy import fft

# Section II-B: ranges found across the UK SatSense data.
DEFAULT_A_RANGE = (0.7, 1.8)  # mm^2/yr^2
DEFAULT_B_RANGE = (0.8, 1.6)  # 1/km
EMBEDDING_BYTES_PER_CELL = 64  # peak while drawing: distances, covariance, spectrum, complex noise and FFTs


def exponential_covariance(distance_km, a, b):
    """Equation 1 for d > 0: covariance a exp(-b d) in mm^2/yr^2."""
    return a * np.exp(-b * np.asarray(distance_km, dtype=float))


def _embedding_size(n, pixel_size_m, b):
    """Side of the periodic grid: at least twice the field and five e-folding lengths."""
    correlation_px = 1000.0 / (b * pixel_size_m)
    size = max(2 * n, n + int(np.ceil(5 * correlation_px)))
    return size + size % 2


def atmosphere_bytes(shape, pixel_size_m, b):
    """Peak memory (bytes) of drawing a (rows, cols) field at ``pixel_size_m`` with decay ``b`` (1/km).

    The periodic grid spans five e-folding lengths beyond the field, so
    small pixels or a slow decay need far more memory than the field itself.
    """
    cells = _embedding_size(shape[0], pixel_size_m, b) * _embedding_size(shape[1], pixel_size_m, b)
    return EMBEDDING_BYTES_PER_CELL * cells


def _embedding_spectrum(shape, pixel_size_m, a, b):
    """Eigenvalues of the circulant matrix that embeds the field's covariance."""
    rows = _embedding_size(shape[0], pixel_size_m, b)
    cols = _embedding_size(shape[1], pixel_size_m, b)
    dy = np.minimum(np.arange(rows), rows - np.arange(rows)) * pixel_size_m / 1000.0
    dx = np.minimum(np.arange(cols), cols - np.arange(cols)) * pixel_size_m / 1000.0
    distance = np.hypot(dy[:, None], dx[None, :])
    spectrum = fft.fft2(exponential_covariance(distance, a, b)).real
    return np.clip(spectrum, 0.0, None) / (rows * cols)


def turbulent_atmosphere(shape, pixel_size_m, a, b, rng, count=1):
    """Draw ``count`` independent atmosphere fields, shape (count, rows, cols), mm/yr.

    Each field has zero mean and covariance a exp(-b d) between pixels d km
    apart (pixel_size_m metres per pixel). One complex FFT yields two
    independent fields (its real and imaginary parts).
    """
    amplitude = np.sqrt(_embedding_spectrum(shape, pixel_size_m, a, b))
    fields = []
    while len(fields) < count:
        noise = rng.standard_normal(amplitude.shape) + 1j * rng.standard_normal(amplitude.shape)
        pair = fft.fft2(amplitude * noise)[: shape[0], : shape[1]]
        fields.extend([pair.real, pair.imag])
    return np.stack(fields[:count]).astype(np.float32)
