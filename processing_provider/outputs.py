"""Output parameters the algorithms share: GeoTIFF destinations, the areas GeoPackage, contour levels.

That no output overwrites an input or another output is checked for every
algorithm in file_guard.
"""
from qgis.core import QgsProcessing, QgsProcessingParameterString, QgsProcessingParameterVectorDestination

from .inputs import error

GEOTIFF_EXTENSIONS = (".tif", ".tiff")


def thresholds_parameter(default, label):
    """THRESHOLDS: the levels the areas are traced at, comma-separated."""
    return QgsProcessingParameterString("THRESHOLDS", label, defaultValue=default)


def areas_parameter():
    """OUTPUT_AREAS: the detection areas (GeoPackage polygons)."""
    return QgsProcessingParameterVectorDestination("OUTPUT_AREAS", "Detection areas",
                                                   type=QgsProcessing.TypeVectorPolygon, defaultValue=None)


def raster_destination(algorithm, parameters, name, context):
    """The GeoTIFF path of raster destination ``name``."""
    path = algorithm.parameterAsOutputLayer(parameters, name, context)
    if not path:
        raise error(name, "needs a file path")
    if not path.lower().endswith(GEOTIFF_EXTENSIONS):
        raise error(name, f"must be a GeoTIFF (.tif) file, got {path}")
    return path


def area_destination(algorithm, parameters, context):
    """The GeoPackage path of OUTPUT_AREAS."""
    path = algorithm.parameterAsOutputLayer(parameters, "OUTPUT_AREAS", context)
    if not path:
        raise error("OUTPUT_AREAS", "needs a file path")
    if not path.lower().endswith(".gpkg"):
        raise error("OUTPUT_AREAS", f"must be a GeoPackage (.gpkg) file, got {path}")
    return path
