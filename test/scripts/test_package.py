"""make package: a zip that QGIS "Install from ZIP" and the plugin repository accept."""
import configparser
import os
import subprocess
import sys
import zipfile

import pytest

import package
import qgis_process_runner
from helpers import ROOT

REQUIRED = ["name", "qgisMinimumVersion", "description", "about", "version", "author", "email",
            "repository", "tracker"]


@pytest.fixture(scope="module")
def built_zip(tmp_path_factory):
    destination = tmp_path_factory.mktemp("dist")
    completed = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "package.py"), str(destination)],
                               capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    path = completed.stdout.strip()
    assert path == str(destination / f"insar_deformation_detector-{package.version()}.zip")
    return path


def metadata(text):
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return parser["general"]


def test_zip_has_one_top_level_plugin_folder_without_development_files(built_zip):
    with zipfile.ZipFile(built_zip) as archive:
        names = archive.namelist()
    assert {name.split("/")[0] for name in names} == {"insar_deformation_detector"}
    inside = {name.split("/", 1)[1] for name in names}
    for needed in ["__init__.py", "metadata.txt", "plugin.py", "LICENSE", "README.md", "resources/icon.svg",
                   "processing_provider/provider.py", "processing_provider/interpolate_algorithm.py",
                   "core/__init__.py", "core/interpolation/raster_interpolation.py", "core/common/dependencies.py",
                   "resources/models/default.pt", "resources/models/README.md", "CHANGELOG.md"]:
        assert needed in inside, needed
    assert os.path.getsize(built_zip) < 25e6
    for name in inside:
        top = name.split("/")[0]
        assert top not in {"test", "bench", ".venv", "build", ".git", ".ci", "scripts", "dist", "pyproject.toml",
                           "CONTRIBUTING.md", "Makefile", "requirements.txt"}, name
        assert "__pycache__" not in name and not name.endswith((".pyc", ".zip")), name


def test_metadata_has_what_the_plugin_repository_requires(built_zip):
    with zipfile.ZipFile(built_zip) as archive:
        general = metadata(archive.read("insar_deformation_detector/metadata.txt").decode("utf-8"))
        files = set(archive.namelist())
    for key in REQUIRED:
        assert general.get(key, "").strip(), key
    assert general["name"] == "InSAR Deformation Detector"
    assert general["qgisMinimumVersion"] == "3.22"
    assert general["version"] == "0.1.0" == package.version()
    assert general["hasProcessingProvider"] == "yes"
    assert general["category"] == "Analysis"
    assert general["experimental"] == "True"
    assert general["repository"].startswith("https://github.com/")
    assert general["tracker"] == general["repository"] + "/issues"
    assert "insar_deformation_detector/" + general["icon"] in files
    assert "Anantrasirichai" in general["about"]


def test_unzipped_plugin_loads_in_qgis_process(built_zip, tmp_path):
    plugins = tmp_path / "plugins"
    with zipfile.ZipFile(built_zip) as archive:
        archive.extractall(plugins)
    with qgis_process_runner.QgisProcess(str(tmp_path / "profile"), plugin_path=str(plugins)) as runner:
        runner.enable_plugin()
        listing = runner.call("list")
        assert listing.returncode == 0
        assert "insardefo:interpolate" in listing.stdout
        help_text = runner.call("help", "insardefo:interpolate")
        assert str(plugins) in runner.environment()["QGIS_PLUGINPATH"]
        assert "Interpolate sparse velocities" in help_text.stdout
