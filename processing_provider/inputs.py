"""Reading the user's layers for any insardefo algorithm: checks and plain arrays out.

Shared Processing glue: velocity points (any OGR point layer, reprojected to
a projected working CRS) and GDAL rasters, each checked with an error that
names the parameter to fix.
"""
import os
import re

import numpy as np
from osgeo import gdal
from qgis.core import (
    QgsCoordinateTransform,
    QgsCsException,
    QgsFeatureRequest,
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingParameterBand,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterField,
    QgsProcessingParameterMapLayer,
    QgsProcessingParameterNumber,
    QgsProcessingUtils,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QVariant

from ..core.common.errors import Cancelled, InputError
from ..core.common.raster_io import checked
from ..core.common.value_checks import VELOCITY, check_values

READ_REPORT_EVERY = 10000  # features between progress texts and cancel checks


def is_set(parameters, name):
    """Whether the user gave a value for ``name`` (None, '' and NULL mean 'not given')."""
    value = parameters.get(name)
    if value is None:
        return False
    if isinstance(value, QVariant):
        return not value.isNull()
    if isinstance(value, str):
        return value.strip() != ""
    return True


def error(parameter, message):
    """A QgsProcessingException whose text starts with the parameter to fix."""
    return QgsProcessingException(str(InputError(parameter, message)))


def has_crs(crs):
    """A valid CRS, not GeoPackage's placeholder "Undefined geographic/cartesian SRS"."""
    return crs.isValid() and re.match(r'\s*[A-Z]+\["Undefined', crs.toWkt()) is None


def is_null(value):
    return value is None or (isinstance(value, QVariant) and value.isNull())


def gdal_file(layer, parameter):
    """The file GDAL opens for a raster layer."""
    if layer.providerType() != "gdal":
        raise error(parameter, f"must be a raster file GDAL can read, not a {layer.providerType()} layer")
    return layer.source()


def raster_path(layer, parameter):
    """The file GDAL opens for a raster layer with a valid CRS."""
    if not has_crs(layer.crs()):
        raise error(parameter, "the raster has no valid CRS; assign one first (gdal:assignprojection)")
    return gdal_file(layer, parameter)


def velocity_raster_path(layer, parameters, layer_parameter="INPUT", target_parameter="TARGET_CRS"):
    """Path of a velocity raster given as ``layer_parameter``; a target CRS is for points only."""
    if is_set(parameters, target_parameter):
        raise error(target_parameter, "applies to point input only; reproject the raster first "
                                      "with gdal:warpreproject (Raster > Projections > Warp)")
    return raster_path(layer, layer_parameter)


def velocity_input_parameters(label):
    """Definitions of INPUT (velocity points or raster, titled ``label``), FIELD, BAND and NODATA."""
    nodata = QgsProcessingParameterNumber(
        "NODATA", "No-data value of the input, where the file or field does not declare one (mm/yr)",
        type=QgsProcessingParameterNumber.Double, optional=True)
    nodata.setFlags(nodata.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
    return [
        QgsProcessingParameterMapLayer("INPUT", label,
                                       types=[QgsProcessing.TypeVectorPoint, QgsProcessing.TypeRaster]),
        QgsProcessingParameterField("FIELD", "Velocity field (mm/yr; point input)", parentLayerParameterName="INPUT",
                                    type=QgsProcessingParameterField.Numeric, optional=True),
        QgsProcessingParameterBand("BAND", "Band (raster input)", defaultValue=1, parentLayerParameterName="INPUT",
                                   optional=True),
        nodata,
    ]


def declared_nodata(algorithm, parameters, context):
    """The NODATA value the user declared (a float), or None."""
    return algorithm.parameterAsDouble(parameters, "NODATA", context) if is_set(parameters, "NODATA") else None


def declared_nodata_raster(path, nodata):
    """``path``, or a virtual raster of it declaring no-data value ``nodata`` (None: ``path`` as it is).

    The core checks the values as it reads them (core.common.value_checks): an
    undeclared no-data value is refused there, naming NODATA.
    """
    if nodata is None:
        return path
    declared = QgsProcessingUtils.generateTempFilename("nodata.vrt")
    checked(gdal.Translate(declared, path, format="VRT", noData=nodata), f"declare no-data on {path}")
    return declared


def progress_reporter(feedback, start=0.0, end=1.0):
    """A core ``progress(fraction, message)`` callback drawing start..end of the progress bar.

    The message is passed on only when it changes: qgis_process prints every
    progress text on a line of its own.
    """
    shown = []

    def report(fraction, message):
        feedback.setProgress(100.0 * (start + (end - start) * fraction))
        if shown[-1:] != [message]:
            shown[:] = [message]
            feedback.setProgressText(message)
    return report


def check_point_layer(layer, parameter):
    """Refuse a vector layer without point geometries (a CSV or other table read without its x/y columns)."""
    if layer.geometryType() == QgsWkbTypes.NullGeometry:
        raise error(parameter, f"{layer.source().split('|')[0]} has no geometry (a table, e.g. a CSV read without "
                               "its coordinates); make points of it first: Layer > Add Delimited Text Layer "
                               "with its x and y fields, or native:createpointslayerfromtable")
    if layer.geometryType() != QgsWkbTypes.PointGeometry:
        raise error(parameter, "must be a point layer or a raster")


def raster_file_layer(algorithm, parameters, name, context):
    """The raster layer given as ``name``; a file GDAL cannot read is named as such."""
    layer = algorithm.parameterAsRasterLayer(parameters, name, context)
    if layer is not None and layer.isValid():
        return layer
    value = str(parameters[name])
    if os.path.isfile(value):
        raise error(name, f"{value} exists but GDAL cannot read it as a raster")
    raise error(name, f"{value} was not found (give a raster file or a loaded raster layer)")


def working_crs(layer, target, layer_parameter, target_parameter):
    """The projected CRS points are gridded in: ``target`` when valid, else the layer's.

    ``target`` is a QgsCoordinateReferenceSystem or None when the user gave none.
    """
    check_point_layer(layer, layer_parameter)
    if not has_crs(layer.crs()):
        raise error(layer_parameter, "the layer has no valid CRS; set it in Layer Properties > Source")
    if target is not None:
        if not target.isValid():
            raise error(target_parameter, "is not a valid CRS")
        if target.isGeographic():
            raise error(target_parameter, f"{target.authid() or target.description()} is geographic "
                                          "(degrees); choose a projected CRS in metres")
        return target
    if layer.crs().isGeographic():
        name = layer.crs().authid() or layer.crs().description()
        raise error(target_parameter, f"is required: the layer's CRS {name} is geographic (degrees); "
                                      "set it to a projected CRS")
    return layer.crs()


def velocity_field_index(layer, field_name, layer_parameter, field_parameter):
    """Index of the numeric velocity field ``field_name`` of a point layer."""
    check_point_layer(layer, layer_parameter)
    if not field_name:
        raise error(field_parameter, "is required for a point layer: choose the velocity field (mm/yr)")
    index = layer.fields().lookupField(field_name)
    if index < 0:
        raise error(field_parameter, f"the layer has no field {field_name!r}")
    if not layer.fields().at(index).isNumeric():
        raise error(field_parameter, f"{field_name!r} is not numeric ({layer.fields().at(index).typeName()})")
    return index


def read_points(layer, index, crs, context, feedback, layer_parameter, field_parameter, nodata=None,
                nodata_parameter=None):
    """Arrays x, y (in ``crs``) and v (mm/yr) of the features with a non-null field ``index``.

    Multipoints contribute each of their points; null values and values
    equal to ``nodata`` are skipped and counted in the log; infinite or NaN
    values, and values no velocity can have (an undeclared no-data value),
    are an error (its advice names ``nodata_parameter`` when given). With
    ``index`` None only the locations matter: every point reads v = 1.
    """
    field_name = layer.fields().at(index).name() if index is not None else ""
    transform = None
    if crs != layer.crs():
        transform = QgsCoordinateTransform(layer.crs(), crs, context.transformContext())
    total = layer.featureCount()
    if total == 0:
        raise error(layer_parameter, "the layer has no features")
    request = (QgsFeatureRequest().setSubsetOfAttributes([index]) if index is not None
               else QgsFeatureRequest().setNoAttributes())
    xs, ys, vs = [], [], []
    nulls = 0
    for count, feature in enumerate(layer.getFeatures(request)):
        if count % READ_REPORT_EVERY == 0:
            if feedback.isCanceled():
                raise Cancelled()
            feedback.setProgressText(f"Reading points ({count} of {total})")
        value = feature.attribute(index) if index is not None else 1.0
        if is_null(value) or (nodata is not None and float(value) == nodata):
            nulls += 1
            continue
        geometry = feature.geometry()
        if geometry is None or geometry.isNull() or geometry.isEmpty():
            continue
        if transform is not None:
            try:
                geometry.transform(transform)
            except QgsCsException as failure:
                raise error(layer_parameter, f"feature {feature.id()} cannot be transformed to the "
                                             f"working CRS ({failure})") from None
        points = geometry.asMultiPoint() if geometry.isMultipart() else [geometry.asPoint()]
        value = float(value)
        for point in points:
            xs.append(point.x())
            ys.append(point.y())
            vs.append(value)
    if not vs:
        if nulls:
            raise error(field_parameter, f"{field_name!r} is null or no-data in every feature")
        raise error(layer_parameter, "the layer has no point geometries")
    v = np.asarray(vs, dtype=float)
    if not np.isfinite(v).all():
        raise error(field_parameter, f"{field_name!r} holds {int((~np.isfinite(v)).sum())} infinite or NaN "
                                     "value(s); remove them or set them to null")
    if index is not None:
        check_values(v, field_parameter, VELOCITY, nodata_parameter)
    if nulls:
        feedback.pushInfo(f"Skipped {nulls} feature(s) with a null or no-data {field_name!r}")
    return np.asarray(xs, dtype=float), np.asarray(ys, dtype=float), v
