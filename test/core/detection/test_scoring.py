"""Tests of core/detection/scoring.py."""
import pytest
from osgeo import ogr, osr

from insar_deformation_detector.core.detection.scoring import score_areas


def _polygons(path, layer_name, squares, level=None):
    """A GeoPackage layer of axis-aligned squares (x0, y0, side) in EPSG:27700, with a level field."""
    reference = osr.SpatialReference()
    reference.ImportFromEPSG(27700)
    source = ogr.GetDriverByName("GPKG").CreateDataSource(path)
    layer = source.CreateLayer(layer_name, reference, ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn("level", ogr.OFTReal))
    for x0, y0, side in squares:
        ring = ogr.Geometry(ogr.wkbLinearRing)
        for x, y in ((x0, y0), (x0 + side, y0), (x0 + side, y0 + side), (x0, y0 + side), (x0, y0)):
            ring.AddPoint_2D(x, y)
        polygon = ogr.Geometry(ogr.wkbPolygon)
        polygon.AddGeometry(ring)
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetGeometry(polygon)
        if level is not None:
            feature.SetField("level", level)
        layer.CreateFeature(feature)
    return path


def test_areas_are_scored_against_the_truth(tmp_path):
    truth = _polygons(str(tmp_path / "truth.gpkg"), "truth", [(0, 0, 100), (1000, 0, 100), (2000, 0, 100)])
    areas = _polygons(str(tmp_path / "areas.gpkg"), "areas", [(50, 50, 100), (5000, 0, 10)], level=0.5)
    score = score_areas(areas, truth, 0.5)
    assert (score["sources"], score["found"], score["areas"], score["hits"]) == (3, 1, 2, 1)
    assert score["recall"] == pytest.approx(1 / 3) and score["precision"] == pytest.approx(0.5)
    assert score_areas(areas, truth, 0.9)["areas"] == 0
