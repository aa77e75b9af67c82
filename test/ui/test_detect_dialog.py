"""Tests of ui/detect_dialog.py, opened headless and driven as a user would.

The test renders its results to build/test-artefacts/, for a person to look at.
"""
import os

import pytest
from osgeo import osr
from qgis.core import QgsProject, QgsRasterLayer, QgsVectorLayer
from qgis.PyQt.QtCore import QElapsedTimer

from insar_deformation_detector.core.common.grid import GridSpec
from insar_deformation_detector.core.synthesis.deformation_sources import WIDE_POINT_SOURCES
from insar_deformation_detector.core.synthesis.line_of_sight import ASCENDING, DESCENDING
from insar_deformation_detector.core.synthesis.synthetic_scene import make_scene, write_scene_outputs

from helpers import ROOT, wait_until

ARTEFACTS = os.path.join(ROOT, "build", "test-artefacts")


@pytest.fixture(scope="module")
def two_passes(tmp_path_factory):
    """An ascending sparse raster and descending points of one 320 x 320 px scene with a wide point source."""
    folder = tmp_path_factory.mktemp("passes")
    paths = {}
    for name, geometry, output in (("ascending", ASCENDING, "sparse"), ("descending", DESCENDING, "points")):
        scene = make_scene(GridSpec(400000.0, 300000.0, 10.0, 320, 320), seed=4, point_sources=1, tunnels=0,
                           geometry=geometry, ranges=WIDE_POINT_SOURCES)
        reference = osr.SpatialReference()
        reference.ImportFromEPSG(27700)
        paths[name] = str(folder / f"{name}.{'tif' if output == 'sparse' else 'gpkg'}")
        write_scene_outputs(scene, {output: paths[name]}, reference.ExportToWkt())
    return paths


@pytest.fixture()
def project(qgis_app):
    QgsProject.instance().clear()
    yield QgsProject.instance()
    QgsProject.instance().clear()


def test_detect_dialog_adds_styled_results_of_both_passes_and_their_combination(qgis_processing, plugin, project,
                                                                                 two_passes, tmp_path):
    from insar_deformation_detector.ui.detect_dialog import DetectDialog
    from insar_deformation_detector.ui.map_image import render_png

    raster = QgsRasterLayer(two_passes["ascending"], "ascending velocities")
    points = QgsVectorLayer(f"{two_passes['descending']}|layername=measurements", "descending points", "ogr")
    project.addMapLayers([raster, points])
    dialog = DetectDialog()
    dialog.rows[0].layer.setLayer(raster)
    dialog.add_pass()
    dialog.rows[1].layer.setLayer(points)
    dialog.rows[1].field.setField("velocity")
    assert dialog.rows[1].pass_name == "descending" and not dialog.rows[0].field.isEnabled()
    dialog.folder.setFilePath(str(tmp_path))
    dialog.panel.start_button.click()
    assert wait_until(lambda: dialog.panel.task is None, seconds=300), dialog.panel.status.text()
    assert dialog.panel.status.text().startswith("Done."), dialog.panel.status.text()
    names = sorted(layer.name() for layer in dialog.added_layers)
    assert names == sorted([f"{prefix} {kind}" for prefix in ("pass 1 (ascending)", "pass 2 (descending)")
                            for kind in ("areas", "probability", "velocity")] + ["combined areas",
                                                                                  "combined probability"])
    group = project.layerTreeRoot().children()[0]
    assert group.name().startswith("Deformation detection ")
    assert len(group.findLayers()) == 8
    for layer in dialog.added_layers:
        assert layer.isValid()
        if layer.name().endswith("areas"):
            assert layer.renderer().type() == "categorizedSymbol" and layer.labelsEnabled()
        else:
            items = layer.renderer().shader().rasterShaderFunction().colorRampItemList()
            if layer.name().endswith("probability"):
                assert items[0].color.alpha() == 0 and items[1].value == 0.5
            else:
                assert items[0].value == pytest.approx(-items[-1].value)
    os.makedirs(ARTEFACTS, exist_ok=True)
    image = render_png([layer for layer in dialog.added_layers if not layer.name().startswith("pass 2")],
                       os.path.join(ARTEFACTS, "detect_dialog_canvas.png"), width_px=640)
    assert os.path.getsize(image) > 10000


def test_detect_dialog_says_what_is_missing(plugin, project):
    from insar_deformation_detector.ui.detect_dialog import DetectDialog

    dialog = DetectDialog()
    dialog.panel.start_button.click()
    assert dialog.panel.status.text() == "Choose at least one velocity layer" and dialog.panel.task is None


def test_cancel_stops_the_detect_dialog_within_seconds(qgis_processing, plugin, project, two_passes, tmp_path):
    from insar_deformation_detector.ui.detect_dialog import DetectDialog

    raster = QgsRasterLayer(two_passes["ascending"], "ascending velocities")
    project.addMapLayer(raster)
    dialog = DetectDialog()
    dialog.rows[0].layer.setLayer(raster)
    dialog.folder.setFilePath(str(tmp_path))
    dialog.panel.start_button.click()
    assert wait_until(lambda: dialog.panel.progress.value() > 0 or dialog.panel.task is None, seconds=60)
    timer = QElapsedTimer()
    timer.start()
    dialog.panel.cancel_button.click()
    assert wait_until(lambda: dialog.panel.task is None, seconds=30)
    assert timer.elapsed() < 10000
    assert dialog.panel.status.text() == "Cancelled: no layer was added."
    assert dialog.added_layers == [] and len(project.mapLayers()) == 1
    assert os.listdir(tmp_path) == []


def test_the_dialog_never_offers_a_layer_a_detection_wrote(qgis_app, project, two_passes, tmp_path):
    import numpy as np

    from insar_deformation_detector.ui.detect_dialog import DetectDialog
    from insar_deformation_detector.ui.layer_styles import style_probability

    from helpers import write_raster

    probability = QgsRasterLayer(write_raster(str(tmp_path / "p.tif"), np.full((40, 40), 0.3)), "a probability")
    style_probability(probability)
    velocity = QgsRasterLayer(two_passes["ascending"], "ascending velocities")
    project.addMapLayers([probability, velocity])  # the probability first: a plain combo box would offer it
    dialog = DetectDialog()
    combo = dialog.rows[0].layer
    assert combo.currentLayer() is velocity
    assert [combo.layer(index) for index in range(combo.count())] == [velocity]
