"""The "Train a model..." wizard: synthesize, train and evaluate with sensible defaults.

Three pages: the data (kind of deformation, examples per class, pixel size,
a folder), the training (architecture of either family, epochs, optional
initial weights, whether the fast shared form learns to agree with windows
alone), and the run, which synthesizes a training set and a held-out set
(another seed): window datasets for the paper's window family (and, for fast
detection, a synthetic scene interpolated like a real map), training maps for
the dense family; then it trains and evaluates in the background with
progress and Cancel, and ends with the learning curve and the paper's Table I
metrics on the held-out set (per pixel for the dense family). Everything goes
through the same Processing algorithms as the Toolbox.
"""
import os

from qgis.gui import QgsFileWidget
from qgis.PyQt.QtGui import QPixmap
from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWizard,
    QWizardPage,
)

from ..core.learning.dense_network import DENSE_ARCHITECTURES, SIZE_MULTIPLE, size_multiple
from ..core.learning.networks import ARCHITECTURES
from ..core.learning.shared_training import ARCHITECTURES as SHARED_FORM_ARCHITECTURES
from ..core.synthesis.deformation_sources import WIDE_POINT_SOURCES
from .processing_task import TaskPanel

KINDS = ("Point sources (coal mining)", "Tunnels", "Both: one three-class model")
HELD_OUT_SHARE = 4  # the held-out set has a quarter as many examples per class as the training set
SCENE_PX = 1024  # pixels per side of the synthetic scene the shared form learns to agree on
UNUSED_SCENE_OUTPUTS = ("OUTPUT_POINTS", "OUTPUT_DEFORMATION", "OUTPUT_TRUTH")  # required by syntheticscene
ARCHITECTURE_NAMES = list(ARCHITECTURES) + list(DENSE_ARCHITECTURES)  # insardefo:train's ARCHITECTURE order
DENSE_SETTINGS = {"BATCH_SIZE": 12, "LEARNING_RATE": 2e-3, "CROP_SIZE": 128}  # make default-model's
METRICS = (("ACCURACY", "Accuracy"), ("PRECISION", "Precision"), ("RECALL", "Recall"),
           ("FALSE_POSITIVE_RATE", "False positive rate"))


def _range(values):
    return ",".join(f"{value:g}" for value in values)


