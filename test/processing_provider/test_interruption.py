"""Tests of processing_provider/interruption.py: SIGINT and SIGTERM stop qgis_process.bin and leave nothing."""
import os
import pty
import signal
import subprocess
import time

import numpy as np
import pytest

from helpers import smooth_velocity, write_raster


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
