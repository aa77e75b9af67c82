"""Training maps for the dense detector: synthetic velocity maps with a label at every pixel.

A training map is what ``insardefo:detect`` hands the dense network: a synthetic scene
(core.synthesis.synthetic_scene) at a native pixel size drawn between NATIVE_PIXEL_M, with
sources drawn from ranges wider than the paper's (section III-B), corrupted by what real maps
hold that is not deformation (the hard negatives below), interpolated by matrix completion at
its native pixel size as detect does (section III-A), and averaged down to MODEL_PIXEL_M where
it is finer. Maps between MODEL_PIXEL_M and COARSEST_PIXEL_M keep their own pixel size (the
network is told it), so a coarse map is never blown up to pixels its data cannot fill.

Labels per pixel: 0 stable ground, 1 point source, 2 tunnel where |deformation| >= LABEL_MM_YR,
and IGNORE where no one could tell: holes in the map, and the footprints of sources too faint
(peak under VISIBLE_PEAK_MM_YR) or too thinly measured to be seen.

Hard negatives, each drawn with its own probability per map:

* a ramp and reference offset (orbit and reference-point errors);
* anisotropic turbulent atmosphere stretched along one axis, on top of the isotropic one;
* isolated spikes (outliers of the time-series fit: a share of all measurements far off their
  neighbours) and clusters of spikes (a bad building, a misregistered block);
* sharp changes of measurement density (a town edge) and data edges (a coast);
* holes (woods, lakes) beyond interpolation's reach;
* roads and railways measured densely with a mean of their own.
"""
import math
import time
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import zoom

from ..common.grid import GridSpec
from ..common.resampling import measurement_maps, resampled, velocity_method
from ..common.workers import ordered_results, process_pool, worker_count
from ..interpolation.raster_interpolation import interpolate_array
from .atmosphere import turbulent_atmosphere
from .dataset import DatasetWriter, check_destination
from .deformation_sources import SourceRanges
from .synthetic_scene import MIN_SIDE, make_scene, winding_road

CLASSES = ("no_deformation", "point_source", "tunnel")
IGNORE = 255  # label of pixels that teach nothing
LABEL_MM_YR = 1.0  # |deformation| that makes a pixel deforming (the scene benchmark's truth)
VISIBLE_PEAK_MM_YR = 2.5  # sources peaking below this are neither positive nor negative
MIN_SOURCE_MEASUREMENTS = 10  # measurements where a source moves the ground by LABEL_MM_YR, for it to be seen
MAX_DISTANCE_PX = 20.0  # native pixels: interpolate's and detect's default reach
MODEL_PIXEL_M = 20.0  # the dense model's finest pixel size; finer maps are averaged down to it
COARSEST_PIXEL_M = 100.0  # the dense model's coarsest pixel size; coarser maps are resampled up to it
MAP_SIZE_PX = 256  # side of a training map at its working pixel size (5.1 to 25.6 km)
NATIVE_PIXEL_M = (5.0, 100.0)  # native pixel sizes, drawn log-uniformly: SatSense to EGMS Ortho
POINT_SOURCES = (0, 6)
TUNNELS = (0, 2)
EMPTY_SHARE = 0.25  # share of maps without any source
# Wider than section III-B's on both ends, as real maps are (depths and rates of UK mining and tunnelling)
TRAINING_SOURCES = SourceRanges(depth_m=(30.0, 500.0), volume_m3=(0.5, 1e6), los_mm_yr=(1.5, 30.0),
                                l_sag_m=(20.0, 150.0), l_hog_m=(20.0, 150.0), d_sag_mm=(1.0, 15.0),
                                d_hog_mm=(0.5, 8.0))
