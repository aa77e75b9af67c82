"""Simulated spike noise for synthetic maps (section II-B): white noise of the nugget, or a real noise map's values."""
import numpy as np

from ..common.errors import Cancelled, InputError
from ..common.raster_io import open_band, read_window, row_blocks
from ..common.subsample import keep_smallest_keys

NOISE_MAP_SAMPLES = 200_000  # values kept from a noise map; spikes are drawn from these


class NuggetNoise:
    """Spike noise as white Gaussian noise whose variance is the nugget (section II-B), mm/yr."""

    def __init__(self, nugget):
        self.nugget = float(nugget)

    def describe(self):
        return f"nugget {self.nugget:.3g} mm^2/yr^2"

    def draw(self, rng, count):
        """(count,) noise values, mm/yr."""
        return rng.normal(0.0, np.sqrt(self.nugget), count)


class EmpiricalNoise:
    """Spike noise drawn from the values of a real noise map N = y - Med3x3(y), mm/yr.

    Keeps the real map's heavy tails, which white noise of the same variance lacks.
    """

    def __init__(self, values, source):
        self.values = np.asarray(values, dtype=np.float32)
        self.source = source

    def describe(self):
        return f"noise map {self.source} ({len(self.values)} values, std {self.values.std():.3g} mm/yr)"

    def draw(self, rng, count):
        """(count,) values drawn with replacement from the noise map, mm/yr."""
        return self.values[rng.integers(0, len(self.values), count)].astype(np.float64)


def sample_noise_map(path, rng, samples=NOISE_MAP_SAMPLES, is_cancelled=None):
    """An EmpiricalNoise from a uniform random subsample of a noise raster's valid cells.

    Streams the raster block by block, keeping the ``samples`` cells with the
    smallest random keys, so memory stays bounded on national maps. Raises
    InputError("NOISE_MAP", ...) for an unreadable raster or one without values.
    """
    dataset, band = open_band(path, 1, parameter="NOISE_MAP")
    kept_keys, kept_values = np.empty(0), np.empty(0)
    for row, rows in row_blocks(dataset.RasterYSize):
        if is_cancelled is not None and is_cancelled():
            raise Cancelled()
        block = read_window(band, (row, 0, rows, dataset.RasterXSize))
        values = block[np.isfinite(block)]
        kept_keys, kept_values = keep_smallest_keys((kept_keys, kept_values), (rng.random(len(values)), values),
                                                    samples)
    if len(kept_values) == 0:
        raise InputError("NOISE_MAP", "has no valid cells: every cell is nodata")
    return EmpiricalNoise(kept_values, path)
