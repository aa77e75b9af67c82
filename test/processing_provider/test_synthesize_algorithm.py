"""insardefo:synthesize through processing.run and qgis_process.bin in a real (headless) QGIS."""
import json
import os

import numpy as np
import pytest
from qgis.core import QgsProcessingContext, QgsProcessingException, QgsProcessingFeedback

from insar_deformation_detector.core.synthesis.dataset import Dataset

from helpers import tree_hashes, write_points, write_raster

SMALL = {"KIND": 2, "COUNT": 2, "PATCH_SIZE": 48, "INTERPOLATION": 1, "WORKERS": 2}


@pytest.fixture(scope="module")
def synthesize(qgis_processing, plugin):
    import processing

    def run(**parameters):
        return processing.run("insardefo:synthesize", parameters, context=QgsProcessingContext(),
                              feedback=QgsProcessingFeedback())

    return run


def noise_statistics(path, a=1.1, b=1.3, nugget=0.4):
    document = {"format": "insardefo-noisestats", "version": 1, "a": a, "b": b, "nugget": nugget,
                "sill": a + nugget}
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(document, handle)
    return path


def test_three_class_dataset_with_measured_noise_and_real_patterns(synthesize, scene_files, tmp_path):
    noise_map = np.full((60, 60), np.nan)
    noise_map[::2, ::2] = 0.25
    noise_map[1::2, 1::2] = -0.25
    output = str(tmp_path / "dataset")
    results = synthesize(**SMALL, OUTPUT=output, SEED=3, PASSES=[1],
                         NOISE_STATS=noise_statistics(str(tmp_path / "stats.json")),
                         NOISE_MAP=write_raster(str(tmp_path / "noise.tif"), noise_map),
                         MASK_SOURCE=scene_files["points"], LOS_RANGE="4,6")
    assert results == {"OUTPUT": output, "EXAMPLES": 6}
    dataset = Dataset(output)
    assert len(dataset) == 6 and dataset.classes == ["no_deformation", "point_source", "tunnel"]
    assert dataset.patch(0).shape == (48, 48) and dataset.patch(0).dtype == np.float32
    records = dataset.records()
    assert {record["pass"] for record in records} == {"descending"}
    assert {record["pattern"] for record in records} == {"mask source"}
    assert {float(record["atmosphere_a_mm2_yr2"]) for record in records} == {1.1}
    assert {float(record["atmosphere_b_per_km"]) for record in records} == {1.3}
    assert all(4.0 <= float(record["peak_los_mm_yr"]) <= 6.0 for record in records[1:3])
    assert dataset.manifest["spike_noise"].startswith("noise map")
    assert dataset.manifest["sources"]["los_mm_yr"] == [4.0, 6.0]


def test_sparse_dataset_keeps_the_gaps(synthesize, tmp_path):
    output = str(tmp_path / "sparse")
    synthesize(**dict(SMALL, INTERPOLATION=2, KIND=1), OUTPUT=output)
    dataset = Dataset(output)
    assert dataset.classes == ["no_deformation", "tunnel"]
    assert all(np.isnan(dataset.patch(index)).any() for index in range(len(dataset)))


@pytest.mark.parametrize("parameters, named", [
    ({"PIXEL_SIZE": -5}, "PIXEL_SIZE"),
    ({"COUNT": 0}, "COUNT"),
    ({"DEPTH_RANGE": "80,3"}, "DEPTH_RANGE"),
    ({"B_RANGE": "0,1"}, "B_RANGE"),
    ({"PASSES": []}, "PASSES"),
    ({"MASK_SOURCE": "empty points"}, "MASK_SOURCE"),
    ({"NOISE_MAP": "not a raster"}, "NOISE_MAP"),
    ({"NOISE_STATS": "broken json"}, "NOISE_STATS"),
])
def test_bad_parameters_name_the_parameter_and_write_nothing(synthesize, tmp_path, parameters, named):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    if parameters.get("MASK_SOURCE") == "empty points":
        parameters = {"MASK_SOURCE": write_points(str(inputs / "empty.gpkg"), [])}
    if parameters.get("NOISE_MAP") == "not a raster":
        (inputs / "noise.tif").write_text("not a raster")
        parameters = {"NOISE_MAP": str(inputs / "noise.tif")}
    if parameters.get("NOISE_STATS") == "broken json":
        (inputs / "stats.json").write_text("{ not json")
        parameters = {"NOISE_STATS": str(inputs / "stats.json")}
    before = tree_hashes(str(inputs))
    output = str(tmp_path / "dataset")
    with pytest.raises(QgsProcessingException) as raised:
        synthesize(**dict(SMALL, **parameters), OUTPUT=output)
    assert named in str(raised.value)
    assert "Traceback" not in str(raised.value)
    assert tree_hashes(str(inputs)) == before
    assert sorted(os.listdir(tmp_path)) == ["inputs"]


def test_through_qgis_process(qgis_process, tmp_path):
    output = str(tmp_path / "dataset")
    completed, results = qgis_process.run("insardefo:synthesize", {
        "KIND": 0, "COUNT": 3, "PATCH_SIZE": 40, "INTERPOLATION": 0, "SEED": 9, "OUTPUT": output})
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert results["EXAMPLES"] == 6
    dataset = Dataset(output)
    assert np.bincount(dataset.labels).tolist() == [3, 3]
    assert all(np.isfinite(dataset.patch(index)).all() for index in range(6))
