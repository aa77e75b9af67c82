"""Values a layer cannot hold if it is what it claims to be: undeclared no-data, impossible magnitudes.

A velocity raster whose missing cells hold -9999 without declaring it would
be read as measured everywhere: interpolation would trust the sentinels,
noise statistics would fit them and thresholds would draw them. Such values
are refused with a message naming the likely no-data value and how to
declare it.
"""
from collections import Counter
from dataclasses import dataclass

import numpy as np

from .errors import InputError
from .raster_io import count_finite, open_band

KEPT_VALUES = 64  # distinct out-of-range values counted per block (a sentinel is one value)
NODATA_MARKERS = {-1.0, -99.0, -999.0, -9999.0, -99999.0, 9999.0, 99999.0, 255.0, 32767.0, -32768.0, 65535.0,
                  -2147483648.0}  # values products and tools write where there is no data
HUGE = 1e30  # beyond: a float type's extreme (e.g. -3.4e38), another common no-data marker


@dataclass(frozen=True)
class ValueRange:
    """What a layer's values may be: ``low``..``high`` in ``unit``, ``what`` names the quantity.

    ``sentinels``: in-range values that, repeated, mark missing data rather than measurements.
    """

    low: float
    high: float
    what: str
    unit: str = ""
    sentinels: tuple = ()

    def describe(self):
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.what} ({self.low:g} to {self.high:g}{unit})"


# PS-InSAR cannot measure faster ground motion: a quarter wavelength per revisit is Sentinel-1's
# unambiguous limit, 55.5 mm / 4 per 6 days = 850 mm/yr (and 420 mm/yr at 12 days).
VELOCITY = ValueRange(-1000.0, 1000.0, "a velocity", "mm/yr", sentinels=(-999.0, 999.0))
PROBABILITY = ValueRange(0.0, 1.0, "a probability")


class ValueTally:
    """Counts, block by block, the finite values and those ``value_range`` rules out."""

    def __init__(self, value_range):
        self.range = value_range
        self.finite = 0
        self.outside = 0
        self.low = np.inf
        self.high = -np.inf
        self.repeated = Counter()

    def add(self, values):
        """Take an array of values (NaN: no data)."""
        values = np.asarray(values, dtype=np.float64)
        finite = values[np.isfinite(values)]
        self.finite += finite.size
        outside = finite[(finite < self.range.low) | (finite > self.range.high)]
        if outside.size:
            self.outside += outside.size
            self.low, self.high = min(self.low, outside.min()), max(self.high, outside.max())
            found, counts = np.unique(outside, return_counts=True)
            keep = np.argsort(counts)[-KEPT_VALUES:]
            self.repeated.update(dict(zip(found[keep].tolist(), counts[keep].tolist())))
        for sentinel in self.range.sentinels:
            count = int(np.count_nonzero(finite == sentinel))
            if count:
                self.repeated[sentinel] += count

    def check(self, parameter, declare):
        """Raise InputError naming ``parameter`` when a value is ruled out; ``declare(value)`` says how to fix."""
        sentinel, count = self.repeated.most_common(1)[0] if self.repeated else (None, 0)
        if count >= 2 and (sentinel in self.range.sentinels or sentinel in NODATA_MARKERS or abs(sentinel) >= HUGE):
            raise InputError(parameter, f"holds {sentinel:g} in {count} cell(s), which cannot be "
                                        f"{self.range.describe()}: it looks like an undeclared no-data value. "
                                        f"{declare(sentinel)}")
        if self.outside:
            raise InputError(parameter, f"holds {self.outside} value(s) from {self.low:g} to {self.high:g}, "
                                        f"outside what {self.range.describe()} can be; check the layer and its "
                                        "units, or declare the values that mark missing data as no data")


def declare_advice(nodata_parameter=None):
    """``advice(value)``: how to declare no-data ``value``, by ``nodata_parameter`` where the algorithm has one."""
    def advice(value):
        in_file = f"gdal_edit.py -a_nodata {value:g} FILE, or Raster > Conversion > Translate with it as no-data"
        if nodata_parameter:
            return f"Declare it with {nodata_parameter}={value:g} (or in the file: {in_file})."
        return f"Declare it in the file ({in_file}), or make those values null."
    return advice


def check_values(values, parameter, value_range=VELOCITY, nodata_parameter=None):
    """Refuse an array (e.g. point velocities, mm/yr) holding values ``value_range`` rules out."""
    tally = ValueTally(value_range)
    tally.add(values)
    tally.check(parameter, declare_advice(nodata_parameter))


def check_band_values(band, height, width, parameter, value_range=VELOCITY, nodata_parameter=None,
                      is_cancelled=None):
    """core.common.raster_io.count_finite of a band that also refuses values ``value_range`` rules out (one pass).

    Cells equal to the band's declared no-data value are not counted.
    Returns the number of valid cells.
    """
    tally = ValueTally(value_range)
    valid = count_finite(band, height, width, is_cancelled, parameter, inspect=tally.add)
    tally.check(parameter, declare_advice(nodata_parameter))
    return valid


def check_raster_values(path, band_number, parameter, value_range=VELOCITY, nodata_parameter=None,
                        is_cancelled=None):
    """check_band_values of band ``band_number`` of the raster ``path``; an error names the file too."""
    dataset, band = open_band(path, band_number, parameter)
    try:
        return check_band_values(band, dataset.RasterYSize, dataset.RasterXSize, parameter, value_range,
                                 nodata_parameter, is_cancelled)
    except InputError as error:
        raise InputError(parameter, f"{error.message} ({path})") from None
