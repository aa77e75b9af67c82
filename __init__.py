"""InSAR Deformation Detector: a QGIS plugin that finds ground deformation in InSAR velocity maps.

Importing this package imports nothing from QGIS, so the science in
``insar_deformation_detector.core`` is usable from plain Python. QGIS calls
:func:`classFactory`, which loads the plugin class lazily.
"""


def classFactory(iface):  # noqa: N802 (name fixed by QGIS)
    """Entry point QGIS calls with its interface (``None`` under qgis_process)."""
    from .plugin import InsarDeformationDetectorPlugin

    return InsarDeformationDetectorPlugin(iface)
