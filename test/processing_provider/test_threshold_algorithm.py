"""insardefo:threshold in real QGIS."""
import numpy as np
import pytest

from helpers import area_rows, read_raster, write_raster


def test_threshold_finds_a_cluster_and_drops_a_lone_spike(run, tmp_path):
    velocity = np.full((120, 120), np.nan)
    velocity[::3, ::3] = 0.5  # stable measurements every third pixel
    velocity[30:42:3, 30:42:3] = -6.0  # a cluster of 16 subsiding measurements
    velocity[90, 90] = 8.0  # one spike
    source = write_raster(str(tmp_path / "velocity.tif"), velocity)
    results = run("threshold", INPUT=source, OUTPUT_AREAS=str(tmp_path / "areas.gpkg"),
                  OUTPUT_LEVELS=str(tmp_path / "levels.tif"))
    rows = area_rows(results["OUTPUT_AREAS"])
    assert [row["level"] for row in rows] == [3.0, 4.5, 5.0] and results["AREAS"] == 1
    cluster = rows[0]
    assert cluster["sense"] == "subsidence" and cluster["extreme_velocity_mm_yr"] == pytest.approx(-6.0)
    # the cluster spans pixels 30..39, the 18 px square dilation adds 9 before and 8 after, and the
    # 3 x 3 median takes off the square's four corner pixels (4 of their 9 neighbours are inside)
    assert cluster["area_m2"] == pytest.approx(((10 + 17) ** 2 - 4) * 100.0)
    assert cluster["max_probability"] is None and cluster["measurements"] > 16
    levels = read_raster(results["OUTPUT_LEVELS"])[0]
    assert levels[35, 35] == 5.0 and levels[90, 90] == 5.0 and levels[60, 60] == 0.0