RAMP = (0.5, 0.8)  # chance, largest gradient in mm/yr per km
OFFSET_MM_YR = 10.0  # largest reference offset
ANISOTROPIC = (0.5, (0.2, 1.5), (0.3, 2.0), (2.0, 5.0))  # chance, a (mm^2/yr^2), b (1/km), stretch
ISOLATED_SPIKES = (0.8, (0.0, 0.03), (3.0, 25.0))  # chance, share of measurements, |spike| mm/yr
SPIKE_CLUSTERS = (0.5, (1, 6), (0.5, 2.5), (5.0, 20.0))  # chance, count, radius (native px), |spike| mm/yr
DENSITY_EDGE = (0.3, (0.05, 0.3))  # chance, share of measurements kept beyond the edge
DATA_EDGE = 0.2  # chance of a coast: nothing measured beyond a random line
HOLES = (0.4, (1, 4), (10.0, 40.0))  # chance, count, radius (native px)
ROADS = (0.5, (1, 3), (2.0, 6.0))  # chance, count, |own mean| mm/yr


@dataclass
class TrainingMap:
    """One training map at its working pixel size (S = MAP_SIZE_PX, record["pixel_m"] metres).

    velocity: (S, S) float32 interpolated LOS velocity, mm/yr, NaN in holes.
    labels: (S, S) uint8 class index (CLASSES) or IGNORE.
    measurements: (2, S, S) float32 of :func:`measurement_maps`: the measurements behind the map.
    record: how it was made (pixel sizes, sources, hard negatives).
    """

    velocity: np.ndarray
    labels: np.ndarray
    measurements: np.ndarray
    record: dict


def working_pixel_m(pixel_m, finest=MODEL_PIXEL_M, coarsest=COARSEST_PIXEL_M):
    """The pixel size (metres) a dense model of ``finest`` to ``coarsest`` metres sees a map of ``pixel_m`` at."""
    return float(min(max(pixel_m, finest), coarsest))


def make_training_map(seed, size_px=MAP_SIZE_PX):
    """The training map of ``seed``: the same seed gives the same map."""
    rng = np.random.default_rng(seed)
    native_pixel = float(math.exp(rng.uniform(*np.log(NATIVE_PIXEL_M))))
    working_pixel = working_pixel_m(native_pixel)
    side = max(MIN_SIDE, int(round(size_px * working_pixel / native_pixel)))
    native_pixel = size_px * working_pixel / side
    empty = rng.random() < EMPTY_SHARE
    counts = (0, 0) if empty else (int(rng.integers(POINT_SOURCES[0], POINT_SOURCES[1] + 1)),
                                   int(rng.integers(TUNNELS[0], TUNNELS[1] + 1)))
    scene = make_scene(GridSpec(0.0, side * native_pixel, native_pixel, side, side), seed=int(rng.integers(2 ** 62)),
                       point_sources=counts[0], tunnels=counts[1], threshold=LABEL_MM_YR, ranges=TRAINING_SOURCES)
    sparse, negatives = _hard_negatives(scene, native_pixel, rng)
    dense = interpolate_array(sparse, max_distance=MAX_DISTANCE_PX)
    native_labels = _native_labels(scene, np.isfinite(sparse))
    shape = (size_px, size_px)
    method = velocity_method(side, size_px)
    velocity = resampled(dense, shape, method)
    labels = resampled(native_labels, shape, "mode" if method == "average" else "nearest")
    labels[~np.isfinite(velocity)] = IGNORE
    measurements = measurement_maps(sparse, shape)
    record = {"seed": int(seed), "pixel_m": working_pixel, "native_pixel_m": native_pixel, "native_side_px": side,
              "point_sources": scene.details["placed"]["point_source"], "tunnels": scene.details["placed"]["tunnel"],
              "measured_fraction": float(np.isfinite(sparse).mean()),
              "atmosphere_a_mm2_yr2": scene.details["atmosphere_a_mm2_yr2"],
              "atmosphere_b_per_km": scene.details["atmosphere_b_per_km"], **negatives}
    return TrainingMap(velocity.astype(np.float32), labels.astype(np.uint8), measurements, record)


def _native_labels(scene, measured):
    """(H, W) uint8 labels on the scene's own grid: kinds where |D| >= LABEL_MM_YR, IGNORE where unseeable."""
    labels = np.zeros(scene.deformation.shape, dtype=np.uint8)
    for index, source in enumerate(scene.sources, start=1):
        deforming = (scene.footprints == index) & (np.abs(scene.deformation) >= LABEL_MM_YR)
        seen = (abs(source["peak_los_mm_yr"]) >= VISIBLE_PEAK_MM_YR
                and np.count_nonzero(measured & deforming) >= MIN_SOURCE_MEASUREMENTS)
        labels[deforming] = CLASSES.index(source["type"]) if seen else IGNORE
    return labels


