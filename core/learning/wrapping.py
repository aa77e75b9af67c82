"""Over-wrapping velocities into the grayscale images the CNN sees (sections II-A, III-C).

A velocity map v (mm/yr) is wrapped at an interval mu after adding a phase
offset tau, mod(v + tau, mu), and scaled to grayscale 0-255, so one fringe
spans mu mm/yr. The detector looks at every (mu, tau) pair; training draws
them at random so that the network knows every look. The network input is
the gray image repeated over three channels and normalised like ImageNet
(torchvision's pretrained networks expect it); unmeasured pixels (NaN) become
0 after normalisation, so they add nothing to the first convolution
(section IV-A, sparse examples).
"""
import numpy as np

from ..common.errors import InputError

DEFAULT_INTERVALS = (14.0, 7.0, 3.5, 1.75)  # mm/yr, section III-C: wrap intervals mu
DEFAULT_OFFSETS = (0.0, 3.5, 7.0, 10.5)  # mm/yr, section III-C: phase offsets tau
IMAGENET_MEAN = (0.485, 0.456, 0.406)  # torchvision's ImageNet normalisation, per channel
IMAGENET_STD = (0.229, 0.224, 0.225)
MAX_WRAPS = 64


def wrap(velocity, interval, offset=0.0):
    """mod(v + tau, mu): (H, W) mm/yr -> (H, W) float32 in [0, ``interval``) mm/yr; NaN stays NaN."""
    return np.mod(np.asarray(velocity, dtype=np.float32) + np.float32(offset), np.float32(interval))


def wrap_to_gray(velocity, interval, offset=0.0):
    """Wrapped velocity as gray levels: (H, W) mm/yr -> (H, W) float32 in [0, 255).

    NaN (no measurement) stays NaN.
    """
    return wrap(velocity, interval, offset) * np.float32(255.0 / interval)


def gray_to_input(gray):
    """Network input from gray levels: (..., H, W) -> (..., 3, H, W) float32, NaN -> 0."""
    gray = np.asarray(gray, dtype=np.float32)[..., None, :, :] / np.float32(255.0)
    mean = np.asarray(IMAGENET_MEAN, dtype=np.float32)[:, None, None]
    std = np.asarray(IMAGENET_STD, dtype=np.float32)[:, None, None]
    return np.nan_to_num((gray - mean) / std, nan=0.0)


def network_input(velocity, interval, offset=0.0):
    """(H, W) mm/yr -> (3, H, W) float32 network input at one wrap interval and offset."""
    return gray_to_input(wrap_to_gray(velocity, interval, offset))


def wrap_pairs(intervals, offsets):
    """Every distinct (mu, tau) look, in order, as a list of (interval, offset) in mm/yr.

    Offsets that are whole multiples of an interval give the same image as
    offset 0 and are dropped for that interval (e.g. tau = 3.5, 7, 10.5 at
    mu = 1.75), which changes neither P_mu = max over tau nor the result.
    """
    pairs = []
    for interval in intervals:
        seen = set()
        for offset in offsets:
            phase = round(float(np.mod(offset, interval)), 9)
            if phase not in seen:
                seen.add(phase)
                pairs.append((float(interval), float(offset)))
    return pairs


def parse_values(parameter, text, low, high, include_low=False):
    """Comma-separated numbers in mm/yr between ``low`` and ``high`` from a parameter value.

    ``text`` may also be a sequence of numbers; InputError names ``parameter``
    when a value is not a number or out of range.
    """
    items = text.replace(";", ",").split(",") if isinstance(text, str) else list(text)
    try:
        values = tuple(float(item) for item in items if str(item).strip())
    except ValueError:
        raise InputError(parameter, f"must be comma-separated numbers in mm/yr, got {text!r}") from None
    if not values:
        raise InputError(parameter, "needs at least one value")
    if len(values) > MAX_WRAPS:
        raise InputError(parameter, f"at most {MAX_WRAPS} values, got {len(values)}")
    opening = "[" if include_low else "("
    for value in values:
        above_low = value >= low if include_low else value > low
        if not (np.isfinite(value) and above_low and value <= high):
            raise InputError(parameter, f"values must lie in {opening}{low:g}, {high:g}] mm/yr, got {value:g}")
    return values


def parse_intervals(text, parameter="INTERVALS"):
    """Wrap intervals mu in mm/yr, each in (0, 1000]."""
    return parse_values(parameter, text, 0.0, 1000.0)


def parse_offsets(text, parameter="OFFSETS"):
    """Phase offsets tau in mm/yr, each in [0, 1000]."""
    return parse_values(parameter, text, 0.0, 1000.0, include_low=True)
