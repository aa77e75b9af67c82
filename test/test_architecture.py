"""The rules of the README's Architecture section, checked by reading the source.

* core/ never imports QGIS, Qt, the Processing glue or the dialogs;
* Qt widgets (qgis.gui, QtWidgets) appear only in ui/ and plugin.py: ui/ holds the Qt code;
* core/'s stages import one way: common <- interpolation <- synthesis <- learning <- detection
  <- distributed
  (a stage uses the shared layer and earlier stages, never a later one);
* every core module lives in a stage package;
* processing_provider/ holds one algorithm per *_algorithm.py file;
* test/ mirrors the source tree: test/<folder>/test_<name>.py tests <folder>/<name>.py.
"""
import ast
import os

import pytest

from helpers import ROOT

STAGES = ("common", "interpolation", "synthesis", "learning", "detection", "distributed")
QT = ("qgis.PyQt", "PyQt5", "PyQt6", "sip")
QT_WIDGETS = ("qgis.gui", "qgis.PyQt.QtWidgets", "PyQt5.QtWidgets", "PyQt6.QtWidgets")
FORBIDDEN_IN_CORE = ("qgis", "processing", "insar_deformation_detector.processing_provider",
                     "insar_deformation_detector.ui", "insar_deformation_detector.plugin") + QT


def python_files(folder):
    """Paths relative to the repository root of the .py files under ``folder``."""
    found = []
    for directory, directories, names in os.walk(os.path.join(ROOT, folder)):
        directories[:] = sorted(d for d in directories if d != "__pycache__")
        found += [os.path.relpath(os.path.join(directory, name), ROOT) for name in sorted(names)
                  if name.endswith(".py")]
    return found


def module_name(path):
    """Dotted name of a repository file in the plugin package: core/learning/networks.py -> *.core.learning.networks."""
    parts = path[:-len(".py")].split(os.sep)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(["insar_deformation_detector"] + parts)


def imported_modules(path, root=ROOT):
    """Absolute names of every module ``path`` (relative to ``root``) imports, at module level or in functions."""
    with open(os.path.join(root, path), encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), path)
    package = module_name(path).split(".")
    if not path.endswith("__init__.py"):
        package = package[:-1]
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            # "from package import module" imports the module: record both names
            names += ([module] if node.module else []) + [f"{module}.{alias.name}" for alias in node.names]
    return names


def stage_of(module):
    """Stage index of a core module name, or None outside core's stage packages."""
    parts = module.split(".")
    if parts[:2] == ["insar_deformation_detector", "core"] and len(parts) > 2 and parts[2] in STAGES:
        return STAGES.index(parts[2])
    return None


CORE_FILES = python_files("core")


def test_every_core_module_lives_in_a_stage_package():
    loose = [path for path in CORE_FILES if path.count(os.sep) == 1 and path != os.path.join("core", "__init__.py")]
    unknown = {path.split(os.sep)[1] for path in CORE_FILES if path.count(os.sep) > 1} - set(STAGES)
    assert not loose and not unknown, (loose, unknown)


@pytest.mark.parametrize("path", CORE_FILES)
def test_core_imports_neither_qgis_nor_the_glue(path):
    bad = [name for name in imported_modules(path)
           if any(name == prefix or name.startswith(prefix + ".") for prefix in FORBIDDEN_IN_CORE)]
    assert not bad, f"{path} imports {bad}"


@pytest.mark.parametrize("path", [path for path in CORE_FILES if path.count(os.sep) > 1])
def test_a_stage_imports_only_the_shared_layer_and_earlier_stages(path):
    own = stage_of(module_name(path))
    later = [name for name in imported_modules(path) if (stage_of(name) or 0) > own]
    assert not later, f"{path} ({STAGES[own]}) imports later stages: {later}"


def test_the_import_rules_catch_a_violation(tmp_path):
    """The checks above are not vacuous: a synthesis module importing QGIS and, in a function, detection."""
    folder = tmp_path / "core" / "synthesis"
    folder.mkdir(parents=True)
    (folder / "bad.py").write_text("from qgis.core import QgsProject\n"
                                   "from insar_deformation_detector.core import learning\n"
                                   "def f():\n    from ..detection.areas import contour_areas\n")
    path = os.path.join("core", "synthesis", "bad.py")
    names = imported_modules(path, root=str(tmp_path))
    assert "qgis.core" in names
    own = stage_of(module_name(path))
    for later in ("insar_deformation_detector.core.learning", "insar_deformation_detector.core.detection.areas"):
        assert later in names and stage_of(later) > own


@pytest.mark.parametrize("path", python_files("processing_provider") + python_files("core"))
def test_qt_widgets_only_in_ui(path):
    widgets = [name for name in imported_modules(path)
               if any(name == prefix or name.startswith(prefix + ".") for prefix in QT_WIDGETS)]
    assert not widgets, f"{path} imports {widgets}: dialogs and widgets belong in ui/"


@pytest.mark.parametrize("path", python_files("processing_provider"))
def test_one_processing_algorithm_per_algorithm_file(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), path)
    algorithms = [node.name for node in tree.body if isinstance(node, ast.ClassDef)
                  and any(getattr(base, "id", "") == "InsarAlgorithm" for base in node.bases)]
    expected = 1 if path.endswith("_algorithm.py") else 0
    assert len(algorithms) == expected, f"{path} defines {algorithms}"


@pytest.mark.parametrize("path", [path for folder in ("core", "processing_provider", "ui", "scripts")
                                  for path in python_files(os.path.join("test", folder))
                                  if os.path.basename(path).startswith("test_")])
def test_each_test_file_is_named_after_the_module_it_tests(path):
    folder, name = os.path.split(os.path.relpath(path, "test"))
    tested = os.path.join(ROOT, folder, name[len("test_"):])
    assert os.path.isfile(tested), f"{path} mirrors no module: {os.path.relpath(tested, ROOT)} does not exist"
