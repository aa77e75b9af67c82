"""Detection areas scored against known sources (synthetic scenes).

A source counts as found when an area of the chosen level touches its
truth polygon; an area counts as a hit when it touches any source. Recall
is found / sources, precision hits / areas (section IV-C compares the
number of positive areas of the CNN and of thresholding).
"""
from osgeo import ogr

from ..common.raster_io import checked


def geometries(path, layer_name, level=None):
    """The non-empty geometries of a GeoPackage layer; with ``level``, only features of that "level"."""
    source = checked(ogr.Open(path), f"open {path}")
    layer = source.GetLayerByName(layer_name)
    kept = []
    for feature in layer:
        geometry = feature.GetGeometryRef()
        if geometry is None or geometry.IsEmpty():
            continue
        if level is None or abs(feature.GetField("level") - level) < 1e-9:
            kept.append(geometry.Clone())
    return kept


def score_areas(areas_path, truth_path, level):
    """{"sources", "found", "recall", "areas", "hits", "precision"} of the areas at ``level``.

    ``areas_path``: GeoPackage layer "areas" (core.detection.areas); ``truth_path``:
    GeoPackage layer "truth" (core.synthesis.synthetic_scene), sources without a
    polygon (never above the truth threshold) left out. Recall and precision
    are fractions (NaN when undefined).
    """
    truth = geometries(truth_path, "truth")
    areas = geometries(areas_path, "areas", level)
    found = len(sources_found(areas, truth))
    hits = sum(any(area.Intersects(source) for source in truth) for area in areas)
    return {"sources": len(truth), "found": found, "recall": found / len(truth) if truth else float("nan"),
            "areas": len(areas), "hits": hits, "precision": hits / len(areas) if areas else float("nan")}


def sources_found(areas, truth):
    """Indices of the ``truth`` geometries that one of the ``areas`` geometries touches."""
    return [index for index, source in enumerate(truth) if any(area.Intersects(source) for area in areas)]


def is_matched(area, others, min_iou=0.5):
    """Whether one of the ``others`` geometries overlaps ``area`` with intersection over union >= ``min_iou``."""
    return max((area.Intersection(other).GetArea() / area.Union(other).GetArea() for other in others),
               default=0.0) >= min_iou


def matched_areas(areas, others, min_iou=0.5):
    """How many of the ``areas`` geometries one of ``others`` matches (:func:`is_matched`)."""
    return sum(is_matched(area, others, min_iou) for area in areas)
