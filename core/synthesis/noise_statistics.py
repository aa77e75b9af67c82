"""Noise statistics of a velocity map: semivariogram, covariance and equation 1 (section II-B).

The paper measures the spatial noise of UK velocities with an empirical
semivariogram gamma(d) and covariance C(d) and fits equation 1,
C(d) = a exp(-b d) for d > 0 and C(0) = sill, with a = sill - nugget
(d in km, a, sill and nugget in mm^2/yr^2, b in 1/km). This module draws a
uniform random subsample of the measurements (point arrays, or a raster
streamed in row blocks), bins the pairs within a maximum distance in chunks so
memory stays bounded, fits equation 1 and writes the result as JSON (read back
by :func:`load_noise_statistics`) and optionally as a two-panel PNG like the
paper's Fig. 1.
"""
import json
import math
import os
import warnings
from dataclasses import dataclass

import numpy as np
from osgeo import osr
from scipy.optimize import OptimizeWarning, curve_fit

from ..common.dependencies import require
from ..common.errors import Cancelled, InputError
from ..common.raster_io import BLOCK_ROWS, atomic_outputs, open_band, read_window, row_blocks
from ..common.subsample import keep_smallest_keys
from ..common.value_checks import VELOCITY, ValueTally, declare_advice
from .atmosphere import exponential_covariance

FORMAT = "insardefo-noisestats"
VERSION = 1
UNITS = {"nugget": "mm^2/yr^2", "sill": "mm^2/yr^2", "a": "mm^2/yr^2", "b": "1/km", "distance": "km"}
MIN_MEASUREMENTS = 30  # fewer measurements cannot support a two-parameter fit of equation 1
MIN_FIT_BINS = 3  # distance bins with pairs needed to fit a and b
MAX_DECAY_AT_FIRST_BIN = 3.0  # b d beyond this at the first bin (C below 5 % of a): a is not determined
PAIR_BUDGET = 1_000_000  # point pairs (array elements) computed per chunk: about 8 MB per array
BLOCK_PIXELS = 4_000_000  # raster pixels read per block, whatever the raster's width


@dataclass(frozen=True)
class NoiseStatistics:
    """The fitted model of equation 1 and the binned statistics it was fitted to.

    ``nugget``, ``sill``, ``a`` in mm^2/yr^2, ``b`` in 1/km. The bin arrays
    have one entry per distance bin that holds pairs: mean separation (km),
    semivariance and covariance (mm^2/yr^2) and the number of pairs.
    """

    nugget: float
    sill: float
    a: float
    b: float
    measurements: int
    sample_size: int
    pairs: int
    seed: int
    max_distance_km: float
    source: str
    distance_km: np.ndarray
    semivariance: np.ndarray
    covariance: np.ndarray
    bin_pairs: np.ndarray

    def to_json(self):
        """The JSON document (a dict of plain Python values) of the statistics."""
        bins = [{"distance_km": float(d), "semivariance": float(g), "covariance": float(c), "pairs": int(n)}
                for d, g, c, n in zip(self.distance_km, self.semivariance, self.covariance, self.bin_pairs)]
        return {"format": FORMAT, "version": VERSION, "nugget": float(self.nugget), "sill": float(self.sill),
                "a": float(self.a), "b": float(self.b), "units": dict(UNITS),
                "sample_size": int(self.sample_size), "measurements": int(self.measurements),
                "pairs": int(self.pairs), "seed": int(self.seed), "max_distance_km": float(self.max_distance_km),
                "source": self.source, "bins": bins}


def _report(progress, fraction, message):
    if progress is not None:
        progress(fraction, message)


def _check_cancel(is_cancelled):
    if is_cancelled is not None and is_cancelled():
        raise Cancelled()


def validate_settings(sample_size, max_distance_km, bins, seed):
    """InputError naming the parameter when a setting is out of range."""
    if not (math.isfinite(max_distance_km) and max_distance_km > 0):
        raise InputError("MAX_DISTANCE_KM", f"must be a positive distance in km, got {max_distance_km}")
    if not MIN_FIT_BINS <= bins <= 10000:
        raise InputError("BINS", f"must lie in {MIN_FIT_BINS}..10000, got {bins}")
    if sample_size < MIN_MEASUREMENTS:
        raise InputError("SAMPLE_SIZE", f"must be at least {MIN_MEASUREMENTS}, got {sample_size}")
    if seed < 0:
        raise InputError("SEED", f"must be 0 or positive, got {seed}")


