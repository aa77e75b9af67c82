"""The "Check dependencies..." dialog: versions, device, matrix-product speed, diagnostics, installers.

PyTorch and torchvision are installed with pip into the plugin's own
package folder (appended to ``sys.path``, so QGIS's NumPy and GDAL stay in
charge), the CUDA build when the driver reports an NVIDIA GPU and the CPU
build otherwise. Dask, optional (runs on a cluster, WHERE), installs the same
way. pip runs in a QProcess whose output fills the log; where no pip can be
found the dialog shows the command to run by hand.
"""
import os

from qgis.PyQt.QtCore import QProcess
from qgis.PyQt.QtGui import QGuiApplication
from qgis.PyQt.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout

from ..core.common.blas_diagnostics import blas_report
from ..core.common.dependencies import (
    CLUSTER_PACKAGES,
    DETECTION_PACKAGES,
    add_packages_folder,
    diagnostics,
    has_nvidia_gpu,
    install_command,
    missing_packages,
    pip_arguments,
    qgis_python,
)
from ..core.learning.model_file import plugin_version


class DependenciesDialog(QDialog):
    """Shows what the plugin needs and has; installs PyTorch when it is missing."""

    def __init__(self, packages_folder, parent=None):
        super().__init__(parent)
        self.packages_folder = packages_folder
        self.process = None
        self.installing = DETECTION_PACKAGES
        self.setWindowTitle("InSAR Deformation Detector: dependencies")
        self.resize(720, 480)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.blas = blas_report()
        self.matrix_products = QLabel(self.blas.explanation())
        self.matrix_products.setWordWrap(True)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.install_button = QPushButton("Install PyTorch")
        self.install_button.clicked.connect(lambda: self.install(DETECTION_PACKAGES))
        self.cluster_button = QPushButton("Install Dask (optional: cluster runs)")
        self.cluster_button.clicked.connect(lambda: self.install(CLUSTER_PACKAGES))
        copy_button = QPushButton("Copy diagnostics")
        copy_button.clicked.connect(self.copy_diagnostics)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.addButton(self.install_button, QDialogButtonBox.ActionRole)
        buttons.addButton(self.cluster_button, QDialogButtonBox.ActionRole)
        buttons.addButton(copy_button, QDialogButtonBox.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (self.status, self.matrix_products, self.log, buttons):
            layout.addWidget(widget)
        self.refresh()

    def diagnostics_text(self):
        return diagnostics([("Plugin", plugin_version()), ("Plugin package folder", self.packages_folder)],
                           self.blas)

    def refresh(self):
        """Re-check the packages and show the diagnostics."""
        missing = missing_packages(DETECTION_PACKAGES)
        python = qgis_python()
        if not missing:
            self.status.setText("Everything training and detection need is installed.")
        elif python is None:
            self.status.setText("PyTorch is missing and no Python for pip was found. Install it by hand in the "
                                f"Python that runs QGIS:\n{install_command(missing)}")
        else:
            build = "CUDA (an NVIDIA GPU was found)" if has_nvidia_gpu() else "CPU-only (no NVIDIA GPU found)"
            self.status.setText(f"Missing: {', '.join(missing)}. Install installs the {build} build with pip into "
                                f"{self.packages_folder}; QGIS's own NumPy and GDAL are left as they are.")
        if missing_packages(CLUSTER_PACKAGES):
            self.status.setText(self.status.text() + " Optional: Dask, for runs on a cluster (WHERE), is not "
                                "installed; Install Dask adds it.")
        idle = python is not None and self.process is None
        self.install_button.setEnabled(bool(missing) and idle)
        self.cluster_button.setEnabled(bool(missing_packages(CLUSTER_PACKAGES)) and idle)
        self.log.setPlainText(self.diagnostics_text())

    def copy_diagnostics(self):
        QGuiApplication.clipboard().setText(self.diagnostics_text())

    def install(self, packages):
        """Start pip in the background for the missing ones of ``packages``; its output goes to the log."""
        missing = missing_packages(packages)
        self.installing = packages
        os.makedirs(self.packages_folder, exist_ok=True)
        arguments = pip_arguments(qgis_python(), self.packages_folder, missing, has_nvidia_gpu())
        self.log.appendPlainText("\n$ " + " ".join(arguments))
        self.process = QProcess(self)
        self.process.setProcessChannelMode(QProcess.MergedChannels)
        self.process.readyReadStandardOutput.connect(self._show_output)
        self.process.finished.connect(self._finished)
        self.install_button.setEnabled(False)
        self.cluster_button.setEnabled(False)
        self.process.start(arguments[0], arguments[1:])

    def _show_output(self):
        self.log.appendPlainText(bytes(self.process.readAllStandardOutput()).decode(errors="replace").rstrip())

    def _finished(self, exit_code, _status):
        self.process = None
        add_packages_folder(self.packages_folder)
        log = self.log.toPlainText()
        missing = missing_packages(self.installing)
        self.refresh()
        outcome = ("pip finished." if exit_code == 0 else
                   f"pip failed (exit {exit_code}); see the messages above. To install by hand, run in the "
                   f"Python that runs QGIS:\n{install_command(missing or list(self.installing))}")
        self.log.setPlainText(f"{log}\n{outcome}\n\n{self.diagnostics_text()}")
        self.status.setText(self.status.text() + ("" if exit_code == 0 else f"\n{outcome}"))
