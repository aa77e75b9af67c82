"""Ground movement above a tunnel: a settlement trough with sagging and hogging zones.

Section III-B of the paper generates tunnelling subsidence following its
reference [37] (Fig. 3a): across the tunnel the profile has a sagging zone
(concave-up, over the tunnel, half-width l_sag, depth d_sag) and beyond it a
hogging zone (convex, width l_hog, depth d_hog) that fades to stable ground.
We read each zone's depth as its share of the settlement, so the settlement
is d_sag + d_hog over the axis, d_hog at the inflection point |x| = l_sag and
zero from |x| = l_sag + l_hog on:

    sagging, |x| <= l_sag:            S = d_hog + d_sag (1 - (|x| / l_sag)^k)
    hogging, l_sag < |x| < l_sag + l_hog:  S = d_hog (1 - (|x| - l_sag) / l_hog)^m

with k, m >= 2 chosen so the slope is continuous at the inflection point
(k d_sag / l_sag = m d_hog / l_hog), which keeps the profile smooth (C1).
Horizontal ground movement points towards the tunnel axis with magnitude
|x| S / z0 (O'Reilly and New, 1982), where the axis depth z0 = l_sag / K
follows from Peck's trough width i = K z0 with K = 0.5 for clays.

Along the tunnel the four parameters vary smoothly between knots, and the
settlement fades in and out where the tunnel starts or ends inside the area
with the cumulative normal longitudinal profile (Attewell and Woodman, 1982).
"""
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import ndtr

TROUGH_WIDTH_K = 0.5  # Peck (1969) i = K z0; O'Reilly and New (1982): K = 0.5 in clays
MIN_EXPONENT = 2.0  # the smaller of k and m: a parabola, the gentlest C1 shape of each zone


@dataclass(frozen=True)
class TroughParameters:
    """Trough parameters at one place along a tunnel, metres and mm/yr (or mm)."""

    l_sag: float
    l_hog: float
    d_sag: float
    d_hog: float


def zone_exponents(l_sag, l_hog, d_sag, d_hog):
    """Exponents (k, m) of the sagging and hogging shapes, both >= 2, equal slopes at |x| = l_sag."""
    slope = np.maximum(MIN_EXPONENT * d_sag / l_sag, MIN_EXPONENT * d_hog / l_hog)
    return slope * l_sag / d_sag, slope * l_hog / d_hog


def settlement(offset, l_sag, l_hog, d_sag, d_hog):
    """Settlement S >= 0 at ``offset`` metres across the tunnel axis, in the unit of d_sag, d_hog.

    Every argument broadcasts against ``offset``.
    """
    distance = np.abs(offset)
    k, m = zone_exponents(l_sag, l_hog, d_sag, d_hog)
    sagging = d_hog + d_sag * (1.0 - np.minimum(distance / l_sag, 1.0) ** k)
    beyond = np.clip((distance - l_sag) / l_hog, 0.0, 1.0)
    hogging = d_hog * (1.0 - beyond) ** m
    return np.where(distance <= l_sag, sagging, hogging)


def axis_depth(l_sag):
    """Depth of the tunnel axis (metres) that gives a trough inflection at ``l_sag`` metres."""
    return np.asarray(l_sag) / TROUGH_WIDTH_K


@dataclass
class TunnelPath:
    """A tunnel's centre line: (n, 2) points (east, north) in metres, spaced finely.

    ``starts_inside`` / ``ends_inside``: whether the tunnel's first / last
    point is a tunnel face inside the area (settlement fades out there)
    rather than a point beyond the area's edge.
    """

    points: np.ndarray
    starts_inside: bool
    ends_inside: bool

    def arc_length(self):
        """(n,) distance along the path from its first point, metres."""
        steps = np.hypot(*np.diff(self.points, axis=0).T)
        return np.concatenate([[0.0], np.cumsum(steps)])

    def tangents(self):
        """(n, 2) unit tangents along the path."""
        gradient = np.gradient(self.points, axis=0)
        return gradient / np.hypot(*gradient.T)[:, None]


