"""Tests of processing_provider/algorithm_base.py through qgis_process.bin: progress and error messages."""
import os


def test_each_progress_text_is_printed_once(qgis_process, scene_files, tmp_path):
    qgis_process.enable_plugin()
    completed = qgis_process.call("run", "insardefo:interpolate", "--", f"INPUT={scene_files['sparse']}",
                                  f"OUTPUT={tmp_path / 'dense.tif'}")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stdout.count("Tile 1 of 1") == 1  # it was printed at every step of the solver


def test_bad_input_fails_with_the_parameter_name_and_no_traceback(qgis_process, scene_files, tmp_path):
    output = str(tmp_path / "dense.tif")
    completed, results = qgis_process.run("insardefo:interpolate", {
        "INPUT": scene_files["points"], "FIELD": "velocity", "OUTPUT": output})
    assert completed.returncode != 0
    assert results is None
    text = completed.stdout + completed.stderr
    assert "PIXEL_SIZE: is required" in text
    assert "Traceback" not in text
    assert not os.path.exists(output)
