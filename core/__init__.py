"""Science of the InSAR Deformation Detector: plain arrays and files, never QGIS."""
