"""How often an area the dense detector draws is real, given its highest probability.

The temperature (core.learning.calibration) calibrates pixels: of the pixels at P = 0.9 about 9
in 10 deform. A user judges areas, and an area's highest probability is not the chance that the
area is real: one confident pixel among hundreds of stable ones can lift a false area, and a
real source can peak at 0.6. So a dense model also carries an area calibration, fitted on
held-out maps it never trained on:

1. the maps' probabilities are traced at LEVEL into 8-connected areas, as
   core.detection.areas traces them (no data never belongs to an area);
2. an area is real when it touches (within one pixel) a pixel labelled deforming; an area that
   touches none but touches the footprint of a source too faint to label (IGNORE on measured
   ground) is left out, since no one can say;
3. the share of real areas is fitted as a non-decreasing function of the area's highest
   probability (isotonic regression, pool-adjacent-violators) and stored as knots.

``confidence(table, max_probability)`` interpolates the knots: about 9 in 10 of the areas with a
confidence of 0.9 are real on maps like the held-out ones. It is the `confidence` field of
insardefo:detect's areas. How often an area is real also depends on how densely a map holds
sources: on maps sparser in sources than the calibration maps fewer are (bench/README.md, "Scenes").

How many false areas a user opens does not depend on the sources, only on how much stable ground
the map holds. So the table also carries the model's floor, "min_peak": the lowest highest
probability at which the held-out maps hold at most FALSE_AREAS_PER_1000_KM2 false areas per
1,000 km2 of stable measured ground (labelled 0 where the map has a value). Detection draws no
area whose highest probability is below it (``area_floor``); models without one draw every area.

False areas are far denser per km2 on fine maps than on coarse ones (for the unet_small model
bundled until 2026-12-07, calibration maps at 20 m held 40 to 80 times as many per km2 as those at
40-100 m, where a km2 holds up to 25 times fewer pixels), so one floor would be too lax at 20 m
and too strict at 100 m. The floor is therefore also fitted in FLOOR_BINS bins of working pixel
size, equal in log2 between the calibration maps' finest and coarsest ("floor_by_pixel"), each
held to the same budget; a bin without maps takes the overall floor.
"""
from functools import partial

import numpy as np
from scipy.ndimage import binary_dilation, label, maximum

from ..synthesis.training_maps import IGNORE
from .calibration import softmax

LEVEL = 0.5  # the areas fitted: detect's lowest default level
FALSE_AREAS_PER_1000_KM2 = 1.0  # the floor's budget: about 2 false areas on a 50 x 50 km map
FLOOR_BINS = 3  # of working pixel size (20-34, 34-58, 58-100 m for calibration maps of 20-100 m)
EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)


def area_outcomes(probability, labels, velocity):
    """[(highest probability, real)] of the areas at LEVEL of one map; see the module.

    ``probability``: (S, S) P(deformation), NaN where ``velocity`` (S, S, mm/yr) has no data;
    ``labels``: (S, S) classes (0 stable) or IGNORE.
    """
    regions, count = label(np.nan_to_num(probability, nan=-1.0) >= LEVEL, structure=EIGHT_CONNECTED)
    if count == 0:
        return []
    peaks = maximum(np.nan_to_num(probability, nan=-1.0), regions, index=np.arange(1, count + 1))
    deforming = (labels != IGNORE) & (labels > 0)
    unknown = (labels == IGNORE) & np.isfinite(velocity)
    outcomes = []
    for number, peak in enumerate(peaks, start=1):
        near = binary_dilation(regions == number, structure=EIGHT_CONNECTED)
        if deforming[near].any():
            outcomes.append((float(peak), True))
        elif not unknown[near].any():
            outcomes.append((float(peak), False))
    return outcomes


