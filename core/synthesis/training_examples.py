"""Synthetic training examples like real velocity maps (section III-B).

Each example is X = D + T on a patch (paper: 224 x 224 pixels): D the
line-of-sight velocity of a point source or tunnel (none for negatives) and
T a turbulent atmosphere with the exponential covariance of section II-B.
X is sub-sampled with a persistent-scatterer pattern, spike noise is added
to the measurements, and the sparse patch is interpolated (matrix
completion or Delaunay) or left sparse: the three datasets of Table I.

Example ``i`` of a dataset draws everything from its own generator seeded
with (SEED, i), so a dataset is the same bit for bit whatever the number of
worker processes, and any example can be regenerated alone.
"""
import json
import os
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from ..common.errors import InputError
from ..common.memory import check_fits
from ..common.resampling import measurement_maps
from ..common.workers import ordered_results, process_pool, worker_count
from ..interpolation.matrix_completion import MatrixCompletionSettings
from ..interpolation.raster_interpolation import interpolate_array
from .atmosphere import DEFAULT_A_RANGE, DEFAULT_B_RANGE, atmosphere_bytes, turbulent_atmosphere
from .dataset import MANIFEST, DatasetWriter, check_destination
from .deformation_sources import KNOT_COLUMNS, SourceRanges, checked_range, draw_point_source, draw_tunnel
from .line_of_sight import ASCENDING, DESCENDING
from .scatterer_patterns import builtin_pattern
from .spike_simulation import NuggetNoise

DEFAULT_SILL_RANGE = (1.5, 2.9)  # mm^2/yr^2, section II-B: sill of the UK data; nugget = sill - a
INTERPOLATIONS = ("matrix_completion", "delaunay", "none")
CLASSES = {  # KIND -> class names; the label is the index
    "point": ("no_deformation", "point_source"),
    "line": ("no_deformation", "tunnel"),
    "both": ("no_deformation", "point_source", "tunnel"),
}
PASSES = {"ascending": ASCENDING, "descending": DESCENDING}
CHUNK = 4  # examples per job sent to a worker
MIN_FOOTPRINT_MEASUREMENTS = 10  # measured pixels a positive needs within its half-peak footprint
PATTERN_ATTEMPTS = 20  # measurement patterns tried per source
SOURCE_ATTEMPTS = 50  # sources tried before giving up
MAX_PATCH_SIZE = 2048
MAX_EXAMPLES = 10_000_000
EXAMPLE_BYTES_PER_PIXEL = 400  # a patch's arrays while it is made and interpolated (matrix completion's SVDs)
COLUMNS = (["index", "label", "class", "pass", "source", "sense", "peak_los_mm_yr", "depth_m", "volume_m3",
            "centre_east_m", "centre_north_m", "footprint_measurements", "path", "bend", "faces_inside", "knots"]
           + [f"{column}_{end}" for column in KNOT_COLUMNS.values() for end in ("min", "max")]
           + ["atmosphere_a_mm2_yr2", "atmosphere_b_per_km", "noise", "nugget_mm2_yr2", "pattern",
              "urban_cover", "empty_cover", "roads", "window_row", "window_col", "measured_fraction",
              "interpolation"])


@dataclass(frozen=True)
class AtmosphereRanges:
    """Ranges of the atmosphere's covariance a exp(-b d) and of the sill (section II-B).

    a in mm^2/yr^2, b in 1/km, sill in mm^2/yr^2; the nugget (spike-noise
    variance) is sill - a unless ``nugget`` fixes it (from insardefo:noisestats).
    """

    a: tuple = DEFAULT_A_RANGE
    b: tuple = DEFAULT_B_RANGE
    sill: tuple = DEFAULT_SILL_RANGE
    nugget: float = None

    @classmethod
    def from_statistics(cls, statistics):
        """Fixed a, b and nugget measured on a real map (a dict as from insardefo:noisestats)."""
        a, b, nugget = (float(statistics[key]) for key in ("a", "b", "nugget"))
        return cls(a=(a, a), b=(b, b), sill=(a + nugget, a + nugget), nugget=nugget)

    def validate(self):
        checked_range("A_RANGE", self.a)
        checked_range("B_RANGE", self.b)
        checked_range("SILL_RANGE", self.sill, allow_zero=True)

    def draw(self, rng):
        """(a, b, nugget) for one example."""
        a, b = rng.uniform(*self.a), rng.uniform(*self.b)
        if self.nugget is not None:
            return a, b, self.nugget
        sill = rng.uniform(max(self.sill[0], a), max(self.sill[1], a))
        return a, b, sill - a


