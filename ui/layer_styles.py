"""Styles for the plugin's outputs, as in the paper's figures.

* velocity (mm/yr): a diverging ramp centred on 0, red for subsidence and
  blue for uplift, symmetric over the data's 2nd-98th percentile magnitude;
* probability (0-1): a sequential ramp, transparent below the lowest threshold;
* detection areas: outlines by level (orange, red, dark red from the lowest
  level up), labelled with area and mean velocity;
* truth polygons: hatched;
* wrapped velocity (0 to the interval, mm/yr): a cyclic ramp, the same
  colour at both ends as a fringe;
* velocity points: the velocity ramp in classes; threshold levels: the
  level colours, transparent where no threshold is reached.
"""
import numpy as np
from osgeo import gdal
from qgis.core import (
    QgsCategorizedSymbolRenderer,
    QgsColorRampShader,
    QgsFeatureRequest,
    QgsFillSymbol,
    QgsGraduatedSymbolRenderer,
    QgsLinePatternFillSymbolLayer,
    QgsMarkerSymbol,
    QgsPalLayerSettings,
    QgsRasterShader,
    QgsRendererCategory,
    QgsRendererRange,
    QgsSingleBandPseudoColorRenderer,
    QgsSingleSymbolRenderer,
    QgsTextFormat,
    QgsVectorLayerSimpleLabeling,
)
from qgis.PyQt.QtGui import QColor

SUBSIDENCE, STABLE, UPLIFT = QColor("#b2182b"), QColor("#f7f7f7"), QColor("#2166ac")
DIVERGING = [SUBSIDENCE, QColor("#ef8a62"), STABLE, QColor("#67a9cf"), UPLIFT]
PROBABILITY_RAMP = [QColor("#fee391"), QColor("#fe9929"), QColor("#d7301f"), QColor("#7f0000")]
CYCLIC = [QColor.fromHsv(hue, 200, 230) for hue in range(0, 360, 30)]  # hue wheel: an interferogram's fringes
LEVEL_COLOURS = [QColor("#ff8c00"), QColor("#e31a1c"), QColor("#7f0000")]  # lowest level first, as the paper
SAMPLE_PIXELS = 1024  # pixels per side read to estimate a raster's percentiles
SAMPLE_FEATURES = 100000  # features read to estimate a point layer's percentiles


def _sample(path):
    """Finite values of band 1 read at no more than SAMPLE_PIXELS per side."""
    dataset = gdal.Open(path, gdal.GA_ReadOnly)
    band = dataset.GetRasterBand(1)
    scale = max(1.0, max(dataset.RasterXSize, dataset.RasterYSize) / SAMPLE_PIXELS)
    values = band.ReadAsArray(buf_xsize=int(dataset.RasterXSize / scale),
                              buf_ysize=int(dataset.RasterYSize / scale)).astype(float)
    nodata = band.GetNoDataValue()
    if nodata is not None and not np.isnan(nodata):
        values[values == nodata] = np.nan
    return values[np.isfinite(values)]


def symmetric_limit(path):
    """The 98th percentile of |velocity| (mm/yr) of a raster, at least 1."""
    values = _sample(path)
    return max(1.0, float(np.percentile(np.abs(values), 98))) if values.size else 1.0


def _pseudocolor(layer, items, kind=QgsColorRampShader.Interpolated):
    ramp = QgsColorRampShader()
    ramp.setColorRampType(kind)
    ramp.setColorRampItemList(items)
    shader = QgsRasterShader()
    shader.setRasterShaderFunction(ramp)
    layer.setRenderer(QgsSingleBandPseudoColorRenderer(layer.dataProvider(), 1, shader))
    layer.triggerRepaint()


OUTPUT_ROLE = "insardefo/output"  # custom property of the layers a detection made, never velocities


def mark_output(layer, role):
    """Tag ``layer`` as a detection output (probability, areas, levels, wrapped view, truth)."""
    layer.setCustomProperty(OUTPUT_ROLE, role)


def is_detection_output(layer):
    """Whether ``layer`` was tagged by :func:`mark_output`, and so is no velocity map to detect in."""
    return bool(layer.customProperty(OUTPUT_ROLE))


def style_velocity(layer):
    """Diverging ramp centred on 0 mm/yr over +-(98th percentile of |velocity|)."""
    limit = symmetric_limit(layer.source())
    stops = np.linspace(-limit, limit, len(DIVERGING))
    _pseudocolor(layer, [QgsColorRampShader.ColorRampItem(float(value), colour, f"{value:.1f} mm/yr")
                         for value, colour in zip(stops, DIVERGING)])


def style_probability(layer, lowest=0.5):
    """Sequential ramp from ``lowest`` to 1, transparent below ``lowest``."""
    clear = QColor(0, 0, 0, 0)
    stops = np.linspace(lowest, 1.0, len(PROBABILITY_RAMP))
    items = [QgsColorRampShader.ColorRampItem(float(np.nextafter(lowest, 0.0)), clear, f"< {lowest:g}")]
    items += [QgsColorRampShader.ColorRampItem(float(value), colour, f"{value:.2f}")
              for value, colour in zip(stops, PROBABILITY_RAMP)]
    _pseudocolor(layer, items)
    layer.renderer().setOpacity(0.7)
    mark_output(layer, "probability")


