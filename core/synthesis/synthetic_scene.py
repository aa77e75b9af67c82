"""Synthetic velocity maps with a known truth, for the demo, tests and benchmarks.

Two generators:

* :func:`make_sparse_scene`: a small scene of smooth deformation (Mogi
  sources) plus turbulent atmosphere (section II-B covariance), sampled
  unevenly like persistent scatterers and corrupted by spike noise; the
  demo and the interpolation tests and benchmark use it.
* :func:`make_scene`: a large scene built like the paper's training examples
  (section III-B), for detection: point sources (coal mining) and tunnels of
  various sizes and rates, each drawn on a local window and placed at a
  random free spot so that no two overlap, projected onto a Sentinel-1 line
  of sight; turbulent atmosphere over the whole scene; the built-in
  persistent-scatterer pattern plus winding roads; spike noise from a real
  noise map or white noise of the nugget. :func:`write_scene_outputs` writes
  it with the truth as polygons, one per source.

All velocities are line-of-sight (or vertical, for make_sparse_scene) in
mm/yr, positive towards the satellite (uplift); arrays are (H, W) with row 0
at the north edge.
"""
import os
from dataclasses import dataclass

import numpy as np
from osgeo import gdal, ogr, osr
from scipy.ndimage import maximum_filter

from ..common.errors import Cancelled, InputError
from ..common.grid import GridSpec
from ..common.memory import check_fits
from ..common.raster_io import OUTPUT_OPTIONS, atomic_outputs, checked
from . import scatterer_patterns
from .atmosphere import DEFAULT_A_RANGE, DEFAULT_B_RANGE, atmosphere_bytes, turbulent_atmosphere
from .deformation_sources import KNOT_COLUMNS, SourceRanges, draw_point_source, draw_tunnel
from .line_of_sight import ASCENDING
from .mogi import POISSON_RATIO, mogi_displacement
from .spike_simulation import NuggetNoise, sample_noise_map
from .training_examples import AtmosphereRanges, sample_and_corrupt

NUGGET = 0.8  # mm^2/yr^2: sill (1.5-2.9) minus a (0.7-1.8), section II-B
OUTLIER_FRACTION = 0.01  # share of measurements hit by large spikes
OUTLIER_RANGE = (5.0, 15.0)  # mm/yr, magnitude of those spikes
URBAN_DENSITY, ROAD_DENSITY, RURAL_DENSITY = 0.45, 0.30, 0.02  # relative PS densities


@dataclass
class SparseScene:
    """``truth``: (H, W) noise-free deformation + atmosphere, mm/yr.
    ``sparse``: (H, W) measurements with spike noise, NaN where unmeasured, mm/yr.
    ``deformation``: (H, W) deformation alone, mm/yr."""

    truth: np.ndarray
    sparse: np.ndarray
    deformation: np.ndarray
    pixel_size: float


def _deformation(shape, pixel_size, rng):
    """Vertical velocity (mm/yr) of randomly placed Mogi sources, 3-15 mm/yr peaks."""
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]].astype(float)
    field = np.zeros(shape)
    for _ in range(max(1, round(shape[0] * shape[1] / 500 ** 2))):
        depth = rng.uniform(5, 40) * pixel_size
        peak_m = rng.uniform(3, 15) / 1000.0 * rng.choice([-1, 1])
        volume = peak_m * np.pi * depth ** 2 / (1 - POISSON_RATIO)
        centre_row, centre_col = rng.uniform(0, shape[0]), rng.uniform(0, shape[1])
        east = (cols - centre_col) * pixel_size
        north = (centre_row - rows) * pixel_size
        field += mogi_displacement(east, north, depth, volume)[2] * 1000.0
    return field


