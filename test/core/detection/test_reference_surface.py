"""Tests of core/detection/reference_surface.py: the local median each pixel is measured against."""
import numpy as np
from osgeo import gdal
from scipy.ndimage import map_coordinates

from insar_deformation_detector.core.detection.reference_surface import WINDOW_PX, ReferenceSurface


def band_of(values):
    """A MEM dataset of ``values`` (float32, NaN as no data) and its band; keep the dataset alive."""
    dataset = gdal.GetDriverByName("MEM").Create("", values.shape[1], values.shape[0], 1, gdal.GDT_Float32)
    dataset.GetRasterBand(1).WriteArray(values.astype(np.float32))
    return dataset, dataset.GetRasterBand(1)


def test_a_ramp_is_followed_and_a_small_bowl_does_not_move_it():
    rows, cols = np.mgrid[:600, :500].astype(np.float32)
    ramp = 0.05 * cols + 0.02 * rows  # mm/yr: 25 mm/yr across the map, as a national map's orbit error
    bowl = -15.0 * np.exp(-((rows - 300) ** 2 + (cols - 250) ** 2) / (2 * 8.0 ** 2))
    dataset, band = band_of(ramp + bowl)
    surface = ReferenceSurface(band, (600, 500)).window(0, 0, 600, 500)
    inner = (slice(WINDOW_PX // 2, -WINDOW_PX // 2),) * 2  # away from the edges, where windows are cut
    assert np.abs(surface - ramp)[inner].max() < 1.0  # mm/yr, where the ramp climbs 1 mm/yr every 20 px
    assert abs(surface[300, 250] - ramp[300, 250]) < 0.5  # the bowl is a small part of its window


def test_a_window_beyond_the_map_and_one_inside_agree_with_the_whole():
    values = np.random.default_rng(0).normal(0.0, 3.0, (300, 200)).cumsum(axis=1) / 10.0
    dataset, band = band_of(values)
    surface = ReferenceSurface(band, (300, 200))
    whole = surface.window(-64, -64, 428, 328)
    np.testing.assert_allclose(surface.window(100, 40, 50, 70), whole[164:214, 104:174], atol=1e-5)


def test_holes_take_the_nearest_median_and_an_empty_map_is_zero():
    values = np.full((256, 256), np.nan, np.float32)
    values[:64] = 4.0
    dataset, band = band_of(values)
    surface = ReferenceSurface(band, (256, 256))
    assert surface.median_mm_yr == 4.0 and np.allclose(surface.window(0, 0, 256, 256), 4.0)
    empty, empty_band = band_of(np.full((64, 64), np.nan))
    assert ReferenceSurface(empty_band, (64, 64)).median_mm_yr == 0.0


def test_the_windows_follow_the_models_crop_side():
    values = np.zeros((512, 512), np.float32)
    values[:, 256:] = 10.0  # a step: the surface climbs across one window around it
    dataset, band = band_of(values)
    for window in (128, 256):
        surface = ReferenceSurface(band, (512, 512), window_px=window).window(0, 0, 512, 512)
        climbing = np.flatnonzero((surface[256] > 0.5) & (surface[256] < 9.5))
        assert 0.4 * window <= climbing.size <= 0.5 * window  # between window centres half a window apart


def test_the_surface_is_bilinear_between_window_centres_and_held_beyond_them():
    values = np.random.default_rng(1).normal(0.0, 5.0, (300, 260))
    dataset, band = band_of(values)
    surface = ReferenceSurface(band, (300, 260), window_px=64)
    rows, cols = np.meshgrid(surface._on_grid(-40, 380), surface._on_grid(-40, 340), indexing="ij")
    expected = map_coordinates(surface.medians, [rows, cols], order=1, mode="nearest")
    np.testing.assert_allclose(surface.window(-40, -40, 380, 340), expected, atol=1e-5)
    narrow, narrow_band = band_of(np.full((20, 300), 2.5))
    assert np.allclose(ReferenceSurface(narrow_band, (20, 300)).window(-8, 0, 36, 300), 2.5)