def isotonic(values, weights):
    """The non-decreasing sequence closest to ``values`` in weighted least squares (pool-adjacent-violators)."""
    blocks = []  # [mean, weight, count]
    for value, weight in zip(values, weights):
        blocks.append([float(value), float(weight), 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            mean, weight, count = blocks.pop()
            previous = blocks[-1]
            total = previous[1] + weight
            blocks[-1] = [(previous[0] * previous[1] + mean * weight) / total, total, previous[2] + count]
    return np.concatenate([np.full(count, mean) for mean, _, count in blocks])


def fit_area_confidence(outcomes):
    """The area calibration table of [(highest probability, real)] for a model's metadata.

    Returns {"level", "max_probability": knots, "share_real": fitted share at each knot, "areas"}:
    the isotonic fit of the areas sorted by highest probability, one knot per pooled block (with
    no areas to fit, the highest probability itself).
    """
    if not outcomes:
        return {"level": LEVEL, "max_probability": [LEVEL, 1.0], "share_real": [LEVEL, 1.0], "areas": 0}
    ordered = sorted(outcomes)
    peaks = np.array([peak for peak, _ in ordered])
    fitted = isotonic(np.array([float(real) for _, real in ordered]), np.ones(len(ordered)))
    knots, shares = [], []
    for value in np.unique(fitted):
        members = peaks[fitted == value]
        knots.append(float(members.mean()))
        shares.append(float(value))
    return {"level": LEVEL, "max_probability": knots, "share_real": shares, "areas": len(ordered)}


def confidence(table, max_probability):
    """The share of areas peaking at ``max_probability`` that were real on the held-out maps (0-1)."""
    return float(np.interp(max_probability, table["max_probability"], table["share_real"]))


def confidence_function(metadata):
    """``confidence`` bound to a model's area calibration, or None for a model without one."""
    table = metadata.get("area_confidence")
    return None if table is None else partial(confidence, table)


def fit_area_floor(outcomes, stable_km2):
    """The floor of [(highest probability, real)] areas on maps of ``stable_km2`` km2 of stable ground; see the module.

    Returns {"min_peak", "false_areas_per_1000_km2" (above the floor), "stable_km2"}: min_peak is
    LEVEL when the false areas are within the budget, else halfway between the highest false peak
    left out and the next higher peak of a false area (or 1).
    """
    allowed = int(FALSE_AREAS_PER_1000_KM2 * stable_km2 / 1000.0)
    false_peaks = sorted((peak for peak, real in outcomes if not real), reverse=True)
    if len(false_peaks) <= allowed:
        floor, above = LEVEL, len(false_peaks)
    else:
        higher = [peak for peak in false_peaks if peak > false_peaks[allowed]]
        floor = (false_peaks[allowed] + (higher[-1] if higher else 1.0)) / 2.0
        above = len(higher)
    rate = 1000.0 * above / stable_km2 if stable_km2 > 0 else 0.0
    return {"min_peak": float(floor), "false_areas_per_1000_km2": rate, "stable_km2": float(stable_km2)}


def area_floor(metadata, pixel_m=None):
    """The lowest highest probability of the areas a dense model of ``metadata`` draws (None: no floor).

    ``pixel_m``: the working pixel size (metres) the map was classified at, which picks the floor
    of its bin; None (or a model without bins) gives the overall floor.
    """
    table = metadata.get("area_confidence", {})
    bins = table.get("floor_by_pixel")
    if bins is None or pixel_m is None:
        return table.get("min_peak")
    index = int(np.searchsorted(bins["edges_m"], pixel_m, side="right")) - 1
    return bins["min_peak"][min(max(index, 0), len(bins["min_peak"]) - 1)]


def fit_floor_by_pixel(outcomes, stable_km2, pixel_m, overall):
    """The floor of each pixel-size bin; see the module.

    ``outcomes``: [(highest probability, real)] of each map's areas; ``stable_km2``: (N,) each
    map's stable ground; ``pixel_m``: (N,) each map's pixel size (metres); ``overall``: the floor
    of all the maps, for a bin without any. Returns {"edges_m": FLOOR_BINS + 1 edges, "min_peak": floors}.
    """
    pixel_m = np.asarray(pixel_m, dtype=float)
    edges = np.geomspace(pixel_m.min(), pixel_m.max(), FLOOR_BINS + 1)
    index = np.clip(np.searchsorted(edges, pixel_m, side="right") - 1, 0, FLOOR_BINS - 1)
    floors = []
    for number in range(FLOOR_BINS):
        members = np.flatnonzero(index == number)
        pooled = [outcome for member in members for outcome in outcomes[member]]
        floors.append(fit_area_floor(pooled, float(np.sum(np.asarray(stable_km2)[members])))["min_peak"]
                      if members.size else overall)
    return {"edges_m": edges.tolist(), "min_peak": floors}


def stable_ground_km2(labels, velocity, pixel_m):
    """km2 of a map's pixels labelled stable (0) where its (S, S) ``velocity`` has a value; ``pixel_m``: metres."""
    return float(np.count_nonzero((labels == 0) & np.isfinite(velocity))) * pixel_m ** 2 / 1e6


def calibrate_areas(logits, velocity, labels, temperature, pixel_m):
    """The area calibration table of a network on held-out maps, with its floor; see the module.

    ``logits``: the network's (K, S, S) logits of each of N maps (calibration.each_map_logits);
    ``velocity``: (N, S, S) mm/yr, NaN in holes; ``labels``: (N, S, S); ``temperature``: the
    model's fitted temperature; ``pixel_m``: (N,) each map's pixel size, metres.
    """
    outcomes, stable_km2 = [], []
    for map_logits, map_velocity, map_labels, map_pixel_m in zip(logits, velocity, labels, pixel_m):
        probability = 1.0 - softmax(map_logits, temperature)[0]
        probability[~np.isfinite(map_velocity)] = np.nan
        outcomes.append(area_outcomes(probability, map_labels, map_velocity))
        stable_km2.append(stable_ground_km2(map_labels, map_velocity, float(map_pixel_m)))
    pooled = [outcome for map_outcomes in outcomes for outcome in map_outcomes]
    overall = fit_area_floor(pooled, float(np.sum(stable_km2)))
    return {**fit_area_confidence(pooled), **overall,
            "floor_by_pixel": fit_floor_by_pixel(outcomes, stable_km2, pixel_m, overall["min_peak"])}