def _scatterer_density(shape, pixel_size, measured_fraction, rng):
    """Per-pixel probability of holding a persistent scatterer, mean ``measured_fraction``."""
    towns = turbulent_atmosphere(shape, pixel_size, 1.0, 1000.0 / (30 * pixel_size), rng)[0]
    density = np.where(towns > np.quantile(towns, 0.85), URBAN_DENSITY, RURAL_DENSITY)
    for _ in range(max(1, (shape[0] + shape[1]) // 200)):
        start, end = rng.uniform(0, 1, 2) * shape, rng.uniform(0, 1, 2) * shape
        steps = int(np.hypot(*(end - start))) + 1
        line = np.linspace(start, end, steps).astype(int).clip(0, np.array(shape) - 1)
        density[line[:, 0], line[:, 1]] = np.maximum(density[line[:, 0], line[:, 1]], ROAD_DENSITY)
    return np.clip(density * measured_fraction / density.mean(), 0.0, 0.95)


def _spike_noise(count, rng):
    """Nugget noise with a heavy tail of large spikes, mm/yr."""
    noise = rng.normal(0.0, np.sqrt(NUGGET), count)
    spikes = rng.random(count) < OUTLIER_FRACTION
    noise[spikes] += rng.uniform(*OUTLIER_RANGE, spikes.sum()) * rng.choice([-1, 1], spikes.sum())
    return noise


def make_sparse_scene(height, width, pixel_size=10.0, measured_fraction=0.10, seed=0):
    """A (height, width) scene at ``pixel_size`` metres with about ``measured_fraction`` measured."""
    rng = np.random.default_rng(seed)
    shape = (height, width)
    deformation = _deformation(shape, pixel_size, rng)
    a, b = rng.uniform(*DEFAULT_A_RANGE), rng.uniform(*DEFAULT_B_RANGE)
    truth = deformation + turbulent_atmosphere(shape, pixel_size, a, b, rng)[0]
    measured = rng.random(shape) < _scatterer_density(shape, pixel_size, measured_fraction, rng)
    sparse = np.full(shape, np.nan)
    sparse[measured] = truth[measured] + _spike_noise(int(measured.sum()), rng)
    return SparseScene(truth.astype(np.float32), sparse.astype(np.float32),
                       deformation.astype(np.float32), float(pixel_size))


# ---------------------------------------------------------------- large scenes with known sources

MIN_SIDE, MAX_SIDE = 64, 20000  # pixels per side of a scene: room for a point source .. 200 km at 10 m
MAX_PIXELS = 50_000_000  # about 230 bytes per pixel at peak (the atmosphere's FFT grid): ~12 GB
MAX_PIXEL_SIZE = 1000.0  # metres; sources need far smaller pixels in practice (PIXEL_SIZE error)
SCENE_BYTES_PER_PIXEL = 60  # the scene's own arrays (deformation, footprints, truth, sampling, outputs)
PIXELS_PER_SOURCE = 100  # at most one source per 10 x 10 pixels, above what fits (footprints keep GAP_PX apart)
FAILED_SOURCES_TO_STOP = 20  # placing stops (the scene is full) after this many sources in a row found no spot
SCALED = -1  # a source count of -1 means "scaled with the scene's area"
KM2_PER_POINT_SOURCE = 9.0  # one point source per 9 km^2 (300 x 300 pixels of 10 m) when SCALED
KM2_PER_TUNNEL = 49.0  # one tunnel per 49 km^2 (700 x 700 pixels of 10 m) when SCALED
WINDOW_M = {"point_source": 2560.0, "tunnel": 5120.0}  # side of the window a source is drawn on, metres
WINDOW_PX = (32, 1024)  # ... clipped to this many pixels (and to the scene) to bound the drawing cost
TAPER_FRACTION = 0.125  # a window's outer eighth fades its source to zero (a tunnel's ends fade like faces)
FOOTPRINT_MM_YR = 0.05  # |LOS| below this is set to zero: 1/20 of the faintest atmosphere's std (0.84 mm/yr)
GAP_PX = 5  # footprints of different sources stay at least this many pixels apart
DRAWS_PER_SOURCE = 4  # sources drawn afresh before a requested one is given up (the scene is full)
SPOTS_PER_DRAW = 50  # random places tried for each drawn source
ROAD_KM_PER_KM2 = 0.5  # roads and railways dense in scatterers, beyond the pattern's own 0-4
ROAD_LENGTH_M = (2000.0, 8000.0)  # length of one such road
ROAD_LEG_M = 250.0  # roads run in straight legs of this length ...
ROAD_TURN_DEG = 15.0  # ... each turning by a normal angle of this standard deviation
KINDS = ("point_source", "tunnel")


@dataclass
class VelocityScene:
    """A synthetic velocity map on ``grid`` (H = grid.height rows, W = grid.width columns).

    sparse: (H, W) float32 measurements, LOS mm/yr, NaN where unmeasured.
    truth: (H, W) float32 noise-free LOS velocity (deformation + atmosphere), mm/yr.
    deformation: (H, W) float32 LOS velocity of the sources alone, mm/yr.
    footprints: (H, W) int32: k where source k moves the ground at all
        (|LOS| >= FOOTPRINT_MM_YR), else 0; footprints lie >= GAP_PX pixels apart.
    source_ids: (H, W) int32: k where source k moves it by more than the
        threshold, else 0: the truth polygons.
    sources: record dict of source k at index k - 1 (see SOURCE_FIELDS).
    details: how the scene was made (counts, atmosphere, noise, sampling pattern).
    """

    grid: GridSpec
    sparse: np.ndarray
    truth: np.ndarray
    deformation: np.ndarray
    footprints: np.ndarray
    source_ids: np.ndarray
    sources: list
    threshold: float
    details: dict


def scaled_count(kind, grid):
    """Number of sources of ``kind`` a SCALED count gives on ``grid``."""
    area_km2 = grid.width * grid.height * (grid.pixel_size / 1000.0) ** 2
    return int(round(area_km2 / (KM2_PER_POINT_SOURCE if kind == "point_source" else KM2_PER_TUNNEL)))


def check_scene(grid, seed, point_sources, tunnels, threshold):
    """Raise InputError naming the first bad setting of :func:`make_scene`."""
    for name, side in (("WIDTH", grid.width), ("HEIGHT", grid.height)):
        if not MIN_SIDE <= side <= MAX_SIDE:
            raise InputError(name, f"must lie in [{MIN_SIDE}, {MAX_SIDE}] pixels, got {side}")
    if grid.width * grid.height > MAX_PIXELS:
        raise InputError("WIDTH", f"{grid.width} x {grid.height} pixels exceeds {MAX_PIXELS:,} in one scene "
                                  "(the atmosphere alone would need over 12 GB); make several scenes")
    if not (np.isfinite(grid.pixel_size) and 0 < grid.pixel_size <= MAX_PIXEL_SIZE):
        raise InputError("PIXEL_SIZE", f"must lie in (0, {MAX_PIXEL_SIZE:g}] metres, got {grid.pixel_size}")
    for name, value in (("ORIGIN_X", grid.x_min), ("ORIGIN_Y", grid.y_max)):
        if not np.isfinite(value):
            raise InputError(name, f"must be a finite coordinate, got {value}")
    most = max(1, grid.width * grid.height // PIXELS_PER_SOURCE)
    for name, count in (("POINT_SOURCES", point_sources), ("TUNNELS", tunnels)):
        if count < SCALED:
            raise InputError(name, f"must be a count >= 0, or {SCALED} to scale it with the area; got {count}")
        if count > most:
            raise InputError(name, f"{count} sources cannot fit in {grid.width} x {grid.height} pixels "
                                   f"(at most {most}, one per {PIXELS_PER_SOURCE} pixels); ask for fewer")
    if not (np.isfinite(threshold) and threshold > 0):
        raise InputError("THRESHOLD", f"must be a positive number of mm/yr, got {threshold}")
    if not 0 <= seed < 2 ** 63:
        raise InputError("SEED", f"must be a non-negative integer, got {seed}")
    check_fits("PIXEL_SIZE", scene_bytes(grid),
               f"a {grid.width} x {grid.height} scene of {grid.pixel_size:g} m pixels",
               "the atmosphere is drawn over five correlation lengths (about 1 km each) around the scene: "
               "use larger pixels or a smaller scene")


def scene_bytes(grid):
    """Peak memory (bytes) of make_scene on ``grid``: the atmosphere at its slowest decay, and the scene."""
    shape = (grid.height, grid.width)
    atmosphere = atmosphere_bytes(shape, grid.pixel_size, DEFAULT_B_RANGE[0])
    return atmosphere + SCENE_BYTES_PER_PIXEL * grid.width * grid.height


def make_scene(grid, seed=0, point_sources=SCALED, tunnels=SCALED, geometry=ASCENDING, noise_map=None,
               threshold=1.0, ranges=SourceRanges(), progress=None, is_cancelled=None):
    """A synthetic velocity map with known sources on ``grid`` (a GridSpec in metres).

    ``point_sources``, ``tunnels``: how many of each (SCALED: one per
    KM2_PER_POINT_SOURCE / KM2_PER_TUNNEL km^2); fewer are placed when no
    free spot is left. ``geometry``: a core.synthesis.line_of_sight.Geometry.
    ``noise_map``: path of a raster of spike noise N = y -
    med3x3(y) in mm/yr whose values the noise is drawn from (None: white
    noise of the drawn nugget). ``threshold``: |LOS| in mm/yr above which a
    pixel belongs to its source's truth region. ``ranges``: the
    core.synthesis.deformation_sources.SourceRanges sources are drawn from (default:
    section III-B's). ``progress(fraction,
    message)``, ``is_cancelled()``: optional callbacks; Cancelled is raised
    when the latter returns True. The same arguments give the same scene.
    Returns a VelocityScene. Memory: about 250 bytes per pixel, mostly the
    atmosphere's FFTs (1 GB at 2000 x 2000, which takes about 5 s).
    """
    check_scene(grid, seed, point_sources, tunnels, threshold)
    report = progress or (lambda fraction, message: None)
    stop = _stopper(is_cancelled)
    source_rng, atmosphere_rng, sampling_rng, noise_rng = (
        np.random.default_rng(child) for child in np.random.SeedSequence(seed).spawn(4))
    requested = {kind: scaled_count(kind, grid) if count == SCALED else int(count)
                 for kind, count in zip(KINDS, (point_sources, tunnels))}
    deformation, footprints, sources = _place_sources(
        requested, grid, geometry, ranges, source_rng, lambda fraction, message: report(0.2 * fraction, message), stop)
    stop()
    report(0.2, "Atmosphere")
    a, b, nugget = AtmosphereRanges().draw(atmosphere_rng)
    truth = deformation + turbulent_atmosphere(deformation.shape, grid.pixel_size, a, b, atmosphere_rng)[0]
    stop()
    report(0.65, "Persistent-scatterer sampling and spike noise")
    measured, pattern = measured_pixels(deformation.shape, grid.pixel_size, sampling_rng)
    noise = sample_noise_map(noise_map, noise_rng, is_cancelled=is_cancelled) if noise_map else NuggetNoise(nugget)
    sparse = sample_and_corrupt(truth, measured, noise, noise_rng)
    source_ids = np.where(np.abs(deformation) > threshold, footprints, 0).astype(np.int32)
    _add_areas(sources, source_ids, grid.pixel_size)
    details = {"requested": requested, "placed": {kind: sum(s["type"] == kind for s in sources) for kind in KINDS},
               "atmosphere_a_mm2_yr2": a, "atmosphere_b_per_km": b,
               "noise": noise.describe(), **pattern, "measurements": int(measured.sum()),
               "measured_fraction": float(measured.mean())}
    report(1.0, f"{len(sources)} sources, {int(measured.sum())} measurements")
    return VelocityScene(grid, sparse, truth.astype(np.float32), deformation.astype(np.float32), footprints,
                         source_ids, sources, float(threshold), details)


def _stopper(is_cancelled):
    """A function that raises Cancelled when ``is_cancelled()`` (if given) returns True."""
    def stop():
        if is_cancelled is not None and is_cancelled():
            raise Cancelled()
    return stop


def _place_sources(requested, grid, geometry, ranges, rng, report, stop):
    """Draw and place the sources: tunnels first (the largest), then point sources.

    Returns ((H, W) float64 LOS deformation in mm/yr, (H, W) int32 footprint
    ids, list of source records with ids 1, 2, ...).
    """
    shape = (grid.height, grid.width)
    deformation, footprints, sources = np.zeros(shape), np.zeros(shape, dtype=np.int32), []
    total = requested["tunnel"] + requested["point_source"]
    for kind in ("tunnel", "point_source"):
        failed = 0
        for _ in range(requested[kind]):
            stop()
            report(len(sources) / max(total, 1), f"Placing source {len(sources) + 1} of {total} ({kind})")
            placed = _place_one(kind, grid, geometry, ranges, rng, deformation, footprints, sources)
            failed = 0 if placed else failed + 1
            if failed == FAILED_SOURCES_TO_STOP:
                break
    return deformation, footprints, sources


def _place_one(kind, grid, geometry, ranges, rng, deformation, footprints, sources):
    """Draw a source of ``kind`` and stamp it onto a free spot; whether one was found."""
    for _ in range(DRAWS_PER_SOURCE):
        stamp = _draw_stamp(kind, grid.pixel_size, _window_shape(kind, grid), geometry, ranges, rng)
        spot = _free_spot(footprints, stamp, rng) if stamp is not None else None
        if spot is not None:
            sources.append(_stamp_onto(stamp, spot, len(sources) + 1, deformation, footprints, grid))
            return True
    return False


def _window_shape(kind, grid):
    """(rows, cols) of the window a source of ``kind`` is drawn on: WINDOW_M, clipped."""
    side = int(np.clip(round(WINDOW_M[kind] / grid.pixel_size), *WINDOW_PX))
    return min(side, grid.height), min(side, grid.width)


def window_coordinates(shape, pixel_size):
    """(east, north): (rows, cols) metres of a window's pixel centres from its upper-left corner, north up."""
    east = (np.arange(shape[1]) + 0.5) * pixel_size
    north = -(np.arange(shape[0]) + 0.5) * pixel_size
    return np.meshgrid(east, north)


def edge_taper(shape):
    """(rows, cols) factor: 1 inside, falling as a raised cosine to 0 over the outer TAPER_FRACTION."""
    def ramp(size):
        from_edge = np.minimum(np.arange(size), np.arange(size)[::-1]) + 0.5
        return 0.5 - 0.5 * np.cos(np.pi * np.clip(from_edge / (TAPER_FRACTION * size), 0.0, 1.0))
    return np.outer(ramp(shape[0]), ramp(shape[1]))


@dataclass
class _Stamp:
    """One drawn source cut to its footprint's bounding box grown by GAP_PX on every side.

    los: (h, w) LOS velocity, mm/yr, zero off the footprint; footprint: (h, w) bool;
    guard: the footprint grown by GAP_PX; corner: (row, col) of the stamp's
    upper-left pixel in the window it was drawn on; record: the draw's record.
    """

    kind: str
    los: np.ndarray
    footprint: np.ndarray
    guard: np.ndarray
    corner: tuple
    record: dict


def _draw_stamp(kind, pixel_size, window, geometry, ranges, rng):
    """A source of ``kind`` drawn near the middle of a ``window`` (rows, cols), or None if invisible."""
    east, north = window_coordinates(window, pixel_size)
    try:
        if kind == "point_source":
            los, record = draw_point_source(rng, east, north, geometry, ranges)
        else:
            los, record = draw_tunnel(rng, east, north, geometry, ranges, pixel_size)
    except InputError as failure:
        raise InputError("PIXEL_SIZE", f"{pixel_size:g} m is too coarse for the sources of section III-B "
                                       f"({failure.message})") from None
    los = los * edge_taper(window)
    footprint = np.abs(los) >= FOOTPRINT_MM_YR
    if not footprint.any():
        return None
    rows, cols = (np.flatnonzero(footprint.any(axis=axis)) for axis in (1, 0))
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    footprint = np.pad(footprint[box], GAP_PX)
    return _Stamp(kind, np.where(footprint, np.pad(los[box], GAP_PX), 0.0), footprint,
                  maximum_filter(footprint, size=2 * GAP_PX + 1), (rows[0] - GAP_PX, cols[0] - GAP_PX), record)


def _free_spot(footprints, stamp, rng):
    """(row, col) of a random place where ``stamp.guard`` meets no footprint, or None."""
    height, width = stamp.guard.shape
    if height > footprints.shape[0] or width > footprints.shape[1]:
        return None
    for _ in range(SPOTS_PER_DRAW):
        row = int(rng.integers(0, footprints.shape[0] - height + 1))
        col = int(rng.integers(0, footprints.shape[1] - width + 1))
        if not footprints[row:row + height, col:col + width][stamp.guard].any():
            return row, col
    return None


def _stamp_onto(stamp, spot, source_id, deformation, footprints, grid):
    """Add ``stamp`` at ``spot`` = (row, col) to the scene's arrays; returns the source's record."""
    region = (slice(spot[0], spot[0] + stamp.los.shape[0]), slice(spot[1], spot[1] + stamp.los.shape[1]))
    deformation[region] += stamp.los
    footprints[region][stamp.footprint] = source_id
    peak = stamp.los.flat[np.argmax(np.abs(stamp.los))]
    shift = ((spot[1] - stamp.corner[1]) * grid.pixel_size, (spot[0] - stamp.corner[0]) * grid.pixel_size)
    return source_record(stamp.kind, stamp.record, source_id, float(peak), grid, shift)


def source_record(kind, drawn, source_id, peak, grid, shift):
    """The record of a placed source: id, type, sense, signed peak LOS (mm/yr) and its drawn parameters.

    ``shift``: (east, south) metres from the drawing window's upper-left
    corner to the scene's, to put a point source's centre on the map.
    """
    record = {"source_id": source_id, "type": kind, "sense": drawn["sense"], "peak_los_mm_yr": peak}
    if kind == "point_source":
        record.update(depth_m=drawn["depth_m"], volume_m3=drawn["volume_m3"],
                      centre_x=grid.x_min + shift[0] + drawn["centre_east_m"],
                      centre_y=grid.y_max - shift[1] + drawn["centre_north_m"])
    else:
        record.update({key: drawn[key] for key in ("path", "bend", "faces_inside", "knots")})
        record.update({f"{column}_{end}": drawn[f"{column}_{end}"]
                       for column in KNOT_COLUMNS.values() for end in ("min", "max")})
    return record


def _add_areas(sources, source_ids, pixel_size):
    """Set each record's "area_m2": its pixels in ``source_ids`` times the pixel area."""
    counts = np.bincount(source_ids.ravel(), minlength=len(sources) + 1)
    for record in sources:
        record["area_m2"] = float(counts[record["source_id"]] * pixel_size ** 2)


def measured_pixels(shape, pixel_size, rng):
    """(H, W) bool mask of persistent scatterers and a record of how it was made.

    The built-in pattern (towns, fields, 0-4 straight roads) over the whole
    scene, plus winding roads and railways at ROAD_KM_PER_KM2.
    """
    measured, pattern = scatterer_patterns.builtin_pattern(shape, pixel_size, rng)
    area_km2 = shape[0] * shape[1] * (pixel_size / 1000.0) ** 2
    roads = int(rng.poisson(area_km2 * ROAD_KM_PER_KM2 / (np.mean(ROAD_LENGTH_M) / 1000.0)))
    for _ in range(roads):
        rows, cols = winding_road(shape, pixel_size, rng)
        measured[rows, cols] |= rng.random(len(rows)) < rng.uniform(*scatterer_patterns.ROAD_DENSITY)
    return measured, {**pattern, "roads": pattern["roads"] + roads}


def winding_road(shape, pixel_size, rng):
    """Pixel (rows, cols) of a road from a random start: straight ROAD_LEG_M legs turning gently."""
    legs = max(1, int(round(rng.uniform(*ROAD_LENGTH_M) / ROAD_LEG_M)))
    headings = rng.uniform(0.0, 2 * np.pi) + np.cumsum(rng.normal(0.0, np.radians(ROAD_TURN_DEG), legs))
    steps_per_leg = max(1, int(np.ceil(2 * ROAD_LEG_M / pixel_size)))  # steps of at most half a pixel
    angles = np.repeat(headings, steps_per_leg)
    step_px = ROAD_LEG_M / pixel_size / steps_per_leg
    start = rng.uniform(0.0, 1.0, 2) * shape
    rows = np.round(start[0] + step_px * np.cumsum(np.sin(angles))).astype(int)
    cols = np.round(start[1] + step_px * np.cumsum(np.cos(angles))).astype(int)
    inside = (rows >= 0) & (rows < shape[0]) & (cols >= 0) & (cols < shape[1])
    return rows[inside], cols[inside]


# ---------------------------------------------------------------- writing a scene

OUTPUTS = ("sparse", "points", "deformation", "truth", "noise_free")
SOURCE_FIELDS = ([("source_id", ogr.OFTInteger), ("type", ogr.OFTString), ("sense", ogr.OFTString),
                  ("peak_los_mm_yr", ogr.OFTReal), ("area_m2", ogr.OFTReal), ("depth_m", ogr.OFTReal),
                  ("volume_m3", ogr.OFTReal), ("centre_x", ogr.OFTReal), ("centre_y", ogr.OFTReal),
                  ("path", ogr.OFTString), ("bend", ogr.OFTReal), ("faces_inside", ogr.OFTInteger),
                  ("knots", ogr.OFTInteger)]
                 + [(f"{column}_{end}", ogr.OFTReal) for column in KNOT_COLUMNS.values() for end in ("min", "max")])
POINTS_PER_CHECK = 20000  # points written between progress reports and cancel checks


def write_scene_outputs(scene, paths, crs_wkt, progress=None, is_cancelled=None):
    """Write ``scene``'s files; nothing is left on error or cancel (Cancelled).

    ``paths``: {name: path or None} for names in OUTPUTS: "sparse",
    "deformation", "noise_free" (float32 GeoTIFFs, mm/yr; NaN = unmeasured
    in "sparse"), "points" (GeoPackage layer "measurements", field
    "velocity" in mm/yr, one point per measured pixel centre) and "truth"
    (GeoPackage layer "truth", one multipolygon per source where |LOS| >
    threshold, fields SOURCE_FIELDS; empty geometry if it never exceeds it).
    ``crs_wkt``: the CRS of ``scene.grid``. Returns {name: path} written.
    """
    report = progress or (lambda fraction, message: None)
    stop = _stopper(is_cancelled)
    wanted = {name: path for name, path in paths.items() if path}
    rasters = {"sparse": scene.sparse, "deformation": scene.deformation, "noise_free": scene.truth}
    with atomic_outputs(*wanted.values()) as (partial_paths, _):
        staged = dict(zip(wanted, partial_paths))
        for name in [name for name in rasters if name in staged]:
            stop()
            report(0.1 * list(rasters).index(name), f"Writing the {name.replace('_', '-')} raster")
            _write_raster(staged[name], rasters[name], scene.grid, crs_wkt, np.nan if name == "sparse" else None)
        if "truth" in staged:
            stop()
            report(0.3, "Writing the truth polygons")
            _write_truth(staged["truth"], scene, crs_wkt)
        if "points" in staged:
            _write_points(staged["points"], scene.sparse, scene.grid, crs_wkt,
                          lambda fraction, message: report(0.35 + 0.65 * fraction, message), stop)
        stop()
    report(1.0, "Done")
    return wanted


def _check_code(code, action):
    """Raise RuntimeError with GDAL's message unless a GDAL or OGR call returned 0 (success)."""
    if code != 0:
        raise RuntimeError(f"GDAL could not {action}: {gdal.GetLastErrorMsg() or 'unknown error'}")


def _srs(crs_wkt):
    srs = osr.SpatialReference()
    _check_code(srs.ImportFromWkt(crs_wkt), "read the CRS")
    return srs


def _write_raster(path, array, grid, crs_wkt, nodata):
    """A float32 GeoTIFF of (H, W) ``array`` on ``grid``; ``nodata`` None: none set."""
    dataset = checked(gdal.GetDriverByName("GTiff").Create(
        path, grid.width, grid.height, 1, gdal.GDT_Float32, OUTPUT_OPTIONS), f"create {path}")
    try:
        dataset.SetGeoTransform(grid.geotransform())
        dataset.SetProjection(crs_wkt)
        band = dataset.GetRasterBand(1)
        if nodata is not None:
            band.SetNoDataValue(nodata)
        _check_code(band.WriteArray(array), f"write {path}")
    finally:
        dataset = None


def _write_points(path, sparse, grid, crs_wkt, progress=None, stop=lambda: None):
    """GeoPackage layer "measurements": a point with "velocity" (mm/yr) per finite cell of ``sparse``.

    Features go in one transaction and the spatial index is built after
    them: 300,000 points take about 1 s plus 2.5 s for the index, against
    5 s with the index updated feature by feature (GDAL 3.6, whose R-tree
    is SQLite's insertion; GDAL 3.8 builds it in memory, much faster).
    """
    report = progress or (lambda fraction, message: None)
    rows, cols = np.nonzero(np.isfinite(sparse))
    points = zip((grid.x_min + (cols + 0.5) * grid.pixel_size).tolist(),
                 (grid.y_max - (rows + 0.5) * grid.pixel_size).tolist(), sparse[rows, cols].tolist())
    source = checked(ogr.GetDriverByName("GPKG").CreateDataSource(path), f"create {path}")
    try:
        layer = checked(source.CreateLayer("measurements", _srs(crs_wkt), ogr.wkbPoint, ["SPATIAL_INDEX=NO"]),
                        f"create a layer in {path}")
        layer.CreateField(ogr.FieldDefn("velocity", ogr.OFTReal))
        feature, point = ogr.Feature(layer.GetLayerDefn()), ogr.Geometry(ogr.wkbPoint)
        layer.StartTransaction()
        for index, (x, y, value) in enumerate(points):
            if index % POINTS_PER_CHECK == 0:
                stop()
                report(0.3 * index / len(rows), f"Writing points ({index} of {len(rows)})")
            feature.SetFID(-1)
            feature.SetField(0, value)
            point.SetPoint_2D(0, x, y)
            feature.SetGeometry(point)
            _check_code(layer.CreateFeature(feature), f"write a point to {path}")
        _check_code(layer.CommitTransaction(), f"write the points to {path}")
        stop()
        report(0.3, f"Indexing {len(rows)} points")
        source.ReleaseResultSet(source.ExecuteSQL("SELECT CreateSpatialIndex('measurements', 'geom')"))
    finally:
        source = None


def source_polygons(source_ids, grid):
    """{source id: ogr MultiPolygon in map coordinates} of the non-zero regions of ``source_ids`` (H, W)."""
    raster = checked(gdal.GetDriverByName("MEM").Create("", grid.width, grid.height, 1, gdal.GDT_Int32),
                     "create an in-memory raster")
    raster.SetGeoTransform(grid.geotransform())
    band = raster.GetRasterBand(1)
    band.WriteArray(source_ids)
    vectors = ogr.GetDriverByName("Memory").CreateDataSource("")
    regions = vectors.CreateLayer("regions", None, ogr.wkbPolygon)
    regions.CreateField(ogr.FieldDefn("source_id", ogr.OFTInteger))
    _check_code(gdal.Polygonize(band, band, regions, 0), "polygonize the source regions")
    polygons = {}
    for region in regions:
        polygons.setdefault(region.GetField(0), ogr.Geometry(ogr.wkbMultiPolygon)).AddGeometry(
            region.GetGeometryRef())
    return polygons


def _write_truth(path, scene, crs_wkt):
    """GeoPackage layer "truth": one feature per source of ``scene``, fields SOURCE_FIELDS."""
    polygons = source_polygons(scene.source_ids, scene.grid)
    source = checked(ogr.GetDriverByName("GPKG").CreateDataSource(path), f"create {path}")
    try:
        layer = checked(source.CreateLayer("truth", _srs(crs_wkt), ogr.wkbMultiPolygon),
                        f"create a layer in {path}")
        for name, kind in SOURCE_FIELDS:
            layer.CreateField(ogr.FieldDefn(name, kind))
        for record in scene.sources:
            feature = ogr.Feature(layer.GetLayerDefn())
            for name in record:
                feature.SetField(name, record[name])
            if record["source_id"] in polygons:
                feature.SetGeometry(polygons[record["source_id"]])
            _check_code(layer.CreateFeature(feature), f"write a polygon to {path}")
    finally:
        source = None


def write_scene(scene, directory, x_min=400000.0, y_max=300000.0, epsg=27700, with_points=True):
    """Write a :func:`make_sparse_scene` scene: truth and sparse GeoTIFFs and (``with_points``) points.

    Returns ``{"truth", "sparse", "points"}`` paths; the point layer is
    "measurements" with a "velocity" field (mm/yr), one point per measured
    pixel centre.
    """
    os.makedirs(directory, exist_ok=True)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    grid = GridSpec(x_min, y_max, scene.pixel_size, scene.truth.shape[1], scene.truth.shape[0])
    paths = {name: os.path.join(directory, f"{name}.tif") for name in ("truth", "sparse")}
    _write_raster(paths["truth"], scene.truth, grid, srs.ExportToWkt(), np.nan)
    _write_raster(paths["sparse"], scene.sparse, grid, srs.ExportToWkt(), np.nan)
    if with_points:
        paths["points"] = os.path.join(directory, "points.gpkg")
        if os.path.exists(paths["points"]):
            os.remove(paths["points"])
        _write_points(paths["points"], scene.sparse, grid, srs.ExportToWkt())
    return paths


def rmse(result_path, truth_path):
    """Root-mean-square error (mm/yr) of a result raster over its valid cells."""
    result = gdal.Open(result_path).ReadAsArray().astype(float)
    truth = gdal.Open(truth_path).ReadAsArray().astype(float)
    valid = np.isfinite(result)
    return float(np.sqrt(np.mean((result[valid] - truth[valid]) ** 2)))
