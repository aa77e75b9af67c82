"""insardefo:trainingmaps through processing.run and qgis_process.bin in real QGIS."""
import numpy as np
import pytest
from qgis.core import QgsProcessingException

from insar_deformation_detector.core.synthesis.dataset import Dataset
from insar_deformation_detector.core.synthesis.training_maps import CLASSES, IGNORE


def test_training_maps_hold_a_class_per_pixel_and_repeat_by_seed(run, tmp_path):
    first, second = str(tmp_path / "first"), str(tmp_path / "second")
    results = run("trainingmaps", COUNT=3, MAP_SIZE=48, SEED=11, WORKERS=1, OUTPUT=first)
    assert results["MAPS"] == 3 and results["OUTPUT"] == first
    run("trainingmaps", COUNT=3, MAP_SIZE=48, SEED=11, WORKERS=1, OUTPUT=second)
    maps, again = Dataset(first), Dataset(second)
    assert maps.has_label_maps and maps.classes == list(CLASSES) and len(maps) == 3
    for index in range(3):
        labels = maps.label_map(index)
        assert labels.shape == (48, 48) and set(np.unique(labels)) <= {0, 1, 2, IGNORE}
        np.testing.assert_array_equal(maps.patch(index), again.patch(index))
    pixel_sizes = [float(record["pixel_m"]) for record in maps.records()]
    assert all(20.0 <= size <= 100.0 for size in pixel_sizes)


def test_a_map_size_off_the_networks_grid_is_refused(run, tmp_path):
    with pytest.raises(QgsProcessingException, match="^MAP_SIZE: must be a multiple of 8"):
        run("trainingmaps", COUNT=1, MAP_SIZE=50, OUTPUT=str(tmp_path / "maps"))
    assert not (tmp_path / "maps").exists()


def test_training_maps_through_qgis_process(qgis_process, tmp_path):
    completed, results = qgis_process.run("insardefo:trainingmaps", {"COUNT": 2, "MAP_SIZE": 32, "SEED": 1,
                                                                    "OUTPUT": str(tmp_path / "maps")})
    assert completed.returncode == 0, completed.stderr
    assert results["MAPS"] == 2 and len(Dataset(str(tmp_path / "maps"))) == 2
