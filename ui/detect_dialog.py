"""The "Detect deformation..." dialog: velocity layers in, styled probability and areas on the canvas.

One row per pass (a velocity raster or point layer with its field, and its
direction); the model (the bundled default unless another file is chosen)
and an output folder. It runs insardefo:detect for every pass and, when
both directions are there, insardefo:combine, in the background with
progress and Cancel, then adds the styled results to the project in one group.
"""
import os
from datetime import datetime
from functools import partial

from qgis.core import QgsFieldProxyModel, QgsMapLayerProxyModel, QgsProject, QgsRasterLayer, QgsVectorLayer
from qgis.gui import QgsFieldComboBox, QgsFileWidget, QgsMapLayerComboBox
from qgis.PyQt.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
)

from .layer_styles import is_detection_output, style_areas, style_probability, style_velocity
from .processing_task import TaskPanel

PASSES = ("ascending", "descending")
MAX_PASSES = 4  # section III-D: up to two ascending and two descending looks
LOWEST_LEVEL = 0.5  # the detector's default lowest threshold, below which the probability is transparent


class _PassRow:
    """The widgets of one pass: layer, velocity field, direction."""

    def __init__(self, grid, row, direction):
        self.layer = QgsMapLayerComboBox()
        self.layer.setFilters(QgsMapLayerProxyModel.PointLayer | QgsMapLayerProxyModel.RasterLayer)
        # probability maps, areas and the like of earlier runs are no velocity maps: never offer them
        self.layer.setExceptedLayerList([layer for layer in QgsProject.instance().mapLayers().values()
                                         if is_detection_output(layer)])
        self.field = QgsFieldComboBox()
        self.field.setFilters(QgsFieldProxyModel.Numeric)
        self.direction = QComboBox()
        self.direction.addItems([name.capitalize() for name in PASSES])
        self.direction.setCurrentIndex(direction)
        self.layer.layerChanged.connect(self._layer_changed)
        self._layer_changed(self.layer.currentLayer())
        for column, widget in enumerate((self.layer, self.field, self.direction)):
            grid.addWidget(widget, row, column)

    def _layer_changed(self, layer):
        is_points = isinstance(layer, QgsVectorLayer)
        self.field.setLayer(layer if is_points else None)
        self.field.setEnabled(is_points)

    @property
    def pass_name(self):
        return PASSES[self.direction.currentIndex()]


