"""The QGIS plugin object: the Processing provider, and with a GUI the menu, toolbar and dialogs.

Works with ``iface=None`` (qgis_process loads plugins without a GUI): then
it only registers the provider and never opens a dialog. It never imports
torch: algorithms that need it check for it when they run. PyTorch
installed by the plugin lives in a folder of the QGIS profile, appended to
``sys.path`` here.
"""
import os

from qgis.core import QgsApplication
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QAction

from .core.common.dependencies import add_packages_folder
from .processing_provider import ICON_PATH
from .processing_provider.provider import InsarDeformationProvider

MENU = "&InSAR Deformation Detector"


def packages_folder():
    """The folder of the QGIS profile the plugin installs PyTorch into."""
    return os.path.join(QgsApplication.qgisSettingsDirPath(), "insar_deformation_detector", "python")


class InsarDeformationDetectorPlugin:
    """Plugin object returned by :func:`insar_deformation_detector.classFactory`."""

    def __init__(self, iface):
        self.iface = iface
        self.provider = None
        self.actions = []
        self.toolbar = None
        add_packages_folder(packages_folder())

    def initProcessing(self):  # noqa: N802 (QGIS API)
        """Register the Processing provider (QGIS calls this for hasProcessingProvider=yes)."""
        if self.provider is None:
            provider = InsarDeformationProvider()
            # addProvider refuses (and deletes) a second provider with the same id.
            if QgsApplication.processingRegistry().addProvider(provider):
                self.provider = provider

    def initGui(self):  # noqa: N802 (QGIS API)
        """The provider, plus menu and toolbar entries for the dialogs (none without an interface)."""
        self.initProcessing()
        if self.iface is None:
            return
        self.toolbar = self.iface.addToolBar("InSAR Deformation Detector")
        self.toolbar.setObjectName("InsarDeformationDetectorToolbar")
        for label, slot, on_toolbar in (("Detect deformation...", self.open_detect, True),
                                        ("Train a model...", self.open_train, False),
                                        ("Check dependencies...", self.open_dependencies, False)):
            action = QAction(QIcon(ICON_PATH), label, self.iface.mainWindow())
            action.triggered.connect(slot)
            self.iface.addPluginToMenu(MENU, action)
            if on_toolbar:
                self.toolbar.addAction(action)
            self.actions.append(action)

    def open_detect(self):
        from .ui.detect_dialog import DetectDialog

        if self.dependencies_ready():
            DetectDialog(self.iface.mainWindow()).exec_()

    def open_train(self):
        from .ui.train_wizard import TrainWizard

        if self.dependencies_ready():
            TrainWizard(self.iface.mainWindow()).exec_()

    def dependencies_ready(self):
        """True when PyTorch is there; otherwise offer to install it first (at first use)."""
        from .core.common.dependencies import DETECTION_PACKAGES, missing_packages

        if missing_packages(DETECTION_PACKAGES):
            self.open_dependencies()
        return not missing_packages(DETECTION_PACKAGES)

    def open_dependencies(self):
        from .ui.dependencies_dialog import DependenciesDialog

        DependenciesDialog(packages_folder(), self.iface.mainWindow()).exec_()

    def unload(self):
        """Remove the provider, menu entries and toolbar when the plugin is disabled or reloaded."""
        for action in self.actions:
            self.iface.removePluginMenu(MENU, action)
            action.deleteLater()
        self.actions = []
        if self.toolbar is not None:
            self.toolbar.deleteLater()
            self.toolbar = None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
