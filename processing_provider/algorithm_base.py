"""What every insardefo algorithm shares: its Toolbox description and how failures reach the user."""
from qgis.core import (QgsProcessingAlgorithm, QgsProcessingException, QgsProcessingParameterDefinition,
                       QgsProcessingParameterEnum)
from qgis.PyQt.QtGui import QIcon

from ..core.dependencies import MissingDependency
from ..core.errors import Cancelled, InputError
from ..ui.output_styles import run_group_name, style_when_loaded
from . import ICON_PATH


def _default_text(definition):
    """', default ...', ', optional' or '' for a parameter definition."""
    default = definition.defaultValue()
    if default is not None and default != "":
        if isinstance(definition, QgsProcessingParameterEnum) and isinstance(default, int):
            default = definition.options()[default]
        return f": default {default}"
    return ", optional" if definition.flags() & QgsProcessingParameterDefinition.FlagOptional else ""


class InsarAlgorithm(QgsProcessingAlgorithm):
    """A Processing algorithm described by class attributes.

    Subclasses set NAME (the id after ``insardefo:``), DISPLAY_NAME, GROUP,
    GROUP_ID, HELP (HTML) and TAGS, and implement ``compute``. Bad input
    (InputError, MissingDependency) becomes a QgsProcessingException whose
    text starts with the parameter to fix; Cancel returns no results; I/O,
    GDAL and memory failures are reported in one line, never as a traceback.
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
        """HELP, then every parameter: its label (with its unit), its name for scripts, and its default."""
        rows = "".join(f"<li><b>{definition.description()}</b> <code>{definition.name()}</code>"
                       f"{_default_text(definition)}</li>" for definition in self.parameterDefinitions())
        return f"{self.HELP}<p><b>Parameters</b></p><ul>{rows}</ul>" if rows else self.HELP

    def icon(self):
        return QIcon(ICON_PATH)

    def tags(self):
        return list(self.TAGS)

    def createInstance(self):  # noqa: N802 (QGIS API)
        return type(self)()

    def compute(self, parameters, context, feedback):
        """The algorithm's work; returns its results dict."""
        raise NotImplementedError

    def style_output(self, context, path, style):
        """Apply ``style(layer)`` (from ui.layer_styles) to output ``path`` if Processing loads it.

        The layers of one run are grouped in the layer tree under the
        algorithm's name and the time of the run.
        """
        style_when_loaded(context, path, style, self._group)

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        self._group = run_group_name(self.DISPLAY_NAME)
        try:
            return self.compute(parameters, context, feedback)
        except (InputError, MissingDependency) as failure:
            raise QgsProcessingException(str(failure)) from None
        except Cancelled as cancelled:
            feedback.pushInfo(str(cancelled) or "Cancelled: no output was written.")
            return {}
        except (RuntimeError, OSError, MemoryError) as failure:
            raise QgsProcessingException(f"{self.DISPLAY_NAME} failed: "
                                         f"{failure or type(failure).__name__}") from None
