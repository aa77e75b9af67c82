"""Processing provider and algorithms of the InSAR Deformation Detector."""
