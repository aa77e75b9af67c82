"""Tests of processing_provider/file_guard.py.

No output lands on anything the user owns, through processing.run and qgis_process.bin.
"""
import os
import socket
import subprocess
import time

import pytest
from qgis.core import QgsProcessingException

from insar_deformation_detector.core.common.staging import PREFIX

from algorithm_cases import algorithm_cases, assert_refused
from helpers import file_hash, tree_hashes


def collision_matrix():
    """(algorithm, output, input or output it is set to) for every pair the rule covers."""
    out = lambda name: name  # noqa: E731
    placeholder = {name: name for name in ("dense", "sparse", "probability", "probability2", "points", "dataset",
                                           "model", "statistics")}
    pairs = []
    for algorithm, (_, inputs, outputs) in algorithm_cases(placeholder, out).items():
        for index, output in enumerate(outputs):
            pairs += [(algorithm, output, source) for source in inputs]
            pairs += [(algorithm, output, other) for other in outputs[:index]]
    return pairs


@pytest.mark.parametrize("algorithm,output,target", collision_matrix())
def test_no_output_lands_on_an_input_or_another_output(run, files, tmp_path, algorithm, output, target):
    out = lambda name: str(tmp_path / name)  # noqa: E731
    parameters, inputs, _ = algorithm_cases(files, out)[algorithm]
    if target in inputs:
        value = parameters[target]
        parameters[output] = value[0] if isinstance(value, list) else value
        if os.path.isdir(parameters[output]) and output != "OUTPUT":
            parameters[output] = os.path.join(parameters[output], "manifest.json")
    else:
        parameters[output] = parameters[target]
    before = {path: tree_hashes(path) if os.path.isdir(path) else file_hash(path) for path in files.values()}

    with pytest.raises(QgsProcessingException) as caught:
        run(algorithm, **parameters)

    assert_refused(caught, f"{output}:", target)
    assert {path: tree_hashes(path) if os.path.isdir(path) else file_hash(path) for path in files.values()} == before
    assert os.listdir(tmp_path) == []


def test_links_and_geopackage_layers_are_the_files_they_point_to(run, files, tmp_path):
    symbolic, hard = str(tmp_path / "symbolic.tif"), str(tmp_path / "hard.tif")
    os.symlink(files["sparse"], symbolic)
    os.link(files["sparse"], hard)
    before = file_hash(files["sparse"])
    for alias in (symbolic, hard):
        with pytest.raises(QgsProcessingException) as caught:
            run("interpolate", INPUT=files["sparse"], OUTPUT=alias)
        assert_refused(caught, "OUTPUT: is the same file as INPUT")
    with pytest.raises(QgsProcessingException) as caught:
        run("threshold", INPUT=f"{files['points']}|layername=points", FIELD="velocity", PIXEL_SIZE=10,
            OUTPUT_AREAS=files["points"])
    assert_refused(caught, "OUTPUT_AREAS: is the same file as INPUT")
    assert file_hash(files["sparse"]) == before


def test_a_new_output_folder_is_made_and_taken_away_again_when_the_run_fails(run, files, tmp_path):
    made = tmp_path / "new" / "deeper" / "dense.tif"
    results = run("interpolate", INPUT=files["sparse"], OUTPUT=str(made))
    assert results["OUTPUT"] == str(made) and made.exists()

    with pytest.raises(QgsProcessingException):
        run("interpolate", INPUT=files["sparse"], P=0.0, OUTPUT=str(tmp_path / "other" / "dense.tif"))
    assert sorted(os.listdir(tmp_path)) == ["new"]


@pytest.mark.parametrize("algorithm,output", [("interpolate", "OUTPUT"), ("syntheticscene", "OUTPUT_TRUTH"),
                                              ("train", "OUTPUT_MODEL"), ("synthesize", "OUTPUT"),
                                              ("trainingmaps", "OUTPUT")])
