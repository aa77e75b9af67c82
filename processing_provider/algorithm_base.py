"""What every insardefo algorithm shares: its description in the Toolbox and how QGIS copies it."""
from qgis.core import QgsProcessingAlgorithm
from qgis.PyQt.QtGui import QIcon

from . import ICON_PATH


class InsarAlgorithm(QgsProcessingAlgorithm):
    """A Processing algorithm described by class attributes.

    Subclasses set NAME (the id after ``insardefo:``), DISPLAY_NAME, GROUP,
    GROUP_ID, HELP (HTML) and TAGS.
    """

    NAME = DISPLAY_NAME = GROUP = GROUP_ID = HELP = ""
    TAGS = ()

    def name(self):
        return self.NAME

    def displayName(self):  # noqa: N802 (QGIS API)
        return self.DISPLAY_NAME

    def group(self):
        return self.GROUP

    def groupId(self):  # noqa: N802 (QGIS API)
        return self.GROUP_ID

    def shortHelpString(self):  # noqa: N802 (QGIS API)
        return self.HELP

    def icon(self):
        return QIcon(ICON_PATH)

    def tags(self):
        return list(self.TAGS)

    def createInstance(self):  # noqa: N802 (QGIS API)
        return type(self)()
