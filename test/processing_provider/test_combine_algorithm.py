"""insardefo:combine in real QGIS."""
import os

import numpy as np
import pytest
from qgis.core import QgsProcessingException

from helpers import area_rows, read_raster, write_raster


def test_combine_averages_a_pair_and_takes_the_best_of_four_pairs(run, tmp_path):
    up1, up2, down1, down2 = (np.full((30, 40), value) for value in (0.2, 0.9, 0.4, 0.6))
    up1[0, 0] = np.nan  # one map of a pair without data: the other's value stands
    paths = [write_raster(str(tmp_path / f"{name}.tif"), array)
             for name, array in (("a1", up1), ("a2", up2), ("d1", down1), ("d2", down2))]
    two, four = str(tmp_path / "two.tif"), str(tmp_path / "four.tif")
    run("combine", ASCENDING=[paths[0]], DESCENDING=[paths[2]], OUTPUT_PROBABILITY=two,
        OUTPUT_AREAS=str(tmp_path / "two.gpkg"))
    combined = read_raster(two)[0]
    assert combined[0, 0] == pytest.approx(0.4) and combined[5, 5] == pytest.approx(0.3)
    results = run("combine", ASCENDING=paths[:2], DESCENDING=paths[2:], OUTPUT_PROBABILITY=four,
                  OUTPUT_AREAS=str(tmp_path / "four.gpkg"))
    assert read_raster(four)[0][5, 5] == pytest.approx((0.9 + 0.6) / 2)
    rows = area_rows(results["OUTPUT_AREAS"])
    assert [row["level"] for row in rows] == [0.5, 0.75]  # the whole map, one area per level reached
    assert rows[0]["area_m2"] == pytest.approx(30 * 40 * 100.0) and rows[0]["mean_velocity_mm_yr"] is None


def test_combine_leaves_out_areas_peaking_below_min_peak(run, tmp_path):
    up, down = np.full((30, 40), 0.6), np.full((30, 40), 0.6)
    up[5:10, 5:10] = down[5:10, 5:10] = 0.9  # one area peaking at 0.9
    up[20:25, 25:30] = 0.9  # and one peaking at 0.75 ((0.9 + 0.6) / 2), apart from it at 0.7
    paths = [write_raster(str(tmp_path / f"{name}.tif"), array) for name, array in (("a", up), ("d", down))]
    results = run("combine", ASCENDING=[paths[0]], DESCENDING=[paths[1]], THRESHOLDS="0.7", MIN_PEAK=0.8,
                  OUTPUT_PROBABILITY=str(tmp_path / "p.tif"), OUTPUT_AREAS=str(tmp_path / "a.gpkg"))
    rows = area_rows(results["OUTPUT_AREAS"])
    assert results["AREAS"] == 1 and rows[0]["max_probability"] == pytest.approx(0.9)


def test_combine_resamples_onto_the_first_ascending_grid(run, tmp_path):
    fine = write_raster(str(tmp_path / "fine.tif"), np.full((40, 40), 0.8))
    coarse = write_raster(str(tmp_path / "coarse.tif"), np.full((10, 10), 0.4),
                          geotransform=(400000.0, 40.0, 0.0, 300000.0, 0.0, -40.0))
    output = str(tmp_path / "combined.tif")
    run("combine", ASCENDING=[fine], DESCENDING=[coarse], OUTPUT_PROBABILITY=output,
        OUTPUT_AREAS=str(tmp_path / "areas.gpkg"))
    combined, info = read_raster(output)
    assert info["size"] == (40, 40) and info["geotransform"][1] == 10.0
    assert combined[20, 20] == pytest.approx(0.6)


def test_combine_refuses_maps_that_do_not_fit(run, tmp_path):
    inside = write_raster(str(tmp_path / "inside.tif"), np.full((20, 20), 0.5))
    far = write_raster(str(tmp_path / "far.tif"), np.full((20, 20), 0.5),
                       geotransform=(900000.0, 10.0, 0.0, 900000.0, 0.0, -10.0))
    velocity = write_raster(str(tmp_path / "velocity.tif"), np.full((20, 20), 7.0))
    for descending, words in ((far, "DESCENDING: " + far + " does not overlap"),
                              (velocity, "DESCENDING: holds 400 value(s) from 7 to 7, outside what a probability")):
        with pytest.raises(QgsProcessingException) as error:
            run("combine", ASCENDING=[inside], DESCENDING=[descending], OUTPUT_PROBABILITY=str(tmp_path / "c.tif"),
                OUTPUT_AREAS=str(tmp_path / "c.gpkg"))
        assert words in str(error.value)
        assert not os.path.exists(tmp_path / "c.tif")