def _outline(colour, width_mm):
    return QgsFillSymbol.createSimple({"style": "no", "outline_color": colour.name(),
                                       "outline_width": str(width_mm), "outline_width_unit": "MM"})


def style_areas(layer):
    """Outlines by level (orange, red, dark red from the lowest level), labelled with area, velocity and confidence."""
    index = layer.fields().indexOf("level")
    levels = sorted({float(value) for value in layer.uniqueValues(index)}) if index >= 0 else []
    categories = []
    for rank, level in enumerate(levels):
        categories.append(QgsRendererCategory(level, _outline(_level_colour(rank, len(levels)), 0.4 + 0.2 * rank),
                                              f">= {level:g}"))
    layer.setRenderer(QgsCategorizedSymbolRenderer("level", categories))
    settings = QgsPalLayerSettings()
    settings.isExpression = True
    settings.fieldName = ("format_number(\"area_m2\" / 10000, 1) || ' ha'"
                          " || if(\"mean_velocity_mm_yr\" IS NULL, '',"
                          " '\\n' || format_number(\"mean_velocity_mm_yr\", 1) || ' mm/yr')"
                          " || if(\"confidence\" IS NULL, '',"
                          " '\\nP(real) ' || format_number(100 * \"confidence\", 0) || ' %')")
    text = QgsTextFormat()
    text.setSize(8)
    settings.setFormat(text)
    layer.setLabeling(QgsVectorLayerSimpleLabeling(settings))
    layer.setLabelsEnabled(True)
    mark_output(layer, "areas")
    layer.triggerRepaint()


def style_truth(layer):
    """Hatched polygons with a thin dark outline."""
    symbol = _outline(QColor("#303030"), 0.3)
    hatch = QgsLinePatternFillSymbolLayer()
    hatch.setLineAngle(45)
    hatch.setDistance(1.5)
    hatch.setColor(QColor("#303030"))
    symbol.appendSymbolLayer(hatch)
    layer.setRenderer(QgsSingleSymbolRenderer(symbol))
    mark_output(layer, "truth")
    layer.triggerRepaint()


def _level_colour(rank, count):
    """The colour of the ``rank``-th of ``count`` levels: orange, red, dark red from the lowest."""
    return LEVEL_COLOURS[min(len(LEVEL_COLOURS) - 1, round(rank * (len(LEVEL_COLOURS) - 1) / max(1, count - 1)))]


def style_velocity_points(layer, field="velocity"):
    """Points coloured by velocity in classes of the diverging ramp, symmetric about 0 mm/yr."""
    request = QgsFeatureRequest().setSubsetOfAttributes([field], layer.fields()).setLimit(SAMPLE_FEATURES)
    request.setFlags(QgsFeatureRequest.NoGeometry)
    values = np.array([feature[field] for feature in layer.getFeatures(request)
                       if isinstance(feature[field], (int, float))], dtype=float)
    limit = max(1.0, float(np.percentile(np.abs(values), 98))) if values.size else 1.0
    edges = np.linspace(-limit, limit, len(DIVERGING) + 1)
    edges[0], edges[-1] = -1e9, 1e9  # the outer classes take everything beyond the limit
    ranges = []
    for low, high, colour in zip(edges[:-1], edges[1:], DIVERGING):
        symbol = QgsMarkerSymbol.createSimple({"name": "circle", "color": colour.name(), "size": "1.2",
                                               "outline_style": "no"})
        label = f"{max(low, -limit):.1f} to {min(high, limit):.1f} mm/yr"
        ranges.append(QgsRendererRange(float(low), float(high), symbol, label))
    layer.setRenderer(QgsGraduatedSymbolRenderer(field, ranges))
    layer.triggerRepaint()


def style_levels(layer, thresholds):
    """A threshold-level raster: each threshold (mm/yr) in its level colour, 0 transparent."""
    items = [QgsColorRampShader.ColorRampItem(0.0, QColor(0, 0, 0, 0), "none")]
    count = len(thresholds)
    items += [QgsColorRampShader.ColorRampItem(float(level), _level_colour(rank, count), f">= {level:g} mm/yr")
              for rank, level in enumerate(sorted(thresholds))]
    _pseudocolor(layer, items, QgsColorRampShader.Exact)
    mark_output(layer, "levels")


def style_wrapped(layer, interval):
    """Cyclic ramp over one wrap interval (mm/yr): 0 and ``interval`` share a colour."""
    colours = CYCLIC + CYCLIC[:1]
    stops = np.linspace(0.0, interval, len(colours))
    _pseudocolor(layer, [QgsColorRampShader.ColorRampItem(float(value), colour, f"{value:.2f} mm/yr")
                         for value, colour in zip(stops, colours)])
    mark_output(layer, "wrapped")
