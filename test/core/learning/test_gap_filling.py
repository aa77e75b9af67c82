"""Tests of core/learning/gap_filling.py."""
import numpy as np

from insar_deformation_detector.core.learning.gap_filling import fill_gaps

from helpers import smooth_velocity


def test_holes_are_filled_smoothly_and_measured_values_kept():
    rows, cols = np.mgrid[0:200, 0:200]
    plane = (0.02 * rows + 0.01 * cols).astype(np.float32)  # mm/yr
    holed = plane.copy()
    holed[80:120, 80:120] = np.nan
    holed[:, 190:] = np.nan
    filled = fill_gaps(holed)
    assert np.isfinite(filled).all()
    np.testing.assert_array_equal(filled[np.isfinite(holed)], holed[np.isfinite(holed)])
    hole = filled[78:122, 78:122]
    assert np.abs(hole - plane[78:122, 78:122]).max() < 0.5  # a plane rising 0.8 mm/yr across the hole
    assert np.abs(np.diff(hole, axis=0)).max() < 0.06 and np.abs(np.diff(hole, axis=1)).max() < 0.06  # no steps
    assert np.isnan(fill_gaps(np.full((5, 5), np.nan))).all()


def test_holes_are_filled_cluster_by_cluster_exactly_as_over_the_whole_map(monkeypatch):
    from insar_deformation_detector.core.learning import gap_filling

    holed = smooth_velocity(400, 2).astype(np.float32)
    holed[30:70, 40:90] = np.nan  # separate clusters, one on the edge, one far from any data
    holed[200:203, 300:302] = np.nan
    holed[:, 380:] = np.nan
    holed[250:400, 0:150] = np.nan
    assert len(gap_filling._hole_clusters(~np.isfinite(holed), 16)) == 4
    by_cluster = fill_gaps(holed)
    monkeypatch.setattr(gap_filling, "MAX_HOLE_CLUSTERS", 0)  # one pass over the whole map
    np.testing.assert_array_equal(by_cluster, fill_gaps(holed))
