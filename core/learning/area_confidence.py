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
"""
from functools import partial

import numpy as np
from scipy.ndimage import binary_dilation, label, maximum

from ..synthesis.training_maps import IGNORE
from .calibration import softmax

LEVEL = 0.5  # the areas fitted: detect's lowest default level
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


def calibrate_areas(logits, velocity, labels, temperature):
    """The area calibration table of a network on held-out maps; see the module.

    ``logits``: the network's (K, S, S) logits of each of N maps (calibration.each_map_logits);
    ``velocity``: (N, S, S) mm/yr, NaN in holes; ``labels``: (N, S, S); ``temperature``: the
    model's fitted temperature.
    """
    outcomes = []
    for map_logits, map_velocity, map_labels in zip(logits, velocity, labels):
        probability = 1.0 - softmax(map_logits, temperature)[0]
        probability[~np.isfinite(map_velocity)] = np.nan
        outcomes += area_outcomes(probability, map_labels, map_velocity)
    return fit_area_confidence(outcomes)