def _path_coordinates(path, east, north, reach):
    """Each pixel's place relative to the path, from its nearest path point.

    Only pixels within ``reach`` metres of the path are located (the rest
    cannot move). Returns flat indices of those pixels, their arc position s
    (metres, extended beyond the ends), their signed offset across the path
    (metres, positive to the left of the direction of travel) and the (2, n)
    unit normals pointing left.
    """
    locations = np.column_stack([east.ravel(), north.ravel()])
    distance, nearest = cKDTree(path.points).query(locations, distance_upper_bound=reach)
    inside = np.flatnonzero(np.isfinite(distance))
    nearest = nearest[inside]
    relative = locations[inside] - path.points[nearest]
    tangent = path.tangents()[nearest]
    along = path.arc_length()[nearest] + np.einsum("ij,ij->i", relative, tangent)
    across = tangent[:, 0] * relative[:, 1] - tangent[:, 1] * relative[:, 0]
    return inside, along, across, np.stack([-tangent[:, 1], tangent[:, 0]])


def _parameters_along(knots, along, length):
    """The four trough parameters at arc positions ``along``: linear between evenly spaced knots."""
    positions = np.linspace(0.0, length, len(knots))
    values = np.array([[knot.l_sag, knot.l_hog, knot.d_sag, knot.d_hog] for knot in knots])
    return [np.interp(along, positions, values[:, column]) for column in range(4)]


def tunnel_displacement(east, north, path, knots):
    """Ground velocity (east, north, up) above a tunnel, same unit as the knots' depths.

    ``east``, ``north``: (H, W) pixel-centre coordinates in metres.
    ``knots``: TroughParameters at evenly spaced positions from the path's
    first point to its last (at least one).
    Returns three (H, W) arrays; up is negative (settlement).
    """
    knots = list(knots) * (2 if len(knots) == 1 else 1)
    reach = max(knot.l_sag + knot.l_hog for knot in knots)
    inside, along, across, normal = _path_coordinates(path, east, north, reach)
    l_sag, l_hog, d_sag, d_hog = _parameters_along(knots, along, path.arc_length()[-1])
    sinking = settlement(across, l_sag, l_hog, d_sag, d_hog) * _longitudinal_factor(path, along, l_sag)
    leftward = -across * sinking / axis_depth(l_sag)  # towards the axis from either side
    components = [np.zeros(east.shape) for _ in range(3)]
    for component, values in zip(components, (leftward * normal[0], leftward * normal[1], -sinking)):
        component.reshape(-1)[inside] = values
    return tuple(components)


def _longitudinal_factor(path, along, l_sag):
    """Fade of the settlement over a tunnel face (cumulative normal, width l_sag); 1 elsewhere."""
    factor = np.ones_like(along)
    if path.starts_inside:
        factor = factor * ndtr(along / l_sag)
    if path.ends_inside:
        factor = factor * ndtr((path.arc_length()[-1] - along) / l_sag)
    return factor


def straight_or_curved_path(start, end, bend, spacing):
    """Points of a tunnel from ``start`` to ``end`` (metres), a quadratic Bezier curve.

    ``bend``: the control point's offset from the chord's midpoint, as a
    fraction of the chord length, to the left (0 gives a straight line).
    ``spacing``: approximate distance between returned points, metres.
    Returns (n, 2) points.
    """
    start, end = np.asarray(start, float), np.asarray(end, float)
    chord = end - start
    control = (start + end) / 2 + bend * np.array([-chord[1], chord[0]])
    rough_length = np.hypot(*chord) * (1 + 2 * abs(bend))
    t = np.linspace(0.0, 1.0, max(2, int(np.ceil(rough_length / spacing)) + 1))[:, None]
    return (1 - t) ** 2 * start + 2 * (1 - t) * t * control + t ** 2 * end
