"""Build dist/insar_deformation_detector-<version>.zip for QGIS "Install from ZIP" and the plugin repository.

The zip holds one top-level folder, ``insar_deformation_detector/``, with the
plugin's files as tracked or present in the working tree, leaving out
development-only files (tests, benchmarks, scripts, virtual environment,
build output, CI, caches).
"""
import configparser
import os
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLUGIN_NAME = "insar_deformation_detector"
EXCLUDED_DIRS = {".git", ".venv", ".ci", ".github", ".pytest_cache", ".qgis-settings", "__pycache__",
                 "bench", "build", "dist", "scripts", "test", "tests"}
EXCLUDED_FILES = {"Makefile", "pytest.ini", "pyproject.toml", "requirements.txt", "CONTRIBUTING.md", ".gitignore",
                  ".gitattributes"}
EXCLUDED_SUFFIXES = (".pyc", ".pyo", ".zip", "~")


def version():
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(os.path.join(ROOT, "metadata.txt"), encoding="utf-8")
    return parser["general"]["version"]


def plugin_files():
    """Paths (relative to the repository root) that go into the zip, sorted."""
    files = []
    for folder, directories, names in os.walk(ROOT):
        directories[:] = sorted(d for d in directories if d not in EXCLUDED_DIRS and not d.startswith("."))
        for name in names:
            relative = os.path.relpath(os.path.join(folder, name), ROOT)
            if name in EXCLUDED_FILES or name.endswith(EXCLUDED_SUFFIXES) or name.startswith("."):
                continue
            files.append(relative)
    return sorted(files)


def build(destination=None):
    destination = destination or os.path.join(ROOT, "dist")
    os.makedirs(destination, exist_ok=True)
    path = os.path.join(destination, f"{PLUGIN_NAME}-{version()}.zip")
    partial = path + ".part"
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for relative in plugin_files():
            archive.write(os.path.join(ROOT, relative), f"{PLUGIN_NAME}/{relative}")
    os.replace(partial, path)
    return path


if __name__ == "__main__":
    print(build(sys.argv[1] if len(sys.argv) > 1 else None))
