"""Random deformation sources for synthetic training examples (section III-B).

Two kinds, each returned as line-of-sight velocity (mm/yr) on a patch grid:

* point sources (coal-mining subsidence and uplift): a Mogi source with
  depth and volume change drawn from the paper's ranges;
* tunnels: a settlement trough with sagging and hogging zones along a
  straight or curved path (see ``core.synthesis.tunnel``).

Both are projected onto a Sentinel-1 line of sight and kept only when their
peak |LOS velocity| lies in the requested range (paper: 0-15 mm/yr), and
point sources only when they cover enough pixels to be seen at all.
"""
from dataclasses import asdict, dataclass

import numpy as np

from ..common.errors import InputError
from .line_of_sight import to_line_of_sight
from .mogi import mogi_displacement
from .tunnel import TroughParameters, TunnelPath, straight_or_curved_path, tunnel_displacement

MM_PER_M = 1000.0
MIN_FOOTPRINT_PIXELS = 9  # a point source must reach half its peak on >= 3 x 3 pixels, or no one could see it
CENTRE_SPREAD = 0.25  # sources are centred within +-25 % of the patch side from its centre
DRAW_ATTEMPTS = 2000  # random draws before the ranges are declared unable to give a source
CURVED_SHARE = 0.5  # share of tunnels on a curved path
MAX_BEND = 0.3  # control-point offset of curved paths, fraction of the chord
FACE_INSIDE_SHARE = 0.25  # chance that each end of a tunnel is a face inside the patch
KNOTS_RANGE = (2, 4)  # places along a tunnel where the trough parameters are drawn afresh
PATH_STEP_FRACTION = 0.5  # spacing of points along a tunnel path, in pixels
PATH_REACH = 1.1  # a tunnel passing the patch runs this many patch sides from its centre: beyond the corners


def checked_range(name, values, allow_zero=False):
    """(min, max) floats of a range parameter with 0 < min <= max (0 <= min with ``allow_zero``).

    Raises InputError naming ``name`` otherwise.
    """
    lower, upper = (float(value) for value in values)
    if not (np.isfinite(lower) and np.isfinite(upper)):
        raise InputError(name, f"must be finite, got {lower}..{upper}")
    if lower > upper:
        raise InputError(name, f"is empty: minimum {lower} exceeds maximum {upper}")
    if lower < 0 or (lower == 0 and not allow_zero):
        raise InputError(name, f"must be {'non-negative' if allow_zero else 'positive'}, got {lower}..{upper}")
    return lower, upper


@dataclass(frozen=True)
class SourceRanges:
    """Ranges (min, max) the sources are drawn from; defaults from section III-B.

    depth_m, volume_m3: Mogi source depth (metres) and |volume change| (m^3/yr).
    los_mm_yr: peak |LOS velocity| (mm/yr) of every source.
    l_sag_m, l_hog_m: widths of the sagging and hogging zones (metres).
    d_sag_mm, d_hog_mm: their depths (mm/yr of settlement).
    """

    depth_m: tuple = (3.0, 80.0)  # section III-B: shallow coal-mining sources
    volume_m3: tuple = (10 ** 0.3, 10 ** 3)  # section III-B
    los_mm_yr: tuple = (2.0, 15.0)  # section III-B: 0-15 mm/yr; below 2 the atmosphere hides it
    l_sag_m: tuple = (30.0, 80.0)  # section III-B
    l_hog_m: tuple = (30.0, 80.0)  # section III-B
    d_sag_mm: tuple = (1.0, 10.0)  # section III-B
    d_hog_mm: tuple = (1.0, 5.0)  # section III-B

    PARAMETERS = {"depth_m": "DEPTH_RANGE", "volume_m3": "VOLUME_RANGE", "los_mm_yr": "LOS_RANGE",
                  "l_sag_m": "L_SAG_RANGE", "l_hog_m": "L_HOG_RANGE", "d_sag_mm": "D_SAG_RANGE",
                  "d_hog_mm": "D_HOG_RANGE"}

    def validate(self):
        """Raise InputError naming the first empty or non-positive range."""
        for field, parameter in self.PARAMETERS.items():
            checked_range(parameter, getattr(self, field))


def _uniform(rng, bounds):
    return float(rng.uniform(*bounds))


def _offsets(east, north, centre):
    return east - centre[0], north - centre[1]


def random_centre(rng, east, north):
    """A source position (metres) within CENTRE_SPREAD of the patch centre."""
    span = np.array([np.ptp(east), np.ptp(north)])
    middle = np.array([east.mean(), north.mean()])
    return middle + rng.uniform(-CENTRE_SPREAD, CENTRE_SPREAD, 2) * span


