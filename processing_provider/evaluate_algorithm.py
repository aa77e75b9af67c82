"""Processing algorithm ``insardefo:evaluate``: the Table I metrics of a model on labelled data.

The Processing glue only: ``core.learning.model_file.load_model``, ``core.learning.examples``
and ``core.learning.evaluation.evaluate``; the report comes from ``core.learning.training_report``.
"""
from qgis.core import QgsProcessingParameterFile, QgsProcessingParameterFileDestination, QgsProcessingParameterNumber

from ..core.common.raster_io import atomic_outputs
from .algorithm_base import InsarAlgorithm
from .inputs import progress_reporter
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

HELP = """<p>Measures how well a model separates deformation from no deformation on labelled
patches (datasets made by <i>Synthesize training data</i>), with the paper's Table I metrics
(Anantrasirichai et al., section IV-A): accuracy, precision, recall and false positive rate in %,
plus the confusion matrix over the model's classes.</p>
<p>Each patch is classified as the detector classifies a window (section III-C): wrapped at every
interval mu and offset tau, P_mu is the maximum over tau, P_final the mean over mu, and the patch
counts as deformation when P_final is at least 0.5. Intervals and offsets default to the
model's own (normally 14, 7, 3.5, 1.75 and 0, 3.5, 7, 10.5 mm/yr).</p>
<p>The datasets' patches must have the model's input size; their classes must be among the
model's (a point-source set can be scored by a three-class model).</p>
<p><b>Dense models</b> (U-Net) are scored per pixel on datasets from <i>Synthesize training
maps</i> (a pixel is deformation when its calibrated P(deformation) is at least 0.5), and per
window on datasets from <i>Synthesize training data</i> (the Table I protocol: a window is
deformation when detection would draw an area inside it at 0.5, that is when its likeliest
deforming pixel reaches 0.5); patches are resampled to the model's working pixel size first.
Intervals, offsets and batch size apply to window models only.</p>
<p><b>Memory</b>: datasets are memory-mapped, so memory follows the network and the batch size,
not the number of examples.</p>"""


class EvaluateAlgorithm(InsarAlgorithm):
    """Score a model on labelled datasets with the Table I metrics."""

    NAME = "evaluate"
    DISPLAY_NAME = "Evaluate a deformation classifier"
    GROUP = "Training"
    GROUP_ID = "training"
    HELP = HELP
    TAGS = ["insar", "cnn", "evaluation", "accuracy", "precision", "recall", "false positive rate", "model"]

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        self.addParameter(QgsProcessingParameterFile("MODEL", "Model file", fileFilter="insardefo model (*.pt)"))
        for parameter in dataset_parameters("Labelled dataset folder (from Synthesize training data)"):
            self.addParameter(parameter)
        for parameter in wrap_parameters(optional=True):
            self.addParameter(parameter)
        self.addParameter(advanced(QgsProcessingParameterNumber(
            "BATCH_SIZE", "Batch size", defaultValue=64, minValue=1, maxValue=4096)))
        self.addParameter(device_parameter())
        self.addParameter(QgsProcessingParameterFileDestination(
            "OUTPUT_REPORT", "Evaluation report", fileFilter="HTML files (*.html)"))
        add_metric_outputs(self)

    def extra_input_files(self, parameters, context):
        return more_dataset_inputs(self, parameters, context)

    def compute(self, parameters, context, feedback):
        from ..core.learning.evaluation import evaluate
        from ..core.learning.examples import Examples
        from ..core.learning.model_file import load_model
        from ..core.learning.training import choose_device, use_all_cores
        from ..core.learning.training_report import evaluation_html

        report_path = file_destination(self, parameters, "OUTPUT_REPORT", context)
        device = choose_device(device_value(self, parameters, context))
        use_all_cores()
        model = load_model(self.parameterAsFile(parameters, "MODEL", context), "MODEL", device)
        if model.family == "dense":
            return self._evaluate_dense(model, parameters, context, feedback, report_path)
        intervals, offsets = wrap_values(self, parameters, context,
                                         (model.metadata["intervals_mm_yr"], model.metadata["offsets_mm_yr"]))
        examples = Examples(open_dataset_inputs(self, parameters, context))
        feedback.pushInfo(f"{len(examples)} examples; model {model.metadata['architecture']} for "
                          f"{', '.join(model.classes)}; intervals {intervals} and offsets {offsets} mm/yr")
        result = evaluate(model, examples, intervals, offsets, device,
                          self.parameterAsInt(parameters, "BATCH_SIZE", context),
                          progress_reporter(feedback), feedback.isCanceled)
        settings = {"model": model.path, "datasets": "; ".join(dataset.folder for dataset in examples.datasets),
                    "intervals (mm/yr)": intervals, "offsets (mm/yr)": offsets, "device": device}
        with atomic_outputs(report_path) as ((partial,), _):
            with open(partial, "w", encoding="utf-8") as handle:
                handle.write(evaluation_html("Evaluation report", result["metrics"], result["confusion"],
                                             result["classes"], settings))
        metrics = result["metrics"]
        feedback.pushInfo(", ".join(f"{name} {metrics[name]:.2f}%" for name in
                                    ("accuracy", "precision", "recall", "false_positive_rate")))
        return {"OUTPUT_REPORT": report_path, **metric_results(metrics)}

    def _evaluate_dense(self, model, parameters, context, feedback, report_path):
        """Table I metrics of a dense model, per pixel or per window; returns the results dict."""
        from ..core.learning.dense_evaluation import evaluate_dense
        from ..core.learning.training_report import evaluation_html

        datasets = open_dataset_inputs(self, parameters, context)
        result = evaluate_dense(model, datasets, progress_reporter(feedback), feedback.isCanceled)
        settings = {"model": model.path, "datasets": "; ".join(dataset.folder for dataset in datasets),
                    "scored per": result["unit"], "temperature": model.metadata.get("temperature", 1.0)}
        with atomic_outputs(report_path) as ((partial,), _):
            with open(partial, "w", encoding="utf-8") as handle:
                handle.write(evaluation_html(f"Evaluation report: dense detector, per {result['unit'][:-1]}",
                                             result["metrics"], result["confusion"], result["classes"], settings))
        metrics = result["metrics"]
        feedback.pushInfo(f"Per {result['unit'][:-1]}: " + ", ".join(
            f"{name} {metrics[name]:.2f}%" for name in ("accuracy", "precision", "recall", "false_positive_rate")))
        return {"OUTPUT_REPORT": report_path, **metric_results(metrics)}