# ---------------------------------------------------------------------------- sampling
def subsample(count, sample_size, rng):
    """Sorted indices of a uniform random subsample (without replacement) of ``count`` items."""
    if count <= sample_size:
        return np.arange(count)
    return np.sort(rng.choice(count, size=sample_size, replace=False))


def _pixel_centres(geotransform, rows, cols):
    """Map coordinates (x, y) of the centres of pixels (rows, cols)."""
    x0, dx_col, dx_row, y0, dy_col, dy_row = geotransform
    return (x0 + (cols + 0.5) * dx_col + (rows + 0.5) * dx_row,
            y0 + (cols + 0.5) * dy_col + (rows + 0.5) * dy_row)


def metres_per_unit(projection_wkt):
    """Metres per map unit of a raster's projected CRS; InputError for none or a geographic one."""
    reference = osr.SpatialReference()
    if not projection_wkt or reference.ImportFromWkt(projection_wkt) != 0:
        raise InputError("INPUT", "the raster has no valid CRS; assign one first (gdal:assignprojection)")
    if reference.IsGeographic():
        raise InputError("INPUT", "the raster's CRS is geographic (degrees); distances need a projected CRS "
                                  "in metres: reproject it first with gdal:warpreproject")
    return reference.GetLinearUnits()


def sample_raster(path, band_number, sample_size, rng, progress=None, is_cancelled=None, inspect=None):
    """A uniform random subsample of the measured pixels of a velocity raster.

    Streams the band in row blocks (nodata and NaN are unmeasured) and keeps
    the pixels with the ``sample_size`` smallest random keys (bottom-k
    sampling), so memory follows the block and the sample, not the raster.
    ``inspect(block)``, when given, sees every block (NaN where no data).
    Returns (x_m, y_m, v, measurements): pixel centres in metres, velocities
    in mm/yr (1-D arrays of the sample) and the number of measured pixels.
    """
    dataset, band = open_band(path, band_number)
    to_metres = metres_per_unit(dataset.GetProjection())
    geotransform = dataset.GetGeoTransform()
    height, width = dataset.RasterYSize, dataset.RasterXSize
    kept = tuple(np.empty(0) for _ in range(4))  # keys, x, y, v
    measurements = 0
    blocks = row_blocks(height, max(1, min(BLOCK_ROWS, BLOCK_PIXELS // width)))
    for index, (row, rows) in enumerate(blocks):
        _check_cancel(is_cancelled)
        _report(progress, index / len(blocks), f"Sampling the raster (rows {row}-{row + rows - 1} of {height})")
        block = read_window(band, (row, 0, rows, width))
        if np.isinf(block).any():
            raise InputError("INPUT", f"holds infinite values (first in rows {row}-{row + rows - 1}); "
                                      "set them to nodata first")
        if inspect is not None:
            inspect(block)
        block_rows, cols = np.nonzero(np.isfinite(block))
        measurements += len(cols)
        keys = rng.random(len(cols))
        if len(kept[0]) == sample_size:
            chosen = keys < kept[0].max()
            keys, block_rows, cols = keys[chosen], block_rows[chosen], cols[chosen]
        x, y = _pixel_centres(geotransform, block_rows + row, cols)
        kept = keep_smallest_keys(kept, (keys, x, y, block[block_rows, cols]), sample_size)
    order = np.argsort(kept[0], kind="stable")
    _, x, y, v = (array[order] for array in kept)
    return x * to_metres, y * to_metres, v, measurements


# ---------------------------------------------------------------------------- statistics
def _check_measurements(count, v):
    if count < MIN_MEASUREMENTS:
        raise InputError("INPUT", f"has {count} measurement(s); the noise statistics need at least "
                                  f"{MIN_MEASUREMENTS}")
    if np.all(v == v[0]):
        raise InputError("INPUT", f"every sampled velocity equals {v[0]:g} mm/yr: there is no noise to measure")


def pair_sums(x_km, y_km, centred, max_distance_km, bins, progress=None, is_cancelled=None):
    """Per-bin sums over the pairs i < j at most ``max_distance_km`` apart.

    ``x_km``, ``y_km``, ``centred`` (velocity minus the sample mean, mm/yr)
    are 1-D arrays of n points. Pairs are computed a chunk of rows at a time
    (at most PAIR_BUDGET pairs) against the points sorted by x within reach.
    Returns a (4, bins) array: pair counts, sums of distance (km), of
    (z_i - z_j)^2 / 2 and of (z_i - m)(z_j - m) (mm^2/yr^2).
    """
    order = np.argsort(x_km, kind="stable")
    x, y, z = x_km[order], y_km[order], centred[order]
    count = len(x)
    sums = np.zeros((4, bins))
    chunk = max(1, PAIR_BUDGET // count)
    for start in range(0, count, chunk):
        _check_cancel(is_cancelled)
        _report(progress, start / count, f"Pairs of points {start} to {min(count, start + chunk)} of {count}")
        stop = min(count, start + chunk)
        end = int(np.searchsorted(x, x[stop - 1] + max_distance_km, side="right"))
        distance = np.hypot(x[start:end] - x[start:stop, None], y[start:end] - y[start:stop, None])
        later = np.arange(start, end) > np.arange(start, stop)[:, None]
        first, second = np.nonzero(later & (distance <= max_distance_km))
        separation = distance[first, second]
        zi, zj = z[start + first], z[start + second]
        index = np.minimum((separation * (bins / max_distance_km)).astype(np.int64), bins - 1)
        for row, weights in enumerate((None, separation, 0.5 * (zi - zj) ** 2, zi * zj)):
            sums[row] += np.bincount(index, weights, minlength=bins)
    return sums


def fit_equation_1(distance_km, covariance, pairs, sill):
    """(a, b) of equation 1, C(d) = a exp(-b d), fitted to binned covariances (d > 0).

    Least squares weighted by the pair count of each bin, with 0 < a <= sill
    (the nugget sill - a is never negative) and b > 0 (1/km). InputError
    naming INPUT when the fit does not converge to positive values, or when
    the fitted covariance has died out before the first bin (then nothing
    determines a: the noise is white at the sampled separations).
    """
    used = distance_km > 0
    d, c, n = distance_km[used], covariance[used], pairs[used]
    if len(d) < MIN_FIT_BINS:
        raise InputError("INPUT", f"only {len(d)} distance bin(s) hold pairs; the fit needs {MIN_FIT_BINS}: "
                                  "increase MAX_DISTANCE_KM or SAMPLE_SIZE")
    a0 = float(np.clip(c[0], 0.01 * sill, sill))
    below = np.nonzero(c < a0 / math.e)[0]
    b0 = 1.0 / (d[below[0]] if len(below) else d[-1])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            (a, b), _ = curve_fit(exponential_covariance, d, c, p0=(a0, b0), sigma=1.0 / np.sqrt(n),
                                  bounds=((0.0, 0.0), (sill, np.inf)), maxfev=10000)
    except (RuntimeError, ValueError) as failure:
        raise InputError("INPUT", f"the exponential covariance of equation 1 could not be fitted ({failure})") from None
    if not (math.isfinite(a) and math.isfinite(b) and a > 0 and b > 0) or b * d[0] > MAX_DECAY_AT_FIRST_BIN:
        raise InputError("INPUT", f"the fit of equation 1 gave a = {a:.3g} mm^2/yr^2, b = {b:.3g} /km: no "
                                  f"spatially correlated noise shows at the sampled separations (the closest "
                                  f"bin lies at {d[0]:.3g} km); the noise looks white (all nugget). Use a "
                                  "smaller area, a larger SAMPLE_SIZE or a smaller MAX_DISTANCE_KM")
    return float(a), float(b)


def estimate(x_m, y_m, v, *, sample_size=4000, max_distance_km=5.0, bins=30, seed=0, source="",
             measurements=None, progress=None, is_cancelled=None):
    """Noise statistics of velocities ``v`` (mm/yr) at ``x_m``, ``y_m`` (metres, 1-D arrays).

    Points beyond ``sample_size`` are subsampled uniformly at random with
    ``seed``; ``measurements`` is the count they were drawn from (default:
    len(v)). The sill is the sample variance C(0), the nugget sill - a.
    """
    validate_settings(sample_size, max_distance_km, bins, seed)
    v = np.asarray(v, dtype=float)
    if not np.isfinite(v).all():
        raise InputError("INPUT", f"holds {int((~np.isfinite(v)).sum())} infinite or NaN velocity value(s)")
    measurements = len(v) if measurements is None else measurements
    _check_measurements(measurements, v)
    chosen = subsample(len(v), sample_size, np.random.default_rng(seed))
    x_km = np.asarray(x_m, dtype=float)[chosen] / 1000.0
    y_km = np.asarray(y_m, dtype=float)[chosen] / 1000.0
    _check_bins_fit(x_km, y_km, max_distance_km, bins)
    centred = v[chosen] - v[chosen].mean()
    sill = float(np.mean(centred ** 2))
    sums = pair_sums(x_km, y_km, centred, max_distance_km, bins, progress, is_cancelled)
    held = sums[0] > 0
    pairs, distance, semivariance, covariance = sums[0, held], *(sums[1:, held] / sums[0, held])
    _report(progress, 1.0, "Fitting equation 1")
    a, b = fit_equation_1(distance, covariance, pairs, sill)
    return NoiseStatistics(nugget=sill - a, sill=sill, a=a, b=b, measurements=int(measurements),
                           sample_size=len(chosen), pairs=int(pairs.sum()), seed=int(seed),
                           max_distance_km=float(max_distance_km), source=source, distance_km=distance,
                           semivariance=semivariance, covariance=covariance, bin_pairs=pairs.astype(np.int64))


def _check_bins_fit(x_km, y_km, max_distance_km, bins):
    """InputError naming MAX_DISTANCE_KM when the map spans fewer distance bins than the fit needs."""
    span = float(np.hypot(np.ptp(x_km), np.ptp(y_km)))
    if span < MIN_FIT_BINS * max_distance_km / bins:
        raise InputError("MAX_DISTANCE_KM", f"{max_distance_km:g} km in {bins} bins is too long for this map, "
                                            f"which spans {span:.3g} km: its pairs fill fewer than the "
                                            f"{MIN_FIT_BINS} bins the fit needs. Choose at most {span:.3g} km, a few "
                                            "times the noise's correlation length (default 5 km)")


def estimate_from_raster(path, band=1, *, sample_size=4000, max_distance_km=5.0, bins=30, seed=0,
                         progress=None, is_cancelled=None):
    """Noise statistics of a velocity raster (mm/yr; nodata and NaN are unmeasured), streamed.

    Values no velocity can have (an undeclared no-data value) are refused,
    checked in the same pass as the sampling.
    """
    validate_settings(sample_size, max_distance_km, bins, seed)
    tally = ValueTally(VELOCITY)

    def sampling_progress(fraction, message):
        _report(progress, 0.5 * fraction, message)

    def pair_progress(fraction, message):
        _report(progress, 0.5 + 0.5 * fraction, message)

    x, y, v, measurements = sample_raster(path, band, sample_size, np.random.default_rng(seed),
                                          sampling_progress, is_cancelled, inspect=tally.add)
    if measurements == 0:
        raise InputError("INPUT", "has no valid cell: every cell is nodata or NaN")
    tally.check("INPUT", declare_advice("NODATA"))
    return estimate(x, y, v, sample_size=sample_size, max_distance_km=max_distance_km, bins=bins, seed=seed,
                    source=path, measurements=measurements, progress=pair_progress, is_cancelled=is_cancelled)


# ---------------------------------------------------------------------------- files
def write_outputs(statistics, json_path, plot_path=None):
    """Write the JSON file and, if ``plot_path`` is given, the PNG figure; both or neither appear."""
    if plot_path:
        require("matplotlib")
    with atomic_outputs(json_path, plot_path) as ((partial_json, partial_plot), _):
        with open(partial_json, "w", encoding="utf-8") as handle:
            json.dump(statistics.to_json(), handle, indent=2)
            handle.write("\n")
        if partial_plot:
            plot(statistics, partial_plot)


def plot(statistics, path):
    """A two-panel PNG like the paper's Fig. 1: (a) semivariogram, (b) covariance, with the fit."""
    require("matplotlib")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    s = statistics
    model_d = np.linspace(0.0, max(s.max_distance_km, float(s.distance_km.max())), 300)[1:]
    fitted = f"a = {s.a:.3g} mm²/yr², b = {s.b:.3g} /km"
    figure = Figure(figsize=(11, 4.5), dpi=100)
    FigureCanvasAgg(figure)
    variogram, covariance = figure.subplots(1, 2)

    variogram.plot(s.distance_km, s.semivariance, "o", color="tab:blue", markersize=4, label="Empirical γ(d)")
    variogram.plot(model_d, s.sill - exponential_covariance(model_d, s.a, s.b), color="tab:red",
                   label=f"γ(d) = sill − a exp(−b d)\n{fitted}")
    variogram.axhline(s.sill, color="grey", linestyle="--", label=f"Sill = {s.sill:.3g} mm²/yr²")
    variogram.plot([0.0], [s.nugget], "s", color="black", clip_on=False, zorder=3,
                   label=f"Nugget = {s.nugget:.3g} mm²/yr²")
    variogram.set_ylim(bottom=0.0)
    variogram.set(title="(a) Semivariogram", xlabel="Distance d (km)", ylabel="Semivariance γ(d) (mm²/yr²)")

    covariance.plot(s.distance_km, s.covariance, "o", color="tab:blue", markersize=4, label="Empirical C(d)")
    covariance.plot(model_d, exponential_covariance(model_d, s.a, s.b), color="tab:red",
                    label=f"C(d) = a exp(−b d)\n{fitted}")
    covariance.plot([0.0], [s.sill], "s", color="black", clip_on=False, zorder=3,
                    label=f"C(0) = sill = {s.sill:.3g} mm²/yr²")
    covariance.axhline(0.0, color="grey", linewidth=0.8)
    covariance.set(title="(b) Covariance", xlabel="Distance d (km)", ylabel="Covariance C(d) (mm²/yr²)")

    for axes in (variogram, covariance):
        axes.set_xlim(left=0.0)
        axes.grid(alpha=0.3)
        axes.legend(fontsize="small")
    figure.suptitle(f"Noise statistics of {os.path.basename(s.source) or 'the velocities'}: "
                    f"{s.sample_size:,} points, {s.pairs:,} pairs within {s.max_distance_km:g} km")
    figure.tight_layout()
    figure.savefig(path, format="png")


def _positive_number(document, key, allow_zero=False):
    value = document.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError("NOISE_STATS", f"holds no finite number {key!r} (got {value!r})")
    if value < 0 or (value == 0 and not allow_zero):
        raise InputError("NOISE_STATS", f"{key!r} must be {'0 or ' if allow_zero else ''}positive, got {value}")
    return float(value)


def load_noise_statistics(path):
    """{'a', 'b', 'nugget', 'sill'} (floats) of a JSON file written by insardefo:noisestats.

    a, sill and the nugget in mm^2/yr^2, b in 1/km. InputError naming
    NOISE_STATS for a missing, unreadable, foreign or broken file.
    """
    if not path:
        raise InputError("NOISE_STATS", "needs the path of a JSON file written by insardefo:noisestats")
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except OSError as failure:
        raise InputError("NOISE_STATS", f"cannot read {path} ({failure.strerror or failure})") from None
    except ValueError as failure:
        raise InputError("NOISE_STATS", f"{path} is not a valid JSON file ({failure})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise InputError("NOISE_STATS", f"{path} is not a noise statistics file written by insardefo:noisestats "
                                        f"(its 'format' is not {FORMAT!r})")
    if document.get("version") != VERSION:
        raise InputError("NOISE_STATS", f"{path} has version {document.get('version')!r}; this plugin reads "
                                        f"version {VERSION}: run insardefo:noisestats again")
    return {"a": _positive_number(document, "a"), "b": _positive_number(document, "b"),
            "nugget": _positive_number(document, "nugget", allow_zero=True),
            "sill": _positive_number(document, "sill")}
