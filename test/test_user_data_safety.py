"""Nothing a user owns is overwritten or lost: output collisions, folders, signals, undeclared no-data, sizes.

Every algorithm's outputs are tried against its inputs and against each
other; the rows of issue 15 that lost data are run through qgis_process.bin
as a scripting user runs them.
"""
import json
import os
import pty
import shutil
import signal
import socket
import subprocess
import time

import numpy as np
import pytest
from conftest import file_hash, tree_hashes
from helpers import read_raster, smooth_velocity, write_points, write_raster
from insar_deformation_detector.core.staging import PREFIX
from qgis.core import QgsProcessingException

DEFAULT_MODEL = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "resources", "models",
                             "default.pt")


@pytest.fixture(scope="module")
def files(tmp_path_factory, tiny_dataset, tiny_model):
    """Input files of every kind the algorithms read, in a folder of their own."""
    folder = tmp_path_factory.mktemp("inputs")
    velocity = smooth_velocity(240, seed=3)
    sparse = np.where(np.random.default_rng(1).random(velocity.shape) < 0.2, velocity, np.nan)
    paths = {
        "dense": write_raster(str(folder / "dense.tif"), velocity),
        "sparse": write_raster(str(folder / "sparse.tif"), sparse),
        "probability": write_raster(str(folder / "probability.tif"), np.full((40, 40), 0.3)),
        "probability2": write_raster(str(folder / "probability2.tif"), np.full((40, 40), 0.6)),
        "points": write_points(str(folder / "points.gpkg"), [(400005.0 + 20 * i, 299995.0 - 30 * (i % 5), 0.1 * i)
                                                              for i in range(40)]),
        "dataset": tiny_dataset,
        "model": tiny_model[0],
        "statistics": str(folder / "noise.json"),
    }
    with open(paths["statistics"], "w", encoding="utf-8") as handle:
        json.dump({"format": "insardefo-noisestats", "version": 1, "nugget": 0.6, "sill": 1.8, "a": 1.2,
                   "b": 1.2}, handle)
    return paths


def algorithm_cases(files, out):
    """{algorithm: (parameters, [input parameters that are files], [output parameters])}."""
    return {
        "interpolate": ({"INPUT": files["sparse"], "OUTPUT": out("dense.tif"), "NOISE": out("noise.tif")},
                        ["INPUT"], ["OUTPUT", "NOISE"]),
        "noisestats": ({"INPUT": files["sparse"], "OUTPUT_JSON": out("noise.json"), "OUTPUT_PLOT": out("noise.png")},
                       ["INPUT"], ["OUTPUT_JSON", "OUTPUT_PLOT"]),
        "syntheticscene": ({"WIDTH": 100, "HEIGHT": 100, "NOISE_MAP": files["sparse"],
                            "OUTPUT_SPARSE": out("s.tif"), "OUTPUT_POINTS": out("p.gpkg"),
                            "OUTPUT_DEFORMATION": out("d.tif"), "OUTPUT_TRUTH": out("t.gpkg"),
                            "OUTPUT_NOISE_FREE": out("n.tif")},
                           ["NOISE_MAP"], ["OUTPUT_SPARSE", "OUTPUT_POINTS", "OUTPUT_DEFORMATION", "OUTPUT_TRUTH",
                                           "OUTPUT_NOISE_FREE"]),
        "synthesize": ({"COUNT": 1, "PATCH_SIZE": 32, "NOISE_STATS": files["statistics"], "NOISE_MAP": files["sparse"],
                        "MASK_SOURCE": files["points"], "OUTPUT": out("dataset")},
                       ["NOISE_STATS", "NOISE_MAP", "MASK_SOURCE"], ["OUTPUT"]),
        "detect": ({"INPUT": files["dense"], "MODEL": DEFAULT_MODEL, "OUTPUT_PROBABILITY": out("p.tif"),
                    "OUTPUT_AREAS": out("a.gpkg"), "OUTPUT_VELOCITY": out("v.tif"), "OUTPUT_WRAPPED": out("w.tif")},
                   ["INPUT", "MODEL"], ["OUTPUT_PROBABILITY", "OUTPUT_AREAS", "OUTPUT_VELOCITY", "OUTPUT_WRAPPED"]),
        "threshold": ({"INPUT": files["sparse"], "OUTPUT_AREAS": out("a.gpkg"), "OUTPUT_LEVELS": out("l.tif")},
                      ["INPUT"], ["OUTPUT_AREAS", "OUTPUT_LEVELS"]),
        "combine": ({"ASCENDING": [files["probability"]], "DESCENDING": [files["probability2"]],
                     "OUTPUT_PROBABILITY": out("c.tif"), "OUTPUT_AREAS": out("c.gpkg")},
                    ["ASCENDING", "DESCENDING"], ["OUTPUT_PROBABILITY", "OUTPUT_AREAS"]),
        "train": ({"DATASET": files["dataset"], "INIT_WEIGHTS": files["model"], "REAL_NEGATIVES": files["dense"],
                   "EPOCHS": 1, "OUTPUT_MODEL": out("m.pt"), "OUTPUT_REPORT": out("r.html"),
                   "OUTPUT_CURVE": out("c.png")},
                  ["DATASET", "INIT_WEIGHTS", "REAL_NEGATIVES"], ["OUTPUT_MODEL", "OUTPUT_REPORT", "OUTPUT_CURVE"]),
        "evaluate": ({"MODEL": files["model"], "DATASET": files["dataset"], "OUTPUT_REPORT": out("r.html")},
                     ["MODEL", "DATASET"], ["OUTPUT_REPORT"]),
    }


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