class DetectDialog(QDialog):
    """Choose passes, model and folder; run detection (and combination) in the background."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Detect deformation")
        self.added_layers = []
        self.rows = []
        self.grid = QGridLayout()
        for column, title in enumerate(("Velocity layer (raster or points, mm/yr)", "Velocity field (points)",
                                        "Pass")):
            self.grid.addWidget(QLabel(f"<b>{title}</b>"), 0, column)
        self.add_pass_button = QPushButton("Add a pass")
        self.add_pass_button.clicked.connect(self.add_pass)
        self.pixel_size = QDoubleSpinBox()
        self.pixel_size.setRange(0.01, 10000.0)
        self.pixel_size.setValue(10.0)
        self.pixel_size.setSuffix(" map units")
        self.model = QgsFileWidget()
        self.model.setFilter("insardefo model (*.pt)")
        self.model.lineEdit().setPlaceholderText("The bundled dense detector")
        self.folder = QgsFileWidget()
        self.folder.setStorageMode(QgsFileWidget.GetDirectory)
        form = QFormLayout()
        form.addRow("Pixel size for point layers", self.pixel_size)
        form.addRow("Model", self.model)
        form.addRow("Output folder", self.folder)
        self.panel = TaskPanel("Run", "Cancelled: no layer was added.")
        self.panel.start_button.clicked.connect(self.run)
        close = QDialogButtonBox(QDialogButtonBox.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(self.grid)
        layout.addWidget(self.add_pass_button)
        layout.addLayout(form)
        layout.addWidget(self.panel)
        layout.addWidget(close)
        self.add_pass()

    def add_pass(self):
        """Another pass row, alternating ascending and descending, up to MAX_PASSES."""
        self.rows.append(_PassRow(self.grid, len(self.rows) + 1, len(self.rows) % 2))
        self.add_pass_button.setEnabled(len(self.rows) < MAX_PASSES)

    def _inputs(self):
        """[(pass, parameters for INPUT/FIELD/PIXEL_SIZE)], or raise ValueError with what to fix."""
        chosen = []
        for number, row in enumerate(self.rows, start=1):
            layer = row.layer.currentLayer()
            if layer is None:
                continue
            if layer.providerType() not in ("gdal", "ogr"):
                raise ValueError(f"Pass {number}: {layer.name()} is not a file; save it to a file first")
            parameters = {"INPUT": layer.source()}
            if isinstance(layer, QgsVectorLayer):
                if not row.field.currentField():
                    raise ValueError(f"Pass {number}: choose the velocity field of {layer.name()}")
                parameters.update(FIELD=row.field.currentField(), PIXEL_SIZE=self.pixel_size.value())
            chosen.append((row.pass_name, parameters))
        if not chosen:
            raise ValueError("Choose at least one velocity layer")
        if not self.folder.filePath() or not os.path.isdir(self.folder.filePath()):
            raise ValueError("Choose an existing output folder")
        return chosen

    def steps(self, chosen):
        """The Processing steps: detect per pass, then combine when both directions are there."""
        folder = self.folder.filePath()
        model = {"MODEL": self.model.filePath()} if self.model.filePath() else {}
        outputs = []
        steps = []
        for number, (pass_name, parameters) in enumerate(chosen, start=1):
            stem = os.path.join(folder, f"{pass_name}_{number}")
            files = {"OUTPUT_PROBABILITY": f"{stem}_probability.tif", "OUTPUT_AREAS": f"{stem}_areas.gpkg",
                     "OUTPUT_VELOCITY": f"{stem}_velocity.tif"}
            outputs.append((pass_name, files))
            steps.append(("insardefo:detect", dict(parameters, **model, **files),
                          f"Detecting in pass {number} ({pass_name})"))
        directions = {direction: [files["OUTPUT_PROBABILITY"] for pass_name, files in outputs if pass_name == direction]
                      for direction in PASSES}
        if all(directions.values()):
            steps.append(("insardefo:combine", {
                "ASCENDING": directions["ascending"], "DESCENDING": directions["descending"],
                "OUTPUT_PROBABILITY": os.path.join(folder, "combined_probability.tif"),
                "OUTPUT_AREAS": os.path.join(folder, "combined_areas.gpkg")}, "Combining the passes"))
        return steps

    def run(self):
        try:
            chosen = self._inputs()
        except ValueError as problem:
            self.panel.status.setText(str(problem))
            return
        self.panel.run("Detect deformation", self.steps(chosen), self._completed)

    def _completed(self, results):
        group = QgsProject.instance().layerTreeRoot().insertGroup(
            0, f"Deformation detection {datetime.now():%H:%M:%S}")
        self.added_layers = []
        summaries = []
        for label, outputs in reversed(list(results.items())):
            name = label.replace("Detecting in ", "") if label.startswith("Detecting") else "combined"
            self._add(group, outputs["OUTPUT_AREAS"], f"{name} areas", style_areas, vector=True)
            self._add(group, outputs["OUTPUT_PROBABILITY"], f"{name} probability",
                      partial(style_probability, lowest=LOWEST_LEVEL))
            if "OUTPUT_VELOCITY" in outputs:
                self._add(group, outputs["OUTPUT_VELOCITY"], f"{name} velocity", style_velocity)
            summaries.append(f"{name}: {outputs['AREAS']} area(s)")
        self.panel.status.setText("Done. " + "; ".join(reversed(summaries)))

    def _add(self, group, path, name, style, vector=False):
        layer = QgsVectorLayer(f"{path}|layername=areas", name, "ogr") if vector else QgsRasterLayer(path, name)
        style(layer)
        QgsProject.instance().addMapLayer(layer, False)
        group.addLayer(layer)
        self.added_layers.append(layer)
