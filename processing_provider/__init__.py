"""Processing provider and algorithms of the InSAR Deformation Detector."""
import os

ICON_PATH = os.path.join(os.path.dirname(os.path.dirname(__file__)), "resources", "icon.svg")
