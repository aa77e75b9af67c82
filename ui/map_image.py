"""A map of layers rendered by QGIS into a PNG file (for the demo, reports and test artefacts)."""
from qgis.core import QgsMapRendererParallelJob, QgsMapSettings, QgsRectangle
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor


def render_png(layers, path, width_px=1200, extent=None):
    """Render ``layers`` (top first, all in one CRS) to a PNG at ``path``, ``width_px`` wide.

    ``extent``: a QgsRectangle in the layers' CRS (default: the first
    layer's). Returns ``path``; RuntimeError if the image cannot be written.
    """
    extent = QgsRectangle(extent or layers[0].extent())
    settings = QgsMapSettings()
    settings.setLayers(layers)
    settings.setDestinationCrs(layers[0].crs())
    settings.setBackgroundColor(QColor("white"))
    height_px = max(1, round(width_px * extent.height() / extent.width()))
    settings.setOutputSize(QSize(width_px, height_px))
    settings.setExtent(extent)
    job = QgsMapRendererParallelJob(settings)
    job.start()
    job.waitForFinished()
    if not job.renderedImage().save(path, "PNG"):
        raise RuntimeError(f"could not write the map image {path}")
    return path