@dataclass(frozen=True)
class SynthesisConfig:
    """Everything that defines a dataset; see insardefo:synthesize for the meaning.

    ``noise``: spike-noise model with ``draw(rng, count)`` and ``describe()``
    (None: white noise of each example's nugget). ``mask``: a
    core.synthesis.scatterer_patterns.MaskWindows (None: the built-in patterns).
    """

    kind: str = "point"
    count_per_class: int = 10_000  # section III-B
    patch_size: int = 224  # AlexNet's input, section III-C
    pixel_size: float = 10.0  # metres
    interpolation: str = "matrix_completion"
    seed: int = 0
    passes: tuple = ("ascending", "descending")
    sources: SourceRanges = field(default_factory=SourceRanges)
    atmosphere: AtmosphereRanges = field(default_factory=AtmosphereRanges)
    settings: MatrixCompletionSettings = field(default_factory=MatrixCompletionSettings)
    noise: object = None
    mask: object = None

    @property
    def classes(self):
        return CLASSES[self.kind]

    @property
    def total(self):
        return self.count_per_class * len(self.classes)

    def validate(self):
        """Raise InputError naming the first bad setting."""
        if self.kind not in CLASSES:
            raise InputError("KIND", f"must be one of {', '.join(CLASSES)}, got {self.kind!r}")
        if not 1 <= self.count_per_class <= MAX_EXAMPLES:
            raise InputError("COUNT", f"must lie in [1, {MAX_EXAMPLES}] examples per class, got {self.count_per_class}")
        if not 16 <= self.patch_size <= MAX_PATCH_SIZE:
            raise InputError("PATCH_SIZE", f"must lie in [16, {MAX_PATCH_SIZE}] pixels, got {self.patch_size}")
        if not (np.isfinite(self.pixel_size) and 0 < self.pixel_size <= 1000):
            raise InputError("PIXEL_SIZE", f"must lie in (0, 1000] metres, got {self.pixel_size}")
        if self.interpolation not in INTERPOLATIONS:
            raise InputError("INTERPOLATION", f"must be one of {', '.join(INTERPOLATIONS)}, got {self.interpolation!r}")
        if not self.passes or any(name not in PASSES for name in self.passes):
            raise InputError("PASSES", f"must name one or both of {', '.join(PASSES)}, got {self.passes!r}")
        if not 0 <= self.seed < 2 ** 63:
            raise InputError("SEED", f"must be a non-negative integer, got {self.seed}")
        self.sources.validate()
        self.atmosphere.validate()
        self.settings.validate()

    def describe(self):
        """JSON-ready settings for the manifest."""
        return {"kind": self.kind, "classes": list(self.classes), "count_per_class": self.count_per_class,
                "pixel_size_m": self.pixel_size, "interpolation": self.interpolation, "seed": self.seed,
                "passes": list(self.passes), "sources": _ranges_dict(self.sources),
                "atmosphere": asdict(self.atmosphere), "matrix_completion": asdict(self.settings),
                "spike_noise": self.noise.describe() if self.noise else "white noise with each example's nugget",
                "sampling": f"windows of {self.mask.path}" if self.mask else "built-in patterns",
                "units": {"patches": "mm/yr, line of sight, positive towards the satellite, unwrapped",
                          "pixel_size_m": "metres"}}


