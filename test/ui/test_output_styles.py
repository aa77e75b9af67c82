"""Outputs loaded by Processing arrive styled and grouped (runAndLoadResults, as the Toolbox does)."""
import numpy as np
import pytest
from qgis.core import QgsProcessingContext, QgsProcessingFeedback, QgsProject

from helpers import read_raster, write_raster


@pytest.fixture()
def run_and_load(qgis_processing, plugin):
    import processing

    project = QgsProject.instance()
    project.clear()

    def run(algorithm, **parameters):
        return processing.runAndLoadResults(f"insardefo:{algorithm}", parameters, context=QgsProcessingContext(),
                                            feedback=QgsProcessingFeedback())

    yield run
    project.clear()


def _layers_by_name():
    return {layer.name(): layer for layer in QgsProject.instance().mapLayers().values()}


def _ramp(layer):
    return layer.renderer().shader().rasterShaderFunction().colorRampItemList()


def test_scene_outputs_arrive_styled_in_one_group(run_and_load, tmp_path):
    run_and_load("syntheticscene", WIDTH=200, HEIGHT=200, POINT_SOURCES=3, TUNNELS=0, SEED=2,
                 OUTPUT_SPARSE=str(tmp_path / "sparse.tif"), OUTPUT_POINTS=str(tmp_path / "points.gpkg"),
                 OUTPUT_DEFORMATION=str(tmp_path / "deformation.tif"), OUTPUT_TRUTH=str(tmp_path / "truth.gpkg"))
    layers = QgsProject.instance().mapLayers().values()
    assert len(layers) == 4
    root = QgsProject.instance().layerTreeRoot()
    groups = root.findGroups()
    assert len(groups) == 1 and groups[0].name().startswith("Synthetic velocity scene ")
    assert {node.layer().id() for node in groups[0].findLayers()} == {layer.id() for layer in layers}
    for layer in layers:
        if layer.type() == layer.RasterLayer:
            items = _ramp(layer)
            assert layer.renderer().type() == "singlebandpseudocolor"
            assert items[0].value == pytest.approx(-items[-1].value)  # symmetric about 0 mm/yr
            assert items[0].color.name() == "#b2182b" and items[-1].color.name() == "#2166ac"  # red down, blue up
        elif layer.geometryType() == 0:
            assert layer.renderer().type() == "graduatedSymbol" and layer.renderer().classAttribute() == "velocity"
        else:
            symbol_layers = layer.renderer().symbol().symbolLayers()
            assert [symbol.layerType() for symbol in symbol_layers] == ["SimpleFill", "LinePatternFill"]


def test_threshold_outputs_arrive_styled(run_and_load, tmp_path):
    velocity = np.full((120, 120), np.nan)
    velocity[::3, ::3] = 0.5
    velocity[30:42:3, 30:42:3] = -6.0
    source = write_raster(str(tmp_path / "velocity.tif"), velocity)
    run_and_load("threshold", INPUT=source, OUTPUT_AREAS=str(tmp_path / "areas.gpkg"),
                 OUTPUT_LEVELS=str(tmp_path / "levels.tif"))
    layers = _layers_by_name()
    areas = next(layer for layer in layers.values() if layer.type() == layer.VectorLayer)
    levels = next(layer for layer in layers.values() if layer.type() == layer.RasterLayer)
    categories = areas.renderer().categories()
    assert areas.renderer().classAttribute() == "level"
    assert [category.value() for category in categories] == [3.0, 4.5, 5.0]
    assert [category.symbol().symbolLayer(0).strokeColor().name() for category in categories] == [
        "#ff8c00", "#e31a1c", "#7f0000"]
    assert areas.labelsEnabled()
    items = _ramp(levels)
    assert [item.value for item in items] == [0.0, 3.0, 4.5, 5.0] and items[0].color.alpha() == 0


