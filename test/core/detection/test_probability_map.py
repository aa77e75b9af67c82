"""Tests of core/detection/probability_map.py: the window lattice and Gaussian merging (section II-A)."""
import numpy as np
import pytest

from insar_deformation_detector.core.detection.probability_map import Lattice, merged_map


def test_lattice_covers_the_axis_and_maps_pixels_to_the_nearest_window_centre():
    lattice = Lattice(length=300, window=224, stride=32)
    assert (lattice.count, lattice.padded_length) == (4, 320)  # windows at 0, 32, 64, 96; the last runs past
    # window k's centre lies at 112 + 32 k; pixel p's centre at p + 0.5
    assert list(lattice.nearest([0, 111, 127, 128, 159, 160, 299])) == [0, 0, 0, 1, 1, 2, 3]


def test_merging_is_the_papers_gaussian_over_window_blocks():
    lattice = Lattice(length=224 + 32 * 8, window=224, stride=32)
    values = np.zeros((9, 9, 1))
    values[4, 4] = 1.0
    pixels = np.arange(lattice.length)
    merged = merged_map(values, (0, 0), pixels, pixels, lattice, lattice)[..., 0]
    centre = 112 + 32 * 4  # window 4's centre; the pixels nearest to it span 224..255
    assert merged[centre, centre] == pytest.approx(1.0, abs=1e-3)
    assert merged[224 - 11, centre] == pytest.approx(0.0, abs=1e-6)  # beyond the 10 px radius
    assert merged[224, centre] == pytest.approx(0.5, abs=0.06)  # about half the kernel on the block's edge
    assert merged.sum() == pytest.approx(32 * 32, rel=1e-3)  # the filter keeps the mass
