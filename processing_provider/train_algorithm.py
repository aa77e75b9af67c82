"""Processing algorithm ``insardefo:train``: a deformation classifier from synthetic datasets.

The Processing glue only: dataset folders, optional real negatives (cut
from a raster, or from a point layer interpolated first with
insardefo:interpolate) and the settings go to ``core.learning.training.train``; the
report and learning curve come from ``core.learning.training_report``.
"""
import os
import shutil
import tempfile
import time

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsProcessing,
    QgsProcessingOutputNumber,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterMapLayer,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
    QgsProcessingUtils,
    QgsRasterLayer,
    QgsVectorLayer,
)

from ..core.common.errors import Cancelled
from ..core.common.raster_io import atomic_outputs
from ..core.learning.dense_network import DENSE_ARCHITECTURES
from ..core.learning.networks import ARCHITECTURES
from .algorithm_base import InsarAlgorithm
from .inputs import error, gdal_file, is_set, progress_reporter, raster_path
from .model_inputs import (
    add_metric_outputs,
    advanced,
    dataset_parameters,
    device_parameter,
    device_value,
    file_destination,
    metric_results,
    more_dataset_inputs,
    open_dataset_inputs,
    wrap_parameters,
    wrap_values,
)

HELP = """<p>Trains a model file for detection, of either family:</p>
<ul><li><b>Windows</b> (the paper's method): the convolutional network that recognises deformation
in wrapped velocity patches (Anantrasirichai et al., sections II-A, III-C and IV-A), on datasets
made by <i>Synthesize training data</i>;</li>
<li><b>Dense</b> (a U-Net architecture): a network that gives every pixel of a velocity map in
mm/yr its class, on datasets made by <i>Synthesize training maps</i>. See the end of this help.</li></ul>
<p><b>Datasets</b>: one folder, and more separated by ; (a point-source set and a tunnel set
train one three-class model). <b>Real negatives</b> (optional): a real velocity raster (mm/yr,
at the datasets' pixel size) or point layer (interpolated first by matrix completion) from which
stable-ground patches are cut as extra negatives, as the paper does with UK data; polygons of
<b>areas to avoid</b> keep known deformation out.</p>
<p><b>Architecture</b>: AlexNet as in the paper (about 230 MB per model), AlexNet with a compact
head (about 10-20 MB), the compact AlexNet with batch normalisation, SqueezeNet 1.1 (light), or
AlexNet without zero padding (about 7-14 MB; the bundled model; 224-pixel datasets only): its
fast detection gives exactly what classifying each window alone gives. <b>Initial weights</b> (optional): a local file
of ImageNet weights in torchvision's format (e.g. alexnet-owt-7be5be79.pth) for transfer learning,
or one of our models to fine-tune or to resume from a checkpoint; layers that do not fit (the last
layer) start afresh. Nothing is downloaded.</p>
<p>Every example is wrapped at a random interval (14, 7, 3.5, 1.75 mm/yr) and offset (0, 3.5, 7,
10.5 mm/yr), scaled to gray 0-255 over three channels, flipped and rotated at random. Adam with
the learning rate given (1e-4 suits AlexNet from scratch; expect several epochs at chance level
before it learns when no ImageNet weights are given); training stops early when the
validation loss has not improved for <b>patience</b> epochs, or after the epoch that passes the
<b>time limit</b>, and the best epoch is kept. After
every better epoch a checkpoint is saved: the model file appears only when training ends, and Cancel
keeps the best epoch so far beside it as <i>name</i>.checkpoint-<i>time</i>.pt, to give as
<i>Initial weights</i> to continue.</p>
<p><b>Maps for fast detection</b> (optional, padded AlexNets and 224-pixel datasets; not needed
for AlexNet without padding): dense velocity
rasters (mm/yr, at least 512 x 512 pixels; synthetic scenes or your own interpolated maps, no
labels needed). Detection classifies windows fast by sharing the convolutions between them, where
a window's edge sees its neighbours instead of the zero padding it sees alone. With these maps,
every training step also classifies crops of them both ways and penalises the difference, so that
fast detection finds the same areas as classifying each window alone. Each step then also
classifies 8 windows and one 512-pixel crop (on 2 CPU cores an epoch of 3,060 examples took
about 110 s).</p>
<p>The <b>report</b> (HTML) gives the per-epoch losses, the learning curve and the paper's Table I
metrics (accuracy, precision, recall, false positive rate, %) with the confusion matrix, measured
on the validation set the way the detector works: every look, the maximum over offsets, the mean
over intervals, deformation when that is at least 0.5.</p>
<p><b>Dense family.</b> Every step takes <b>Batch size</b> random crops of <b>Crop size</b>
pixels from the training maps, turned, flipped and negated at random, and learns every pixel's
class by cross entropy (AdamW, cosine decay from the learning rate given; 2e-3 suits the U-Net
with batches of about 12). An epoch is as many steps as it takes to crop each training map once.
Every 200 steps (and at the end) the validation maps are classified and the weights with the best
pixel F1 of "deformation" are kept. A temperature that calibrates the probabilities is then fitted
on the validation maps, and the report gives the Table I metrics per pixel. <i>Initial weights</i>
may be a dense model of the same architecture and classes (to fine-tune or continue); real
negatives, maps for fast detection, wrap settings and half precision belong to the window family
and are refused.</p>
<p>All CPU cores are used; the GPU when PyTorch sees one (Device: automatic).</p>
<p><b>Memory</b>: datasets are memory-mapped, so memory follows the network and the batch size,
not the number of examples.</p>"""