def test_an_output_where_nothing_can_be_written_fails_before_any_work(run, files, tmp_path, algorithm, output):
    parameters, _, _ = algorithm_cases(files, lambda name: str(tmp_path / name))[algorithm]
    parameters[output] = "/proc/insardefo-output" + os.path.splitext(parameters[output])[1]
    started = time.monotonic()
    with pytest.raises(QgsProcessingException) as caught:
        run(algorithm, **parameters)
    assert_refused(caught, f"{output}:", "/proc", "choose a folder you can write to")
    assert time.monotonic() - started < 20  # train used to train first and fail when saving


def test_stale_staging_of_dead_runs_on_this_host_is_removed(run, files, tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    host = "".join(character if character.isalnum() else "_" for character in socket.gethostname())
    stale = tmp_path / f"{PREFIX}{host}-{dead.pid}-abc"
    alive = tmp_path / f"{PREFIX}{host}-{os.getppid()}-def"
    elsewhere = tmp_path / f"{PREFIX}otherhost-{dead.pid}-ghi"
    for folder in (stale, alive, elsewhere):
        folder.mkdir()
        (folder / "part0.tif").write_bytes(b"13 MB of parts")
    run("interpolate", INPUT=files["sparse"], OUTPUT=str(tmp_path / "dense.tif"))
    assert sorted(os.listdir(tmp_path)) == sorted(["dense.tif", alive.name, elsewhere.name])


LOST_DATA_ROWS = {  # issue 15's rows that lost data with exit status 0: (algorithm, parameters, output, input)
    "evaluate report over its model": ("evaluate", {"MODEL": "model", "DATASET": "dataset", "OUTPUT_REPORT": "model"},
                                       "OUTPUT_REPORT", "MODEL"),
    "train model over its initial weights": ("train", {"DATASET": "dataset", "INIT_WEIGHTS": "model", "EPOCHS": 1,
                                                       "OUTPUT_MODEL": "model", "OUTPUT_REPORT": "OUT/r.html"},
                                             "OUTPUT_MODEL", "INIT_WEIGHTS"),
    "train model and report on one file": ("train", {"DATASET": "dataset", "EPOCHS": 1, "OUTPUT_MODEL": "OUT/x.pt",
                                                     "OUTPUT_REPORT": "OUT/x.pt"}, "OUTPUT_REPORT", "OUTPUT_MODEL"),
    "syntheticscene output over its noise map": ("syntheticscene", {"WIDTH": 100, "HEIGHT": 100, "NOISE_MAP": "sparse",
                                                                    "OUTPUT_SPARSE": "sparse",
                                                                    "OUTPUT_POINTS": "OUT/p.gpkg",
                                                                    "OUTPUT_DEFORMATION": "OUT/d.tif",
                                                                    "OUTPUT_TRUTH": "OUT/t.gpkg"},
                                                 "OUTPUT_SPARSE", "NOISE_MAP"),
    "detect probability and velocity on one file": ("detect", {"INPUT": "dense", "OUTPUT_PROBABILITY": "OUT/p.tif",
                                                               "OUTPUT_AREAS": "OUT/a.gpkg",
                                                               "OUTPUT_VELOCITY": "OUT/p.tif"},
                                                    "OUTPUT_VELOCITY", "OUTPUT_PROBABILITY"),
}


@pytest.mark.parametrize("row", list(LOST_DATA_ROWS))
def test_rows_that_lost_data_now_fail_through_qgis_process(qgis_process, files, tmp_path, row):
    algorithm, template, output, other = LOST_DATA_ROWS[row]
    parameters = {name: files.get(value, value.replace("OUT", str(tmp_path))) if isinstance(value, str) else value
                  for name, value in template.items()}
    before = {path: tree_hashes(path) if os.path.isdir(path) else file_hash(path) for path in files.values()}
    completed, results = qgis_process.run(f"insardefo:{algorithm}", parameters, timeout=300)
    text = completed.stdout + completed.stderr
    assert completed.returncode != 0 and results is None, text
    assert f"{output}: is the same file as {other}" in text and "Traceback" not in text, text
    assert {path: tree_hashes(path) if os.path.isdir(path) else file_hash(path) for path in files.values()} == before
    assert os.listdir(tmp_path) == []