def _ranges_dict(ranges):
    return {name: list(getattr(ranges, name)) for name in SourceRanges.PARAMETERS}


def patch_coordinates(size, pixel_size):
    """(east, north) of the (size, size) pixel centres in metres, origin at the lower-left corner."""
    centres = (np.arange(size) + 0.5) * pixel_size
    return np.meshgrid(centres, centres[::-1])


def _deformation(config, class_name, rng, geometry, east, north):
    """(H, W) LOS velocity (mm/yr) of the example's source and its record."""
    if class_name == "point_source":
        return draw_point_source(rng, east, north, geometry, config.sources)
    if class_name == "tunnel":
        return draw_tunnel(rng, east, north, geometry, config.sources, config.pixel_size)
    return np.zeros(east.shape), {"source": "none", "peak_los_mm_yr": 0.0}


def sample_and_corrupt(truth, measured, noise, rng):
    """Sparse (H, W) float32 map: ``truth`` at ``measured`` pixels plus spike noise, NaN elsewhere."""
    sparse = np.full(truth.shape, np.nan, dtype=np.float32)
    sparse[measured] = truth[measured] + noise.draw(rng, int(measured.sum()))
    return sparse


def _draw_pattern(config, rng):
    if config.mask is not None:
        return config.mask.draw(rng, config.patch_size)
    return builtin_pattern((config.patch_size, config.patch_size), config.pixel_size, rng)


def measurements_in_footprint(deformation, measured):
    """Measured pixels where the source reaches at least half its peak |LOS velocity|."""
    magnitude = np.abs(deformation)
    return int(np.count_nonzero(measured & (magnitude >= 0.5 * magnitude.max())))


def _observable_source(config, class_name, rng, geometry, east, north):
    """A source and a measurement pattern that sees it: (deformation, source record, measured, pattern).

    Negatives take the first pattern drawn. A positive whose half-peak
    footprint holds fewer than MIN_FOOTPRINT_MEASUREMENTS measurements gets
    new patterns, then a new source: unmeasured deformation is invisible in
    any interpolated map and would only teach the network noise.
    """
    for _ in range(SOURCE_ATTEMPTS):
        deformation, source = _deformation(config, class_name, rng, geometry, east, north)
        for _ in range(PATTERN_ATTEMPTS):
            measured, pattern = _draw_pattern(config, rng)
            count = measurements_in_footprint(deformation, measured) if deformation.any() else None
            if count is None or count >= MIN_FOOTPRINT_MEASUREMENTS:
                return deformation, {**source, "footprint_measurements": count}, measured, pattern
    raise InputError("MASK_SOURCE" if config.mask is not None else "DEPTH_RANGE",
                     f"no {class_name} drawn in {SOURCE_ATTEMPTS} tries had {MIN_FOOTPRINT_MEASUREMENTS} "
                     "measurements where it reaches half its peak; use a denser measurement pattern or "
                     "ranges that give wider sources")


def make_example(config, index):
    """Example ``index``: ((P, P) float32 patch in mm/yr, class index, record dict, (P, P) measurements).

    The measurements are the sparse patch before interpolation (mm/yr, NaN where unmeasured).
    """
    rng = np.random.default_rng([config.seed, index])
    label = index % len(config.classes)
    pass_name = config.passes[int(rng.integers(len(config.passes)))]
    east, north = patch_coordinates(config.patch_size, config.pixel_size)
    deformation, source, measured, pattern = _observable_source(config, config.classes[label], rng,
                                                                PASSES[pass_name], east, north)
    a, b, nugget = config.atmosphere.draw(rng)
    atmosphere = turbulent_atmosphere(east.shape, config.pixel_size, a, b, rng)[0]
    noise = config.noise or NuggetNoise(nugget)
    sparse = sample_and_corrupt(deformation + atmosphere, measured, noise, rng)
    patch = sparse if config.interpolation == "none" else interpolate_array(
        sparse, config.interpolation, config.settings)
    record = {"index": index, "label": label, "class": config.classes[label], "pass": pass_name, **source,
              "atmosphere_a_mm2_yr2": a, "atmosphere_b_per_km": b,
              "noise": "noise map" if config.noise else "nugget", "nugget_mm2_yr2": nugget, **pattern,
              "measured_fraction": float(measured.mean()), "interpolation": config.interpolation}
    return patch.astype(np.float32), label, record, sparse


