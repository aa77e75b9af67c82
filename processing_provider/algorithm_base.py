"""What every insardefo algorithm shares: its Toolbox description, its file checks and how failures reach the user."""
import re

from qgis.core import (
    QgsApplication,
    QgsProcessingAlgorithm,
    QgsProcessingException,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
)
from qgis.PyQt.QtGui import QIcon

from ..core.common.dependencies import MissingDependency
from ..core.common.errors import Cancelled, InputError
from ..core.common.staging import PREFIX as STAGING_PREFIX
from ..ui.output_styles import run_group_name, style_when_loaded
from . import ICON_PATH
from .file_guard import check_files, remove_empty_folders
from .interruption import signals_cancel

STAGING_PATH = re.compile(r"[/\\]" + re.escape(STAGING_PREFIX) + r"[^\s'\"]*")  # a staged file, in a message


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
    GROUP_ID, HELP (HTML) and TAGS, and implement ``compute``. Before
    ``compute`` runs, file_guard checks that no output is an input or
    another output and that every output can be written. Bad input
    (InputError, MissingDependency) becomes a QgsProcessingException whose
    text starts with the parameter to fix; Cancel in the dialog returns no
    results, while SIGINT, SIGTERM and Cancel in qgis_process fail the run
    (a script must not take it for success); I/O, GDAL and memory failures
    are reported in one line, never as a traceback or a staging file's name.
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

    def extra_input_files(self, parameters, context):
        """[(parameter, path)] of inputs that file_guard cannot see in the parameter types (folders as text)."""
        return []

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        self._group = run_group_name(self.DISPLAY_NAME)
        with signals_cancel(feedback) as signals:
            try:
                return self._checked_compute(parameters, context, feedback)
            except (InputError, MissingDependency) as failure:
                raise QgsProcessingException(str(failure)) from None
            except Cancelled as cancelled:
                return self._cancelled(str(cancelled) or "Cancelled: no output was written.", signals, feedback)
            except (RuntimeError, OSError, MemoryError) as failure:
                if signals:
                    return self._cancelled("no output was written.", signals, feedback)
                raise QgsProcessingException(f"{self.DISPLAY_NAME} failed: {_describe(failure)}") from None

    def _checked_compute(self, parameters, context, feedback):
        """``compute`` after file_guard's checks; output folders it created go again if the run fails."""
        created = check_files(self, parameters, context)
        try:
            return self.compute(parameters, context, feedback)
        except BaseException:
            remove_empty_folders(created)
            raise

    @staticmethod
    def _cancelled(text, signals, feedback):
        """No results after Cancel in the dialog; an error after a signal or in qgis_process."""
        if signals:
            raise QgsProcessingException(f"Interrupted by {signals[0]}: {text.removeprefix('Cancelled: ')}")
        if QgsApplication.platform() == "qgis_process":  # cancelled by its own SIGINT watcher
            raise QgsProcessingException(text)
        feedback.pushInfo(text)
        return {}


def _describe(failure):
    """One line for an I/O, GDAL or memory failure, without the staging paths the user never chose."""
    if isinstance(failure, OSError) and failure.strerror:
        text = failure.strerror + (f": {failure.filename}" if failure.filename else "")
    else:
        text = str(failure) or type(failure).__name__
    return STAGING_PATH.sub("", text)