def _hard_negatives(scene, pixel, rng):
    """The scene's sparse measurements with the hard negatives added; returns (sparse, record)."""
    sparse = scene.sparse.copy()
    shape = sparse.shape
    rows, cols = np.mgrid[:shape[0], :shape[1]].astype(np.float32)
    record = {}
    added = np.zeros(shape, dtype=np.float32)
    if rng.random() < RAMP[0]:
        gradient = rng.uniform(0.0, RAMP[1]) * pixel / 1000.0  # mm/yr per pixel
        angle = rng.uniform(0.0, 2 * np.pi)
        added += gradient * (np.cos(angle) * cols + np.sin(angle) * rows)
        record["ramp_mm_yr_per_km"] = gradient * 1000.0 / pixel
    added += rng.uniform(-OFFSET_MM_YR, OFFSET_MM_YR)
    if rng.random() < ANISOTROPIC[0]:
        added += _anisotropic_atmosphere(shape, pixel, rng)
        record["anisotropic_atmosphere"] = 1
    sparse += added
    if rng.random() < ISOLATED_SPIKES[0]:
        record["spike_share"] = _isolated_spikes(sparse, rng)
    if rng.random() < SPIKE_CLUSTERS[0]:
        record["spike_clusters"] = _spike_clusters(sparse, rows, cols, rng)
    if rng.random() < ROADS[0]:
        record["roads"] = _roads_with_own_mean(sparse, scene.truth + added, pixel, rng)
    if rng.random() < DENSITY_EDGE[0]:
        beyond = _beyond_random_line(rows, cols, rng)
        sparse[beyond & (rng.random(shape) > rng.uniform(*DENSITY_EDGE[1]))] = np.nan
        record["density_edge"] = 1
    if rng.random() < DATA_EDGE:
        sparse[_beyond_random_line(rows, cols, rng)] = np.nan
        record["data_edge"] = 1
    if rng.random() < HOLES[0]:
        count = int(rng.integers(HOLES[1][0], HOLES[1][1] + 1))
        for _ in range(count):
            radius = rng.uniform(*HOLES[2])
            centre = rng.uniform(0, shape[0]), rng.uniform(0, shape[1])
            sparse[(rows - centre[0]) ** 2 + (cols - centre[1]) ** 2 < radius ** 2] = np.nan
        record["holes"] = count
    return sparse, record


def _anisotropic_atmosphere(shape, pixel, rng):
    """(H, W) turbulent delay (mm/yr) stretched along rows or columns by a random factor."""
    a, b, stretch = (rng.uniform(*bounds) for bounds in ANISOTROPIC[1:])
    short = max(8, int(math.ceil(shape[1] / stretch)))
    field = turbulent_atmosphere((shape[0], short), pixel, a, b, rng)[0]
    field = zoom(field, (1.0, shape[1] / short), order=1)[:, :shape[1]]
    return (field if rng.random() < 0.5 else field.T).astype(np.float32)


def _isolated_spikes(sparse, rng):
    """Add spikes of ISOLATED_SPIKES' size to a random share of the measurements; returns the share."""
    share = rng.uniform(*ISOLATED_SPIKES[1])
    hit = np.isfinite(sparse) & (rng.random(sparse.shape) < share)
    spikes = rng.uniform(*ISOLATED_SPIKES[2], hit.sum()) * rng.choice((-1.0, 1.0), hit.sum())
    sparse[hit] += spikes.astype(np.float32)
    return float(share)


