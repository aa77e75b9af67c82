"""The plugin loads like QGIS loads it and registers its Processing provider."""
import os
import subprocess
import sys

from qgis.core import QgsApplication, QgsProcessingParameterDefinition

from helpers import ROOT


def test_class_factory_with_no_iface_registers_the_provider(plugin):
    provider = QgsApplication.processingRegistry().providerById("insardefo")
    assert provider is not None
    assert provider.name() == "InSAR Deformation Detector"
    assert provider.supportedOutputRasterLayerExtensions() == ["tif"]
    assert not provider.icon().isNull()
    algorithm = QgsApplication.processingRegistry().algorithmById("insardefo:interpolate")
    assert algorithm is not None
    assert algorithm.displayName() == "Interpolate sparse velocities"
    assert algorithm.group() == "Data preparation"


def test_parameters_defaults_and_advanced_flags(plugin):
    algorithm = QgsApplication.processingRegistry().algorithmById("insardefo:interpolate")
    names = [parameter.name() for parameter in algorithm.parameterDefinitions()]
    assert names == ["INPUT", "FIELD", "BAND", "NODATA", "PIXEL_SIZE", "EXTENT", "TARGET_CRS", "METHOD", "P", "SIGMA",
                     "TAU", "MAX_ITERATIONS", "MAX_DISTANCE", "TILE_SIZE", "WHERE", "RUN_FOLDER", "OUTPUT", "NOISE"]
    defaults = {"P": 0.8, "SIGMA": 5.0, "TAU": 1e-4, "MAX_ITERATIONS": 200, "MAX_DISTANCE": 20.0,
                "TILE_SIZE": 2500, "WHERE": ""}
    for name, default in defaults.items():
        parameter = algorithm.parameterDefinition(name)
        assert parameter.defaultValue() == default
        assert parameter.flags() & QgsProcessingParameterDefinition.FlagAdvanced
    assert algorithm.parameterDefinition("METHOD").options() == [
        "Matrix completion (paper, Algorithm 1)", "Delaunay triangulation (linear)"]
    assert algorithm.parameterDefinition("METHOD").defaultValue() == 0
    assert not algorithm.parameterDefinition("NOISE").createByDefault()
    assert algorithm.parameterDefinition("RUN_FOLDER").flags() & QgsProcessingParameterDefinition.FlagAdvanced


def test_unload_removes_the_provider(qgis_app):
    import insar_deformation_detector

    registry = QgsApplication.processingRegistry()
    already = registry.providerById("insardefo") is not None
    instance = insar_deformation_detector.classFactory(None)
    instance.initGui()
    assert registry.providerById("insardefo") is not None
    instance.unload()
    if not already:
        assert registry.providerById("insardefo") is None


CHECK_IMPORTS = """
import sys
sys.path.insert(0, {pluginpath!r})
import insar_deformation_detector
assert "qgis" not in sys.modules and "qgis.core" not in sys.modules, "package import pulled in qgis"
from insar_deformation_detector.core.interpolation import gridding, raster_interpolation
from insar_deformation_detector.core.common import dependencies
assert "qgis.core" not in sys.modules, "core pulled in qgis"
from qgis.core import QgsApplication
app = QgsApplication([], False)
app.initQgis()
plugin = insar_deformation_detector.classFactory(None)
plugin.initProcessing()
assert QgsApplication.processingRegistry().algorithmById("insardefo:interpolate") is not None
loaded = sorted(name for name in sys.modules if name.split(".")[0] in ("torch", "torchvision"))
print("TORCH_MODULES", loaded)
plugin.unload()
app.exitQgis()
"""


def test_importing_the_plugin_imports_neither_qgis_nor_torch_needlessly(tmp_path):
    code = CHECK_IMPORTS.format(pluginpath=os.path.join(ROOT, "build", "pluginpath"))
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QGIS_CUSTOM_CONFIG_PATH=str(tmp_path / "profile"),
               HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path / "cache"))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "TORCH_MODULES []" in result.stdout


def test_with_an_interface_the_dialogs_get_menu_and_toolbar_entries(qgis_iface):
    import insar_deformation_detector

    instance = insar_deformation_detector.classFactory(qgis_iface)
    instance.initGui()
    try:
        assert [action.text() for action in instance.actions] == [
            "Detect deformation...", "Train a model...", "Check dependencies..."]
        assert [action.text() for action in instance.toolbar.actions()] == ["Detect deformation..."]
    finally:
        instance.unload()
    assert instance.actions == [] and instance.toolbar is None


def test_every_algorithm_has_help_naming_each_parameter_a_group_and_an_icon(plugin):
    algorithms = plugin.provider.algorithms()
    assert {algorithm.groupId() for algorithm in algorithms} == {"datapreparation", "training", "detection", "setup"}
    for algorithm in algorithms:
        text = algorithm.shortHelpString()
        assert len(text) > 500, algorithm.id()
        for definition in algorithm.parameterDefinitions():
            assert f"<code>{definition.name()}</code>" in text, (algorithm.id(), definition.name())
        assert not algorithm.icon().isNull()
    detect = QgsApplication.processingRegistry().algorithmById("insardefo:detect").shortHelpString()
    assert "<b>Stride between windows (pixels)</b> <code>STRIDE</code>: default 32" in detect


def test_without_pytorch_the_dialogs_first_offer_the_installer(qgis_iface, monkeypatch):
    import insar_deformation_detector
    import insar_deformation_detector.core.common.dependencies as dependencies
    from insar_deformation_detector.ui.detect_dialog import DetectDialog
    from insar_deformation_detector.ui.train_wizard import TrainWizard

    instance = insar_deformation_detector.classFactory(qgis_iface)
    offered, opened = [], []
    missing = ["torch"]
    monkeypatch.setattr(dependencies, "missing_packages", lambda names: list(missing))
    monkeypatch.setattr(instance, "open_dependencies", lambda: offered.append(True))
    monkeypatch.setattr(DetectDialog, "exec_", lambda dialog: opened.append("detect"))
    monkeypatch.setattr(TrainWizard, "exec_", lambda wizard: opened.append("train"))
    instance.open_detect()
    instance.open_train()
    assert offered == [True, True] and opened == []
    missing.clear()
    instance.open_detect()
    instance.open_train()
    assert offered == [True, True] and opened == ["detect", "train"]