def test_probability_is_transparent_below_the_lowest_threshold(run_and_load, tmp_path):
    up = write_raster(str(tmp_path / "up.tif"), np.linspace(0, 1, 40 * 40).reshape(40, 40))
    down = write_raster(str(tmp_path / "down.tif"), np.full((40, 40), 0.8))
    run_and_load("combine", ASCENDING=[up], DESCENDING=[down], THRESHOLDS="0.6,0.8",
                 OUTPUT_PROBABILITY=str(tmp_path / "p.tif"), OUTPUT_AREAS=str(tmp_path / "areas.gpkg"))
    probability = next(layer for layer in _layers_by_name().values() if layer.type() == layer.RasterLayer)
    items = _ramp(probability)
    assert items[0].value == pytest.approx(0.6) and items[0].value < 0.6 and items[0].color.alpha() == 0
    assert items[1].value == 0.6 and items[-1].value == 1.0 and items[-1].color.alpha() == 255


def test_detect_outputs_arrive_styled_with_a_cyclic_wrapped_velocity(run_and_load, tmp_path):
    from osgeo import osr

    from insar_deformation_detector.core.common.grid import GridSpec
    from insar_deformation_detector.core.synthesis.deformation_sources import WIDE_POINT_SOURCES
    from insar_deformation_detector.core.synthesis.synthetic_scene import make_scene, write_scene_outputs

    scene = make_scene(GridSpec(400000.0, 300000.0, 10.0, 256, 256), seed=5, point_sources=1, tunnels=0,
                       ranges=WIDE_POINT_SOURCES)
    reference = osr.SpatialReference()
    reference.ImportFromEPSG(27700)
    sparse = str(tmp_path / "sparse.tif")
    write_scene_outputs(scene, {"sparse": sparse}, reference.ExportToWkt())
    results = run_and_load("detect", INPUT=sparse, OUTPUT_PROBABILITY=str(tmp_path / "p.tif"),
                           OUTPUT_AREAS=str(tmp_path / "areas.gpkg"), OUTPUT_VELOCITY=str(tmp_path / "v.tif"),
                           OUTPUT_WRAPPED=str(tmp_path / "wrapped.tif"))
    layers = {layer.source().split("|")[0]: layer for layer in QgsProject.instance().mapLayers().values()}
    assert len(layers) == 4
    wrapped = layers[results["OUTPUT_WRAPPED"]]
    items = _ramp(wrapped)
    assert items[0].value == 0.0 and items[-1].value == 14.0  # one fringe per 14 mm/yr, the first interval
    assert items[0].color == items[-1].color  # cyclic
    values = read_raster(results["OUTPUT_WRAPPED"])[0]
    dense = read_raster(results["OUTPUT_VELOCITY"])[0]
    np.testing.assert_allclose(values, np.mod(dense, 14.0), atol=1e-4)
    velocity = _ramp(layers[results["OUTPUT_VELOCITY"]])
    assert velocity[0].value == pytest.approx(-velocity[-1].value)
    assert _ramp(layers[results["OUTPUT_PROBABILITY"]])[0].color.alpha() == 0
    assert layers[results["OUTPUT_AREAS"]].renderer().type() == "categorizedSymbol"


def test_area_labels_give_area_velocity_and_confidence_where_there_is_one(qgis_app):
    from qgis.core import QgsExpression, QgsExpressionContext, QgsFeature, QgsVectorLayer

    from insar_deformation_detector.ui.layer_styles import style_areas

    layer = QgsVectorLayer("Polygon?crs=EPSG:27700&field=level:double&field=area_m2:double"
                           "&field=mean_velocity_mm_yr:double&field=confidence:double", "areas", "memory")
    labels = []
    for confidence in (0.853, None):
        feature = QgsFeature(layer.fields())
        feature.setAttributes([0.5, 25000.0, -7.26, confidence])
        style_areas(layer)
        expression = QgsExpression(layer.labeling().settings().fieldName)
        context = QgsExpressionContext()
        context.setFeature(feature)
        labels.append(expression.evaluate(context))
    assert labels == ["2.5 ha\n-7.3 mm/yr\nP(real) 85 %", "2.5 ha\n-7.3 mm/yr"]