def _spike_clusters(sparse, rows, cols, rng):
    """Give the measurements of a few small discs independent spikes of SPIKE_CLUSTERS' size; returns the count."""
    count = int(rng.integers(SPIKE_CLUSTERS[1][0], SPIKE_CLUSTERS[1][1] + 1))
    for _ in range(count):
        radius = rng.uniform(*SPIKE_CLUSTERS[2])
        centre = rng.uniform(0, sparse.shape[0]), rng.uniform(0, sparse.shape[1])
        disc = ((rows - centre[0]) ** 2 + (cols - centre[1]) ** 2 <= radius ** 2) & np.isfinite(sparse)
        spikes = rng.uniform(*SPIKE_CLUSTERS[3], disc.sum()) * rng.choice((-1.0, 1.0), disc.sum())
        sparse[disc] += spikes.astype(np.float32)
    return count


def _roads_with_own_mean(sparse, values, pixel, rng):
    """Measure a few winding roads densely, each with a mean of its own over ``values``; returns the count."""
    count = int(rng.integers(ROADS[1][0], ROADS[1][1] + 1))
    for _ in range(count):
        road_rows, road_cols = winding_road(sparse.shape, pixel, rng)
        offset = rng.uniform(*ROADS[2]) * rng.choice((-1.0, 1.0))
        sparse[road_rows, road_cols] = values[road_rows, road_cols] + offset
    return count


def _beyond_random_line(rows, cols, rng):
    """(H, W) bool: the pixels on one side of a random line through the map's middle half."""
    height, width = rows.shape
    centre = rng.uniform(0.25, 0.75) * height, rng.uniform(0.25, 0.75) * width
    angle = rng.uniform(0.0, 2 * np.pi)
    return (rows - centre[0]) * np.cos(angle) + (cols - centre[1]) * np.sin(angle) > 0


COLUMNS = ("seed", "pixel_m", "native_pixel_m", "native_side_px", "point_sources", "tunnels", "measured_fraction",
           "atmosphere_a_mm2_yr2", "atmosphere_b_per_km", "ramp_mm_yr_per_km", "anisotropic_atmosphere",
           "spike_share", "spike_clusters", "roads", "density_edge", "data_edge", "holes")
CHUNK = 4  # maps per job sent to a worker


def map_seed(seed, index):
    """The seed of map ``index`` of a set made with ``seed``."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1, np.uint64)[0]) >> 2


def map_class(labels):
    """The class of a whole map for the dataset's labels: its most common deforming class, else 0."""
    counts = np.bincount(labels[labels != IGNORE].ravel(), minlength=len(CLASSES))
    return int(np.argmax(counts[1:]) + 1) if counts[1:].any() else 0


def _make_chunk(job):
    seeds, size_px = job
    return [make_training_map(seed, size_px) for seed in seeds]


def generate_training_maps(folder, count, seed=0, size_px=MAP_SIZE_PX, workers=0, progress=None, is_cancelled=None):
    """Write ``count`` training maps of ``size_px`` made from ``seed`` as a dataset with label maps in ``folder``.

    ``workers``: processes to use (0: every core). The folder appears only once complete; on
    error or Cancel nothing is left and an earlier dataset there is kept. Returns a summary dict.
    """
    started = time.time()
    report = progress or (lambda fraction, message: None)
    check_destination(folder)
    workers = worker_count(workers)
    seeds = [map_seed(seed, index) for index in range(count)]
    chunks = [(seeds[start:start + CHUNK], size_px) for start in range(0, count, CHUNK)]
    writer = DatasetWriter(folder, size_px, COLUMNS)
    try:
        with process_pool(workers) as pool:
            for chunk in ordered_results(pool, _make_chunk, chunks, 2 * workers, is_cancelled):
                for training_map in chunk:
                    writer.add(training_map.velocity, map_class(training_map.labels), training_map.record,
                               label_map=training_map.labels, measurements=training_map.measurements)
                done = len(writer.labels)
                report(done / count, f"{done} of {count} training maps")
        seconds = time.time() - started
        writer.commit({"classes": list(CLASSES), "pixel_size_range_m": [MODEL_PIXEL_M, COARSEST_PIXEL_M],
                       "interpolated": True,
                       "generator": "training_maps", "seed": seed, "label_mm_yr": LABEL_MM_YR,
                       "seconds": seconds, "workers": workers})
    except BaseException:
        writer.abort()
        raise
    return {"count": count, "seconds": seconds, "workers": workers}