class TrainWizard(QWizard):
    """Synthesize -> train -> evaluate, then the learning curve and Table I metrics."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Train a deformation classifier")
        self.results = {}
        self.kind = QComboBox()
        self.kind.addItems(KINDS)
        self.kind.setCurrentIndex(2)
        self.count = QSpinBox()
        self.count.setRange(10, 100000)
        self.count.setValue(2000)
        self.pixel_size = QDoubleSpinBox()
        self.pixel_size.setRange(1.0, 100.0)
        self.pixel_size.setValue(10.0)
        self.pixel_size.setSuffix(" m")
        self.map_size = QSpinBox()
        self.map_size.setRange(32, 1024)
        self.map_size.setSingleStep(SIZE_MULTIPLE)
        self.map_size.setValue(256)
        self.map_size.setSuffix(" px")
        self.folder = QgsFileWidget()
        self.folder.setStorageMode(QgsFileWidget.GetDirectory)
        self.architecture = QComboBox()
        self.architecture.addItems(ARCHITECTURE_NAMES)
        self.architecture.setCurrentText("alexnet_unpadded")
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 1000)
        self.epochs.setValue(20)
        self.init_weights = QgsFileWidget()
        self.init_weights.setFilter("PyTorch weights (*.pt *.pth)")
        self.init_weights.lineEdit().setPlaceholderText("None: random weights")
        self.fast_detection = QCheckBox("Learn to agree with each window alone on a synthetic scene "
                                        "(padded AlexNets; alexnet_unpadded agrees exactly without it)")
        self.fast_detection.setChecked(True)
        self.count_label = QLabel()
        self.architecture.currentTextChanged.connect(self._offer_settings)
        self._offer_settings(self.architecture.currentText())
        self.addPage(self._page("Training data", "Synthetic examples made as in section III-B of the paper "
                                "(wide point sources, as the bundled model; matrix completion), and a held-out "
                                "set of a quarter the size for the final scores.",
                                [("Kind of deformation", self.kind), (self.count_label, self.count),
                                 ("Pixel size", self.pixel_size), ("Training map size (dense)", self.map_size),
                                 ("Folder for the data and model", self.folder)]))
        self.addPage(self._page("Training", "AlexNet without padding (the default, exact fast detection), AlexNet "
                                "as in the paper, a compact or light variant, or a dense U-Net (unet_small: a "
                                "class for every pixel, trained on labelled maps of every kind and pixel size; "
                                "unet_strided: the same at about 4x the speed; unet_strided_light: its lighter "
                                "decoder, faster again, as the bundled detector). "
                                "Without initial weights, expect slow first epochs on a CPU.",
                                [("Architecture", self.architecture), ("Epochs (early stopping on validation loss)",
                                                                       self.epochs),
                                 ("Initial weights (optional)", self.init_weights),
                                 ("Fast detection", self.fast_detection)]))
        self.addPage(self._run_page())

    def _offer_settings(self, architecture):
        """The settings that apply to ``architecture``: shared-form training for the padded AlexNets only;
        kind and pixel size for the window family only (training maps hold both kinds at 5-100 m)."""
        self.fast_detection.setEnabled(architecture in SHARED_FORM_ARCHITECTURES)
        dense = architecture in DENSE_ARCHITECTURES
        self.kind.setEnabled(not dense)
        self.pixel_size.setEnabled(not dense)
        self.map_size.setEnabled(dense)
        self.count_label.setText("Training maps" if dense else "Examples per class")

    def is_dense(self):
        """Whether the chosen architecture is of the dense family."""
        return self.architecture.currentText() in DENSE_ARCHITECTURES

    @staticmethod
    def _page(title, text, rows):
        page = QWizardPage()
        page.setTitle(title)
        page.setSubTitle(text)
        form = QFormLayout(page)
        for label, widget in rows:
            form.addRow(label, widget)
        return page

    def _run_page(self):
        page = QWizardPage()
        page.setTitle("Run")
        page.setSubTitle("Synthesize, train, evaluate. This takes a while on a CPU; "
                         "Cancel keeps the best epoch so far.")
        self.panel = TaskPanel("Start", "Cancelled; the best epoch so far, if any, is kept as a checkpoint.")
        self.panel.start_button.clicked.connect(self.start)
        self.metrics = QLabel()
        self.curve = QLabel()
        layout = QVBoxLayout(page)
        for widget in (self.panel, self.metrics, self.curve):
            layout.addWidget(widget)
        return page

    def paths(self):
        folder = self.folder.filePath()
        return {name: os.path.join(folder, file) for name, file in (
            ("train", "train"), ("test", "held_out"), ("model", "model.pt"), ("report", "training_report.html"),
            ("curve", "learning_curve.png"), ("evaluation", "evaluation_report.html"),
            ("scene", "context_scene_sparse.tif"), ("dense_scene", "context_scene.tif"))}

    def learns_shared_form(self):
        """Whether training also makes the fast shared form agree with windows alone."""
        return self.fast_detection.isEnabled() and self.fast_detection.isChecked()

    def steps(self):
        """The Processing steps, each (algorithm, parameters, label)."""
        return self._dense_steps() if self.is_dense() else self._window_steps()

    def _dense_steps(self):
        """Training maps, held-out maps, dense training and per-pixel evaluation."""
        paths = self.paths()
        training = {"DATASET": paths["train"],
                    "ARCHITECTURE": ARCHITECTURE_NAMES.index(self.architecture.currentText()),
                    "EPOCHS": self.epochs.value(), **DENSE_SETTINGS,
                    "CROP_SIZE": min(DENSE_SETTINGS["CROP_SIZE"], self._map_size()), "OUTPUT_MODEL": paths["model"],
                    "OUTPUT_REPORT": paths["report"], "OUTPUT_CURVE": paths["curve"]}
        if self.init_weights.filePath():
            training["INIT_WEIGHTS"] = self.init_weights.filePath()
        maps = {"MAP_SIZE": self._map_size()}
        return [("insardefo:trainingmaps", {**maps, "COUNT": self.count.value(), "SEED": 0, "OUTPUT": paths["train"]},
                 "Synthesizing the training set"),
                ("insardefo:trainingmaps", {**maps, "COUNT": max(10, self.count.value() // HELD_OUT_SHARE), "SEED": 1,
                                            "OUTPUT": paths["test"]}, "Synthesizing the held-out set"),
                ("insardefo:train", training, "Training"),
                ("insardefo:evaluate", {"MODEL": paths["model"], "DATASET": paths["test"],
                                        "OUTPUT_REPORT": paths["evaluation"]}, "Evaluating on the held-out set")]

    def _map_size(self):
        """The training maps' side in pixels, on the chosen U-Net's grid."""
        multiple = size_multiple(self.architecture.currentText())
        return self.map_size.value() // multiple * multiple

    def _window_steps(self):
        """Window datasets (and a scene for the shared form), window training and Table I evaluation."""
        paths = self.paths()
        common = {"KIND": self.kind.currentIndex(), "PIXEL_SIZE": self.pixel_size.value(),
                  "DEPTH_RANGE": _range(WIDE_POINT_SOURCES.depth_m),
                  "VOLUME_RANGE": _range(WIDE_POINT_SOURCES.volume_m3)}
        training = {"DATASET": paths["train"],
                    "ARCHITECTURE": ARCHITECTURE_NAMES.index(self.architecture.currentText()),
                    "EPOCHS": self.epochs.value(), "OUTPUT_MODEL": paths["model"], "OUTPUT_REPORT": paths["report"],
                    "OUTPUT_CURVE": paths["curve"]}
        if self.init_weights.filePath():
            training["INIT_WEIGHTS"] = self.init_weights.filePath()
        steps = [("insardefo:synthesize", dict(common, COUNT=self.count.value(), SEED=0, OUTPUT=paths["train"]),
                  "Synthesizing the training set"),
                 ("insardefo:synthesize", dict(common, COUNT=max(10, self.count.value() // HELD_OUT_SHARE), SEED=1,
                                               OUTPUT=paths["test"]), "Synthesizing the held-out set")]
        if self.learns_shared_form():
            training["CONTEXT_RASTERS"] = [paths["dense_scene"]]
            steps += [("insardefo:syntheticscene", {"WIDTH": SCENE_PX, "HEIGHT": SCENE_PX,
                                                    "PIXEL_SIZE": self.pixel_size.value(), "SOURCE_SIZES": 1,
                                                    "SEED": 2, "OUTPUT_SPARSE": paths["scene"],
                                                    **{name: "TEMPORARY_OUTPUT" for name in UNUSED_SCENE_OUTPUTS}},
                       "Synthesizing a scene for fast detection"),
                      ("insardefo:interpolate", {"INPUT": paths["scene"], "OUTPUT": paths["dense_scene"]},
                       "Interpolating the scene")]
        return steps + [("insardefo:train", training, "Training"),
                ("insardefo:evaluate", {"MODEL": paths["model"], "DATASET": paths["test"],
                                        "OUTPUT_REPORT": paths["evaluation"]}, "Evaluating on the held-out set")]

    def start(self):
        if not self.folder.filePath() or not os.path.isdir(self.folder.filePath()):
            self.panel.status.setText("Choose an existing folder on the first page")
            return
        self.panel.run("Train a deformation classifier", self.steps(), self._completed)

    def _completed(self, results):
        self.results = results
        evaluation = self.results["Evaluating on the held-out set"]
        rows = "".join(f"<tr><td>{title}</td><td align='right'>{evaluation[name]:.2f} %</td></tr>"
                       for name, title in METRICS)
        unit = " per pixel" if self.is_dense() else ""
        self.metrics.setText(f"<b>Held-out set, Table I metrics{unit}</b><table>{rows}</table>")
        self.curve.setPixmap(QPixmap(self.paths()["curve"]))
        training = self.results["Training"]
        self.panel.status.setText(f"Done: {training['EPOCHS_RUN']} epochs (best {training['BEST_EPOCH']}); model "
                            f"{self.paths()['model']}, reports beside it.")