def draw_point_source(rng, east, north, geometry, ranges):
    """A Mogi source whose peak |LOS| on the grid is drawn uniformly from ``ranges.los_mm_yr``.

    ``east``, ``north``: (H, W) pixel-centre coordinates, metres. Depth is
    drawn from ``ranges.depth_m`` and the volume change solved for the drawn
    peak; draws whose volume falls outside ``ranges.volume_m3`` or whose
    half-peak footprint is under MIN_FOOTPRINT_PIXELS are drawn again.
    Returns ((H, W) LOS velocity in mm/yr, record dict).
    """
    for _ in range(DRAW_ATTEMPTS):
        peak = _uniform(rng, ranges.los_mm_yr)
        depth = _uniform(rng, ranges.depth_m)
        sense = 1.0 if rng.random() < 0.5 else -1.0
        centre = random_centre(rng, east, north)
        unit = to_line_of_sight(*mogi_displacement(*_offsets(east, north, centre), depth, sense), geometry) * MM_PER_M
        unit_peak = float(np.abs(unit).max())
        volume = peak / unit_peak
        footprint = int(np.count_nonzero(np.abs(unit) >= 0.5 * unit_peak))
        if ranges.volume_m3[0] <= volume <= ranges.volume_m3[1] and footprint >= MIN_FOOTPRINT_PIXELS:
            record = {"source": "mogi", "sense": "uplift" if sense > 0 else "subsidence",
                      "depth_m": depth, "volume_m3": sense * volume, "peak_los_mm_yr": peak,
                      "centre_east_m": float(centre[0]), "centre_north_m": float(centre[1])}
            return unit * volume, record
    raise InputError("DEPTH_RANGE", "no point source with a depth in DEPTH_RANGE and a volume change in "
                                    "VOLUME_RANGE reaches a peak in LOS_RANGE over at least "
                                    f"{MIN_FOOTPRINT_PIXELS} pixels at this pixel size; widen the ranges")


def _end_point(rng, centre, direction, reach, inside_radius):
    """One end of a tunnel: beyond the patch, or (sometimes) a face inside it."""
    if rng.random() < FACE_INSIDE_SHARE:
        return centre + direction * rng.uniform(0.2, 1.0) * inside_radius, True
    return centre + direction * reach, False


def random_tunnel_path(rng, east, north, pixel_size):
    """A straight or curved TunnelPath through the patch, with its faces (if any) inside."""
    centre = random_centre(rng, east, north)
    side = max(np.ptp(east), np.ptp(north))
    angle = rng.uniform(0.0, np.pi)
    direction = np.array([np.cos(angle), np.sin(angle)])
    start, starts_inside = _end_point(rng, centre, -direction, PATH_REACH * side, 0.4 * side)
    end, ends_inside = _end_point(rng, centre, direction, PATH_REACH * side, 0.4 * side)
    bend = rng.uniform(-MAX_BEND, MAX_BEND) if rng.random() < CURVED_SHARE else 0.0
    points = straight_or_curved_path(start, end, bend, pixel_size * PATH_STEP_FRACTION)
    return TunnelPath(points, starts_inside, ends_inside), bend


def _random_knots(rng, ranges):
    count = int(rng.integers(KNOTS_RANGE[0], KNOTS_RANGE[1] + 1))
    return [TroughParameters(_uniform(rng, ranges.l_sag_m), _uniform(rng, ranges.l_hog_m),
                             _uniform(rng, ranges.d_sag_mm), _uniform(rng, ranges.d_hog_mm))
            for _ in range(count)]


KNOT_COLUMNS = {"l_sag": "l_sag_m", "l_hog": "l_hog_m", "d_sag": "d_sag_mm_yr", "d_hog": "d_hog_mm_yr"}


def _knot_summary(knots):
    """Min and max of each trough parameter over the knots, named with units, for the manifest."""
    rows = [asdict(knot) for knot in knots]
    summary = {}
    for key, column in KNOT_COLUMNS.items():
        values = [row[key] for row in rows]
        summary[f"{column}_min"], summary[f"{column}_max"] = float(min(values)), float(max(values))
    return summary


def draw_tunnel(rng, east, north, geometry, ranges, pixel_size):
    """A tunnel with peak |LOS| inside ``ranges.los_mm_yr``.

    Returns ((H, W) LOS velocity in mm/yr, record dict).
    """
    for _ in range(DRAW_ATTEMPTS):
        path, bend = random_tunnel_path(rng, east, north, pixel_size)
        knots = _random_knots(rng, ranges)
        los = to_line_of_sight(*tunnel_displacement(east, north, path, knots), geometry)
        peak = float(np.abs(los).max())
        if ranges.los_mm_yr[0] <= peak <= ranges.los_mm_yr[1]:
            record = {"source": "tunnel", "sense": "subsidence", "peak_los_mm_yr": peak,
                      "path": "curved" if bend else "straight", "bend": bend,
                      "faces_inside": int(path.starts_inside) + int(path.ends_inside),
                      "knots": len(knots), **_knot_summary(knots)}
            return los, record
    raise InputError("LOS_RANGE", "no tunnel with trough parameters in L_SAG_RANGE, L_HOG_RANGE, "
                                  "D_SAG_RANGE and D_HOG_RANGE has a peak in LOS_RANGE; widen the ranges")


# Point sources wide enough to survive 10 m gridding and matrix completion's sigma = 5 px low-pass
# (section II-A): the paper's 3-80 m depths (section III-B) give half-peak radii of 2-60 m, 0.2-6 px
# at 10 m, which interpolation all but erases. UK longwall coal workings lie hundreds of metres deep.
# The bundled model and bench/table1.py train on these.
WIDE_POINT_SOURCES = SourceRanges(depth_m=(50.0, 300.0), volume_m3=(2.0, 1e5))