def assert_refused(caught, *words):
    message = str(caught.value)
    for word in words:
        assert word in message, message
    assert "Traceback" not in message and PREFIX not in message, message


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
                                              ("train", "OUTPUT_MODEL"), ("synthesize", "OUTPUT")])
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


def sentinel_raster(path, files):
    """(The sparse test raster with -9999 in every unmeasured cell and no no-data declared, measured cells)."""
    values, _ = read_raster(files["sparse"])
    measured = int(np.isfinite(values).sum())
    return write_raster(path, np.where(np.isfinite(values), values, -9999.0), nodata=None), measured


@pytest.mark.parametrize("algorithm", ["interpolate", "noisestats", "threshold", "detect"])
def test_an_undeclared_nodata_value_is_refused_and_named(run, files, tmp_path, algorithm):
    path, _ = sentinel_raster(str(tmp_path / "sentinel.tif"), files)
    parameters, _, outputs = algorithm_cases(dict(files, sparse=path, dense=path),
                                             lambda name: str(tmp_path / "out" / name))[algorithm]
    with pytest.raises(QgsProcessingException) as caught:
        run(algorithm, **parameters)
    assert_refused(caught, "INPUT: holds -9999 in", "undeclared no-data value", "NODATA=-9999")
    assert not (tmp_path / "out").exists()


def test_a_declared_nodata_value_is_not_measured(run, files, tmp_path):
    path, measured = sentinel_raster(str(tmp_path / "sentinel.tif"), files)
    results = run("interpolate", INPUT=path, NODATA=-9999, OUTPUT=str(tmp_path / "dense.tif"))
    assert results["MEASURED_CELLS"] == measured
    rows = [(400005.0 + 10 * i, 299995.0 - 10 * (i % 7), -9999.0 if i % 3 else 0.2 * i) for i in range(60)]
    points = write_points(str(tmp_path / "points.gpkg"), rows)
    with pytest.raises(QgsProcessingException) as caught:
        run("threshold", INPUT=points, FIELD="velocity", PIXEL_SIZE=10, OUTPUT_AREAS=str(tmp_path / "a.gpkg"))
    assert_refused(caught, "FIELD: holds -9999 in 40 cell(s)", "NODATA=-9999")
    run("threshold", INPUT=points, FIELD="velocity", PIXEL_SIZE=10, NODATA=-9999, OUTPUT_AREAS=str(tmp_path / "a.gpkg"))


def test_combine_refuses_a_map_without_a_valid_cell(run, files, tmp_path):
    empty = write_raster(str(tmp_path / "empty.tif"), np.full((40, 40), np.nan))
    with pytest.raises(QgsProcessingException) as caught:
        run("combine", ASCENDING=[empty], DESCENDING=[files["probability"]], OUTPUT_PROBABILITY=str(tmp_path / "c.tif"),
            OUTPUT_AREAS=str(tmp_path / "c.gpkg"))
    assert_refused(caught, "ASCENDING:", "has no valid cell")


