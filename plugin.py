"""The QGIS plugin object: registers the Processing provider, nothing else.

Works with ``iface=None`` (qgis_process loads plugins without a GUI), never
opens a dialog and never imports torch: algorithms that need it check for it
when they run.
"""
from qgis.core import QgsApplication

from .processing_provider.provider import InsarDeformationProvider


class InsarDeformationDetectorPlugin:
    """Plugin object returned by :func:`insar_deformation_detector.classFactory`."""

    def __init__(self, iface):
        self.iface = iface
        self.provider = None

    def initProcessing(self):  # noqa: N802 (QGIS API)
        """Register the Processing provider (QGIS calls this for hasProcessingProvider=yes)."""
        if self.provider is None:
            provider = InsarDeformationProvider()
            # addProvider refuses (and deletes) a second provider with the same id.
            if QgsApplication.processingRegistry().addProvider(provider):
                self.provider = provider

    def initGui(self):  # noqa: N802 (QGIS API)
        """Called when the QGIS GUI loads the plugin; the algorithms live in the toolbox."""
        self.initProcessing()

    def unload(self):
        """Remove the provider when the plugin is disabled or reloaded."""
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