_WORKER_CONFIG = {}


def _start_worker(config):
    _WORKER_CONFIG["config"] = config


def _make_chunk(indices):
    config = _WORKER_CONFIG["config"]
    return [make_example(config, index) for index in indices]


def example_bytes(config):
    """Peak memory (bytes) of one worker making one example: the atmosphere at the slowest decay, and the patch."""
    shape = (config.patch_size, config.patch_size)
    atmosphere = atmosphere_bytes(shape, config.pixel_size, min(config.atmosphere.b))
    return atmosphere + EXAMPLE_BYTES_PER_PIXEL * shape[0] * shape[1]


def generate_dataset(config, folder, workers=0, progress=None, is_cancelled=None):
    """Write the dataset ``config`` describes to ``folder``; returns a summary dict.

    ``workers``: processes to use (0: every core). The folder appears only
    once complete; on error or cancel nothing is left and an earlier dataset
    there is kept.
    """
    started = time.time()
    report = progress or (lambda fraction, message: None)
    config.validate()
    check_destination(folder)
    if config.mask is not None:
        config.mask.check(config.patch_size, is_cancelled)
    workers = worker_count(workers)
    check_fits("PIXEL_SIZE", workers * example_bytes(config),
               f"{workers} worker(s) drawing {config.patch_size}-pixel patches of {config.pixel_size:g} m",
               "the atmosphere is drawn over five correlation lengths (about 1 km each) around a patch: "
               "use larger pixels or fewer workers")
    chunks = [range(start, min(start + CHUNK, config.total)) for start in range(0, config.total, CHUNK)]
    writer = DatasetWriter(folder, config.patch_size, COLUMNS)
    try:
        with process_pool(workers, _start_worker, (config,)) as pool:
            report(0.0, f"Generating {config.total} examples on {workers} process(es)")
            for chunk in ordered_results(pool, _make_chunk, chunks, 2 * workers, is_cancelled):
                for patch, label, record, sparse in chunk:
                    writer.add(patch, label, record, measurements=None if config.interpolation == "none"
                               else measurement_maps(sparse, sparse.shape))
                done = len(writer.labels)
                report(done / config.total, f"{done} of {config.total} examples")
        seconds = time.time() - started
        writer.commit({**config.describe(), "seconds": seconds, "workers": workers})
    except BaseException:
        writer.abort()
        raise
    return {"count": config.total, "seconds": seconds, "workers": workers,
            "examples_per_second": config.total / max(seconds, 1e-9)}


def ensure_dataset(config, folder, workers=0, progress=None, is_cancelled=None):
    """Generate the dataset ``config`` describes in ``folder`` unless it is already there.

    A dataset whose manifest records the same settings is reused (scripts
    that rebuild models or rerun benchmarks call this to skip hours of
    generation); anything else in ``folder`` is replaced. Returns the folder.
    """
    manifest = os.path.join(folder, MANIFEST)
    if os.path.isfile(manifest):
        with open(manifest, encoding="utf-8") as handle:
            recorded = json.load(handle)
        wanted = json.loads(json.dumps(config.describe()))
        if all(recorded.get(key) == value for key, value in wanted.items()):
            return folder
    os.makedirs(os.path.dirname(os.path.abspath(folder)), exist_ok=True)
    generate_dataset(config, folder, workers, progress, is_cancelled)
    return folder