class TrainAlgorithm(InsarAlgorithm):
    """Train a deformation classifier on synthetic datasets (and optional real negatives)."""

    NAME = "train"
    DISPLAY_NAME = "Train a deformation classifier"
    GROUP = "Training"
    GROUP_ID = "training"
    HELP = HELP
    TAGS = ["insar", "cnn", "alexnet", "training", "transfer learning", "deep learning", "model"]

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        for parameter in dataset_parameters("Training dataset folder (from Synthesize training data)"):
            self.addParameter(parameter)
        self.addParameter(QgsProcessingParameterMapLayer(
            "REAL_NEGATIVES", "Real negatives: stable-ground velocity raster or points (mm/yr)", optional=True,
            types=[QgsProcessing.TypeVectorPoint, QgsProcessing.TypeRaster]))
        self.addParameter(QgsProcessingParameterField(
            "REAL_NEGATIVES_FIELD", "Velocity field of the real negatives (mm/yr; point layer)", optional=True,
            parentLayerParameterName="REAL_NEGATIVES", type=QgsProcessingParameterField.Numeric))
        self.addParameter(QgsProcessingParameterNumber(
            "REAL_NEGATIVE_COUNT", "Number of real negative patches", defaultValue=500, minValue=1,
            maxValue=1_000_000))
        self.addParameter(QgsProcessingParameterFeatureSource(
            "AVOID", "Areas to avoid when cutting real negatives", types=[QgsProcessing.TypeVectorPolygon],
            optional=True))
        self.addParameter(QgsProcessingParameterMultipleLayers(
            "CONTEXT_RASTERS", "Maps for fast detection: dense velocity rasters (mm/yr) the shared form learns to "
            "agree on", layerType=QgsProcessing.TypeRaster, optional=True))
        self.addParameter(QgsProcessingParameterEnum(
            "ARCHITECTURE", "Architecture", options=list(ARCHITECTURES.values()) + [
                f"Dense: {label}" for label in DENSE_ARCHITECTURES.values()], defaultValue=0))
        self.addParameter(QgsProcessingParameterFile(
            "INIT_WEIGHTS", "Initial weights (local file: torchvision ImageNet weights or one of our models)",
            optional=True, fileFilter="PyTorch weights (*.pth *.pt)"))
        self.addParameter(QgsProcessingParameterNumber("EPOCHS", "Epochs", defaultValue=30, minValue=1,
                                                       maxValue=1000))
        self.addParameter(QgsProcessingParameterNumber("BATCH_SIZE", "Batch size", defaultValue=32, minValue=2,
                                                       maxValue=4096))
        self.addParameter(QgsProcessingParameterNumber(
            "LEARNING_RATE", "Learning rate (Adam)", type=QgsProcessingParameterNumber.Double, defaultValue=1e-4,
            minValue=1e-8, maxValue=1.0))
        self.addParameter(QgsProcessingParameterNumber(
            "VALIDATION_FRACTION", "Validation fraction", type=QgsProcessingParameterNumber.Double,
            defaultValue=0.15, minValue=0.01, maxValue=0.9))
        self.addParameter(QgsProcessingParameterNumber("SEED", "Random seed", defaultValue=0, minValue=0))
        self.addParameter(device_parameter())
        self.addParameter(advanced(QgsProcessingParameterNumber(
            "PATIENCE", "Early stopping patience (epochs without a better validation loss)", defaultValue=5,
            minValue=1, maxValue=1000)))
        self.addParameter(advanced(QgsProcessingParameterNumber(
            "TIME_LIMIT", "Time limit (minutes of training; 0: none)", type=QgsProcessingParameterNumber.Double,
            defaultValue=0.0, minValue=0.0)))
        for parameter in wrap_parameters():
            self.addParameter(parameter)
        self.addParameter(advanced(QgsProcessingParameterNumber(
            "CROP_SIZE", "Crop size (pixels; dense family)", defaultValue=128, minValue=8, maxValue=4096)))
        self.addParameter(advanced(QgsProcessingParameterBoolean(
            "HALF_PRECISION", "Store the weights in half precision (half the file size)", defaultValue=False)))
        self.addParameter(QgsProcessingParameterFileDestination(
            "OUTPUT_MODEL", "Model file", fileFilter="insardefo model (*.pt)"))
        self.addParameter(QgsProcessingParameterFileDestination(
            "OUTPUT_REPORT", "Training report", fileFilter="HTML files (*.html)"))
        self.addParameter(QgsProcessingParameterFileDestination(
            "OUTPUT_CURVE", "Learning curve", fileFilter="PNG images (*.png)", optional=True,
            createByDefault=False))
        add_metric_outputs(self)
        self.addOutput(QgsProcessingOutputNumber("BEST_EPOCH", "Best epoch"))
        self.addOutput(QgsProcessingOutputNumber("EPOCHS_RUN", "Epochs run"))

    def extra_input_files(self, parameters, context):
        return more_dataset_inputs(self, parameters, context)

    def compute(self, parameters, context, feedback):
        from ..core.common.value_checks import check_raster_values
        from ..core.learning.examples import Examples
        from ..core.learning.shared_training import SharedFormTrainer
        from ..core.learning.training import train

        if self._architecture(parameters, context) in DENSE_ARCHITECTURES:
            return self._train_dense(parameters, context, feedback)
        config = self._config(parameters, context)
        model_path, report_path, curve_path = (file_destination(self, parameters, name, context)
                                               for name in ("OUTPUT_MODEL", "OUTPUT_REPORT", "OUTPUT_CURVE"))
        datasets = open_dataset_inputs(self, parameters, context)
        if any(dataset.has_label_maps for dataset in datasets):
            raise error("DATASET", "holds training maps with a class per pixel, for the dense family: choose a "
                                   "Dense architecture, or give datasets from Synthesize training data")
        negatives = self._real_negatives(parameters, context, feedback, datasets)
        examples = Examples(datasets, negatives)
        feedback.pushInfo(f"{len(examples)} examples, classes {', '.join(examples.classes)}: "
                          f"{examples.describe()['class_counts']}")
        context_rasters = [gdal_file(layer, "CONTEXT_RASTERS")
                           for layer in self.parameterAsLayerList(parameters, "CONTEXT_RASTERS", context)]
        for path in context_rasters:
            check_raster_values(path, 1, "CONTEXT_RASTERS", is_cancelled=feedback.isCanceled)
        with atomic_outputs(model_path, report_path, curve_path) as (staged, _):
            try:
                if context_rasters:
                    result = SharedFormTrainer(examples, config, staged[0], context_rasters,
                                               progress=progress_reporter(feedback),
                                               is_cancelled=feedback.isCanceled, log=feedback.pushInfo).run()
                else:
                    result = train(examples, config, staged[0], progress=progress_reporter(feedback),
                                   is_cancelled=feedback.isCanceled, log=feedback.pushInfo)
            except Cancelled:
                raise Cancelled(_keep_checkpoint(staged[0], model_path)) from None
            self._write_report(result, examples, config, model_path, staged[1], staged[2])
        metrics = result["metrics"]
        feedback.pushInfo("Validation, detector settings: " + ", ".join(
            f"{name} {metrics[name]:.2f}%" for name in ("accuracy", "precision", "recall", "false_positive_rate")))
        results = {"OUTPUT_MODEL": model_path, "OUTPUT_REPORT": report_path, "BEST_EPOCH": result["best_epoch"],
                   "EPOCHS_RUN": len(result["history"]), **metric_results(metrics)}
        if curve_path:
            results["OUTPUT_CURVE"] = curve_path
        return results

    @staticmethod
    def _write_report(result, examples, config, model_path, report_path, curve_path):
        """The HTML report (and the learning curve PNG when ``curve_path`` is set) of a finished training."""
        from ..core.learning.training_report import learning_curve_png, training_html

        curve = learning_curve_png(result["history"])
        settings = {**result["metadata"]["training"], "architecture": config.architecture,
                    "initial weights": result["metadata"]["initial_weights"], "model": model_path}
        shared_form = result["metadata"].get("shared_form_training")
        if shared_form:
            settings["shared form trained to agree on"] = ", ".join(shared_form["context_rasters"])
            settings["shared-form symmetric KL, last 100 steps"] = f"{shared_form['recent_symmetric_kl']:.4f}"
        with open(report_path, "w", encoding="utf-8") as handle:
            handle.write(training_html(result, examples.classes, settings, curve))
        if curve_path:
            with open(curve_path, "wb") as handle:
                handle.write(curve)

    def _architecture(self, parameters, context):
        """The architecture key chosen: one of ARCHITECTURES (windows) or DENSE_ARCHITECTURES (dense)."""
        names = list(ARCHITECTURES) + list(DENSE_ARCHITECTURES)
        index = self.parameterAsEnum(parameters, "ARCHITECTURE", context)
        if not 0 <= index < len(names):
            raise error("ARCHITECTURE", f"must be 0..{len(names) - 1}, got {index}")
        return names[index]

    def _train_dense(self, parameters, context, feedback):
        """Train a dense (U-Net) model on training-map datasets; returns the results dict."""
        from ..core.learning.dense_model_training import train_dense_model
        from ..core.learning.dense_training import DenseTrainingConfig
        from ..core.learning.training import choose_device, use_all_cores

        for name in ("REAL_NEGATIVES", "CONTEXT_RASTERS", "HALF_PRECISION"):
            if is_set(parameters, name) and parameters[name] not in (False, [], "false"):
                raise error(name, "belongs to the window family; the dense family does not use it")
        if choose_device(device_value(self, parameters, context)) != "cpu":
            feedback.pushInfo("The dense family trains on the CPU")
        use_all_cores()
        model_path, report_path, curve_path = (file_destination(self, parameters, name, context)
                                               for name in ("OUTPUT_MODEL", "OUTPUT_REPORT", "OUTPUT_CURVE"))
        datasets = open_dataset_inputs(self, parameters, context)
        if not all(dataset.has_label_maps for dataset in datasets):
            raise error("DATASET", "must be training maps with a class per pixel (Synthesize training maps) for "
                                   "a Dense architecture")
        maps = sum(len(dataset) for dataset in datasets)
        fraction = self.parameterAsDouble(parameters, "VALIDATION_FRACTION", context)
        batch = self.parameterAsInt(parameters, "BATCH_SIZE", context)
        per_epoch = max(1, -(-round(maps * (1.0 - fraction)) // batch))
        epochs = self.parameterAsInt(parameters, "EPOCHS", context)
        config = DenseTrainingConfig(
            architecture=self._architecture(parameters, context), steps=epochs * per_epoch, batch_size=batch,
            crop_px=self.parameterAsInt(parameters, "CROP_SIZE", context),
            learning_rate=self.parameterAsDouble(parameters, "LEARNING_RATE", context),
            validation_fraction=fraction, seed=self.parameterAsInt(parameters, "SEED", context),
            time_limit_minutes=self.parameterAsDouble(parameters, "TIME_LIMIT", context))
        init = self.parameterAsFile(parameters, "INIT_WEIGHTS", context) if is_set(parameters, "INIT_WEIGHTS") else None
        feedback.pushInfo(f"{maps} training maps; {epochs} epochs of {per_epoch} steps of {batch} crops of "
                          f"{config.crop_px} px")
        with atomic_outputs(model_path, report_path, curve_path) as (staged, scratch):
            try:
                result = train_dense_model(datasets, config, staged[0], os.path.join(scratch, "checkpoint.pt"),
                                           init, progress=lambda fraction: feedback.setProgress(100.0 * fraction),
                                           is_cancelled=feedback.isCanceled, log=feedback.pushInfo)
            except Cancelled:
                raise Cancelled(_keep_checkpoint(staged[0], model_path)) from None
            self._write_dense_report(result, datasets[0].classes, model_path, staged[1], staged[2])
        metrics = result["metrics"]
        feedback.pushInfo("Validation, per pixel: " + ", ".join(
            f"{name} {metrics[name]:.2f}%" for name in ("accuracy", "precision", "recall", "false_positive_rate")))
        best = max(result["history"], key=lambda row: row["pixel_f1"])
        results = {"OUTPUT_MODEL": model_path, "OUTPUT_REPORT": report_path,
                   "BEST_EPOCH": -(-best["step"] // per_epoch), "EPOCHS_RUN": -(-result["history"][-1]["step"]
                                                                                 // per_epoch),
                   **metric_results(metrics)}
        if curve_path:
            results["OUTPUT_CURVE"] = curve_path
        return results

    @staticmethod
    def _write_dense_report(result, classes, model_path, report_path, curve_path):
        """The HTML report (and the learning curve PNG when ``curve_path`` is set) of a dense training."""
        from ..core.learning.training_report import dense_learning_curve_png, dense_training_html

        curve = dense_learning_curve_png(result["history"])
        settings = {**result["metadata"]["training"], "architecture": result["metadata"]["architecture"],
                    "initial weights": result["metadata"]["initial_weights"], "model": model_path}
        with open(report_path, "w", encoding="utf-8") as handle:
            handle.write(dense_training_html(result, classes, settings, curve))
        if curve_path:
            with open(curve_path, "wb") as handle:
                handle.write(curve)

    def _config(self, parameters, context):
        from ..core.learning.training import TrainingConfig

        intervals, offsets = wrap_values(self, parameters, context)
        init = self.parameterAsFile(parameters, "INIT_WEIGHTS", context) if is_set(parameters, "INIT_WEIGHTS") else None
        return TrainingConfig(
            architecture=self._architecture(parameters, context),
            epochs=self.parameterAsInt(parameters, "EPOCHS", context),
            batch_size=self.parameterAsInt(parameters, "BATCH_SIZE", context),
            learning_rate=self.parameterAsDouble(parameters, "LEARNING_RATE", context),
            validation_fraction=self.parameterAsDouble(parameters, "VALIDATION_FRACTION", context),
            seed=self.parameterAsInt(parameters, "SEED", context),
            device=device_value(self, parameters, context),
            patience=self.parameterAsInt(parameters, "PATIENCE", context),
            time_limit_minutes=self.parameterAsDouble(parameters, "TIME_LIMIT", context),
            intervals=intervals, offsets=offsets, init_weights=init,
            half_precision=self.parameterAsBool(parameters, "HALF_PRECISION", context))

    def _real_negatives(self, parameters, context, feedback, datasets):
        """(M, P, P) float32 stable-ground patches (mm/yr) or None when no layer is given."""
        from ..core.common.value_checks import check_raster_values
        from ..core.learning.real_negatives import cut_stable_patches

        if not is_set(parameters, "REAL_NEGATIVES"):
            return None
        layer = self.parameterAsLayer(parameters, "REAL_NEGATIVES", context)
        if layer is None:
            raise error("REAL_NEGATIVES", "could not be loaded as a raster or point layer")
        pixel_size = datasets[0].manifest.get("pixel_size_m")
        patch_size = int(datasets[0].manifest["patch_size"])
        scratch = tempfile.mkdtemp(prefix="insardefo-negatives-", dir=QgsProcessingUtils.tempFolder())
        try:
            if isinstance(layer, QgsVectorLayer):
                path = self._interpolate_points(parameters, context, feedback, pixel_size, scratch)
                crs = QgsRasterLayer(path, "real negatives", "gdal").crs()
            elif isinstance(layer, QgsRasterLayer):
                path, crs = raster_path(layer, "REAL_NEGATIVES"), layer.crs()
                check_raster_values(path, 1, "REAL_NEGATIVES", is_cancelled=feedback.isCanceled)
            else:
                raise error("REAL_NEGATIVES", "must be a raster or a point layer")
            count = self.parameterAsInt(parameters, "REAL_NEGATIVE_COUNT", context)
            patches = cut_stable_patches(path, patch_size, count, pixel_size,
                                         self._avoid_wkts(parameters, context, crs),
                                         seed=self.parameterAsInt(parameters, "SEED", context),
                                         is_cancelled=feedback.isCanceled)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        feedback.pushInfo(f"{len(patches)} real negative patches of {patch_size} px")
        return patches

    def _interpolate_points(self, parameters, context, feedback, pixel_size, scratch):
        from qgis import processing

        if not pixel_size:
            raise error("DATASET", "does not record its pixel size, which gridding the real negatives needs")
        if not is_set(parameters, "REAL_NEGATIVES_FIELD"):
            raise error("REAL_NEGATIVES_FIELD", "is required for a point layer: choose the velocity field (mm/yr)")
        feedback.pushInfo(f"Interpolating the real negatives at {pixel_size:g} m by matrix completion")
        result = processing.run("insardefo:interpolate", {
            "INPUT": parameters["REAL_NEGATIVES"], "FIELD": parameters["REAL_NEGATIVES_FIELD"],
            "PIXEL_SIZE": pixel_size, "METHOD": 0, "OUTPUT": os.path.join(scratch, "real_negatives.tif")},
            context=context, feedback=feedback, is_child_algorithm=True)
        return result["OUTPUT"]

    def _avoid_wkts(self, parameters, context, crs):
        """WKT of every area to avoid, in ``crs``."""
        if not is_set(parameters, "AVOID"):
            return []
        source = self.parameterAsSource(parameters, "AVOID", context)
        if source is None:
            raise error("AVOID", "could not be loaded as a polygon layer")
        transform = QgsCoordinateTransform(source.sourceCrs() or QgsCoordinateReferenceSystem(), crs,
                                           context.transformContext())
        wkts = []
        for feature in source.getFeatures():
            geometry = feature.geometry()
            if geometry.isEmpty():
                continue
            geometry.transform(transform)
            wkts.append(geometry.asWkt())
        return wkts


def _keep_checkpoint(staged_model, model_path):
    """Move a cancelled run's best epoch beside ``model_path`` under a new name; returns the Cancel message.

    OUTPUT_MODEL itself is written only by a finished run; the checkpoint
    (the best epoch so far) can be given as INIT_WEIGHTS to continue.
    """
    if not os.path.exists(staged_model):
        return "Cancelled before the first epoch ended: no model was written."
    stem = os.path.splitext(model_path)[0]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    checkpoint = f"{stem}.checkpoint-{stamp}.pt"
    suffix = 1
    while os.path.exists(checkpoint):
        suffix += 1
        checkpoint = f"{stem}.checkpoint-{stamp}-{suffix}.pt"
    os.replace(staged_model, checkpoint)
    return (f"Cancelled: {model_path} was not written; the best epoch so far is kept in {checkpoint} "
            "(give it as INIT_WEIGHTS to continue training).")
