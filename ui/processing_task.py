"""Run a chain of Processing algorithms in the background (QgsTask) with progress and Cancel.

:class:`TaskPanel` is the dialogs' part of it: Start and Cancel, a progress
bar and a status line.

The dialogs build their work as steps, each (algorithm id, parameters,
label). Steps run one after another in the task's thread with their own
context and feedback; the task's progress covers the whole chain, and
Cancel stops the running algorithm within its next check (seconds). Layers
are passed as file paths, so nothing of the project is touched off the
main thread.
"""
import traceback

from qgis.core import (
    Qgis,
    QgsApplication,
    QgsMessageLog,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsTask,
)
from qgis.PyQt.QtCore import pyqtSignal, pyqtSlot
from qgis.PyQt.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget


class ChainFeedback(QgsProcessingFeedback):
    """Feedback that maps one step's progress onto the whole chain's bar and forwards texts."""

    def __init__(self, task, first, share):
        super().__init__()
        self.task, self.first, self.share = task, first, share

    def setProgress(self, progress):  # noqa: N802 (QGIS API)
        super().setProgress(progress)
        self.task.setProgress(100.0 * self.first + self.share * progress)

    def setProgressText(self, text):  # noqa: N802 (QGIS API)
        super().setProgressText(text)
        self.task.message.emit(text)

    def pushInfo(self, info):  # noqa: N802 (QGIS API)
        super().pushInfo(info)
        self.task.message.emit(info)


class AlgorithmChainTask(QgsTask):
    """Runs ``steps`` in order; ``results`` maps each step's label to its outputs, ``error`` holds a failure."""

    message = pyqtSignal(str)

    def __init__(self, description, steps):
        super().__init__(description, QgsTask.CanCancel)
        self.steps = steps
        self.results = {}
        self.error = None
        self.feedback = None

    def run(self):
        """The task's work (in its thread). Any failure is kept in ``error``: one escaping would abort QGIS."""
        try:
            return self._run_steps()
        except Exception as failure:  # any failure: see the docstring
            QgsMessageLog.logMessage(traceback.format_exc(), "InSAR Deformation Detector", Qgis.Critical)
            self.error = f"{type(failure).__name__}: {failure}"
            return False

    def _run_steps(self):
        from qgis import processing

        for number, (algorithm, parameters, label) in enumerate(self.steps):
            if self.isCanceled():
                return False
            self.message.emit(f"{label}...")
            self.feedback = ChainFeedback(self, number / len(self.steps), 1.0 / len(self.steps))
            try:
                outputs = processing.run(algorithm, parameters, context=QgsProcessingContext(),
                                         feedback=self.feedback)
            except QgsProcessingException as failure:
                self.error = f"{label}: {failure}"
                return False
            if self.isCanceled() or not outputs:
                return False
            self.results[label] = outputs
        return True

    def cancel(self):
        if self.feedback is not None:
            self.feedback.cancel()
        super().cancel()


class TaskPanel(QWidget):
    """Start and Cancel buttons, a progress bar and a status line that run an AlgorithmChainTask.

    The owner connects ``start_button`` to its own check of the inputs, which
    then calls :meth:`run` with the steps and what to do with the results.
    """

    def __init__(self, start_label, cancelled_text, parent=None):
        super().__init__(parent)
        self.cancelled_text = cancelled_text
        self.task = None
        self.on_completed = None
        self.start_button = QPushButton(start_label)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.status = QLabel()
        self.status.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)

    def run(self, description, steps, on_completed):
        """Start the steps in the background; ``on_completed(results)`` runs in the main thread after."""
        self.on_completed = on_completed
        self.task = AlgorithmChainTask(description, steps)
        self.task.progressChanged.connect(self._show_progress)  # slots of ours: queued from the task's thread
        self.task.message.connect(self._show_message)
        self.task.taskCompleted.connect(self._completed)
        self.task.taskTerminated.connect(self._terminated)
        self._set_running(True)
        QgsApplication.taskManager().addTask(self.task)

    @pyqtSlot(float)
    def _show_progress(self, value):
        self.progress.setValue(round(value))

    @pyqtSlot(str)
    def _show_message(self, text):
        self.status.setText(text)

    def cancel(self):
        if self.task is not None:
            self.task.cancel()

    def _set_running(self, running):
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)

    def _terminated(self):
        error = self.task.error
        self.task = None
        self._set_running(False)
        self.status.setText(error or self.cancelled_text)

    def _completed(self):
        results = self.task.results
        self.task = None
        self._set_running(False)
        self.progress.setValue(100)
        self.on_completed(results)