def truncated_copy(dataset, folder):
    """A copy of ``dataset`` whose first shard lost its second half."""
    shutil.copytree(dataset, folder)
    shard = os.path.join(folder, "patches_00000.npy")
    with open(shard, "r+b") as handle:
        handle.truncate(os.path.getsize(shard) // 2)
    return folder


@pytest.mark.parametrize("algorithm", ["train", "evaluate"])
def test_a_truncated_shard_is_named_with_its_parameter(run, files, tmp_path, algorithm):
    damaged = truncated_copy(files["dataset"], str(tmp_path / "damaged"))
    parameters, _, _ = algorithm_cases(files, lambda name: str(tmp_path / name))[algorithm]
    for name, value in (("DATASET", damaged), ("MORE_DATASETS", damaged)):
        with pytest.raises(QgsProcessingException) as caught:
            run(algorithm, **dict(parameters, **{name: value}))
        assert_refused(caught, f"{name}: {damaged} is damaged", "patches_00000.npy")


def test_sizes_that_cannot_fit_memory_are_refused_before_allocation(run, tmp_path):
    outputs = {name: str(tmp_path / file) for name, file in (("OUTPUT_SPARSE", "s.tif"), ("OUTPUT_POINTS", "p.gpkg"),
                                                              ("OUTPUT_DEFORMATION", "d.tif"),
                                                              ("OUTPUT_TRUTH", "t.gpkg"))}
    for changes, words in (({"POINT_SOURCES": 1_000_000_000}, "POINT_SOURCES: 1000000000 sources cannot fit"),
                           ({"PIXEL_SIZE": 1e-6}, "PIXEL_SIZE: a 2000 x 2000 scene of 1e-06 m pixels would need")):
        started = time.monotonic()
        with pytest.raises(QgsProcessingException) as caught:
            run("syntheticscene", **outputs, **changes)
        assert_refused(caught, words, "GiB" if "PIXEL_SIZE" in changes else "ask for fewer")
        assert time.monotonic() - started < 10
    with pytest.raises(QgsProcessingException) as caught:
        run("synthesize", COUNT=1, PIXEL_SIZE=1e-6, OUTPUT=str(tmp_path / "dataset"))
    assert_refused(caught, "PIXEL_SIZE:", "GiB of memory")
    assert os.listdir(tmp_path) == []


def test_inputs_that_are_not_what_they_seem_get_the_right_message(run, files, tmp_path):
    table = tmp_path / "table.csv"
    table.write_text("x,y,velocity\n400005,299995,1.5\n400015,299995,2.5\n", encoding="utf-8")
    with pytest.raises(QgsProcessingException) as caught:
        run("interpolate", INPUT=str(table), FIELD="velocity", PIXEL_SIZE=10, OUTPUT=str(tmp_path / "d.tif"))
    assert_refused(caught, "INPUT:", "has no geometry", "createpointslayerfromtable")

    text = tmp_path / "text.tif"
    text.write_text("not a raster", encoding="utf-8")
    with pytest.raises(QgsProcessingException) as caught:
        run("synthesize", COUNT=1, PATCH_SIZE=32, NOISE_MAP=str(text), OUTPUT=str(tmp_path / "dataset"))
    assert_refused(caught, f"NOISE_MAP: {text} exists but GDAL cannot read it as a raster")

    with pytest.raises(QgsProcessingException) as caught:
        run("noisestats", INPUT=files["sparse"], MAX_DISTANCE_KM=1_000_000, OUTPUT_JSON=str(tmp_path / "n.json"))
    assert_refused(caught, "MAX_DISTANCE_KM: 1e+06 km in 30 bins is too long for this map", "Choose at most")


# ------------------------------------------------------------------ through qgis_process.bin

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


@pytest.fixture(scope="module")
def large_rasters(tmp_path_factory):
    """A dense 1200 x 1200 velocity map (seconds of windows) and a sparse one (seconds of interpolation)."""
    folder = tmp_path_factory.mktemp("large")
    velocity = np.tile(smooth_velocity(400, seed=4), (3, 3))
    sparse = np.where(np.random.default_rng(2).random(velocity.shape) < 0.1, velocity, np.nan)
    return {"dense": write_raster(str(folder / "dense.tif"), velocity),
            "sparse": write_raster(str(folder / "sparse.tif"), sparse)}


def run_until(qgis_process, arguments, marker, timeout=240):
    """Start qgis_process on a terminal (output unbuffered); (process, pty, text so far) once ``marker`` shows."""
    qgis_process.enable_plugin()
    controller, terminal = pty.openpty()
    process = subprocess.Popen([qgis_process.executable, *arguments], env=qgis_process.environment(),
                               stdout=terminal, stderr=terminal, start_new_session=True)
    os.close(terminal)
    text, deadline = "", time.monotonic() + timeout
    while marker not in text and time.monotonic() < deadline:
        try:
            chunk = os.read(controller, 4096)
        except OSError:
            break
        if not chunk:
            break
        text += chunk.decode(errors="replace")
    return process, controller, text


def read_rest(controller):
    text = ""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:
            return text
        if not chunk:
            return text
        text += chunk.decode(errors="replace")


@pytest.mark.parametrize("phase,source,signal_number,marker", [
    ("interpolation", "sparse", signal.SIGINT, "Tile 1 of"),
    ("windows", "dense", signal.SIGTERM, "Classifying tile 1 of"),
])
def test_a_signal_stops_qgis_process_and_leaves_nothing(qgis_process, large_rasters, tmp_path, phase, source,
                                                        signal_number, marker):
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    process, controller, text = run_until(qgis_process, [
        "run", "insardefo:detect", "--", f"INPUT={large_rasters[source]}", f"OUTPUT_PROBABILITY={outputs}/p.tif",
        f"OUTPUT_AREAS={outputs}/a.gpkg", f"OUTPUT_WRAPPED={outputs}/w.tif"], marker)
    assert marker in text, text
    os.killpg(process.pid, signal_number)
    signalled = time.monotonic()
    process.wait(timeout=60)
    stopped = time.monotonic() - signalled
    text += read_rest(controller)
    os.close(controller)
    name = signal.Signals(signal_number).name
    assert process.returncode != 0, text
    assert f"Interrupted by {name}: no output was written" in text and "Traceback" not in text, text
    assert stopped < 10, f"{phase}: {stopped:.1f} s"
    assert os.listdir(outputs) == []  # no output and no staging folder
