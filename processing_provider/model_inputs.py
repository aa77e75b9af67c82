"""Parameters shared by the algorithms that train, evaluate and run models.

Dataset folders (one required, more optional), wrap intervals and offsets,
the compute device, and the Table I metrics as numeric outputs.
"""

from qgis.core import (
    QgsProcessingOutputNumber,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterString,
)

from ..core.learning.metrics import TABLE_I_COLUMNS
from ..core.learning.training import DEVICES
from ..core.learning.wrapping import DEFAULT_INTERVALS, DEFAULT_OFFSETS, parse_intervals, parse_offsets
from .inputs import error, is_set

METRIC_OUTPUTS = {name: name.upper() for name in TABLE_I_COLUMNS}  # Table I column -> output name
METRIC_TITLES = {"accuracy": "Accuracy (%)", "precision": "Precision (%)", "recall": "Recall (%)",
                 "false_positive_rate": "False positive rate (%)"}
DEVICE_LABELS = ["Automatic (the GPU when PyTorch sees one)", "CPU", "CUDA GPU"]


def advanced(parameter):
    """``parameter`` flagged as advanced."""
    parameter.setFlags(parameter.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
    return parameter


def dataset_parameters(label):
    """DATASET (a folder from insardefo:synthesize) and MORE_DATASETS (more folders, ';'-separated)."""
    return [QgsProcessingParameterFile("DATASET", label, behavior=QgsProcessingParameterFile.Folder),
            QgsProcessingParameterString("MORE_DATASETS", "More dataset folders (separated by ;)",
                                         optional=True)]


def dataset_inputs(algorithm, parameters, context):
    """[(parameter, folder)]: DATASET, then each folder of MORE_DATASETS, in order."""
    folders = [("DATASET", algorithm.parameterAsFile(parameters, "DATASET", context))]
    if is_set(parameters, "MORE_DATASETS"):
        more = algorithm.parameterAsString(parameters, "MORE_DATASETS", context)
        folders += [("MORE_DATASETS", folder.strip()) for folder in more.split(";") if folder.strip()]
    return folders


def open_dataset_inputs(algorithm, parameters, context):
    """core.synthesis.dataset.Dataset of each dataset folder; a bad one is an InputError naming its parameter."""
    from ..core.synthesis.dataset import Dataset

    return [Dataset(folder, name) for name, folder in dataset_inputs(algorithm, parameters, context)]


def more_dataset_inputs(algorithm, parameters, context):
    """[("MORE_DATASETS", folder)]: the inputs file_guard cannot see in a text parameter."""
    return [(name, folder) for name, folder in dataset_inputs(algorithm, parameters, context)
            if name == "MORE_DATASETS"]


def wrap_parameters(optional=False):
    """INTERVALS and OFFSETS (mm/yr, comma-separated; section III-C's mu and tau)."""
    intervals = ",".join(f"{value:g}" for value in DEFAULT_INTERVALS)
    offsets = ",".join(f"{value:g}" for value in DEFAULT_OFFSETS)
    return [advanced(QgsProcessingParameterString("INTERVALS", "Wrap intervals mu (mm/yr, comma-separated)",
                                                  defaultValue=intervals, optional=optional)),
            advanced(QgsProcessingParameterString("OFFSETS", "Wrap offsets tau (mm/yr, comma-separated)",
                                                  defaultValue=offsets, optional=optional))]


def wrap_values(algorithm, parameters, context, fallback=(DEFAULT_INTERVALS, DEFAULT_OFFSETS)):
    """(intervals, offsets) tuples in mm/yr from INTERVALS and OFFSETS, ``fallback`` where unset."""
    intervals = (parse_intervals(algorithm.parameterAsString(parameters, "INTERVALS", context))
                 if is_set(parameters, "INTERVALS") else tuple(fallback[0]))
    offsets = (parse_offsets(algorithm.parameterAsString(parameters, "OFFSETS", context))
               if is_set(parameters, "OFFSETS") else tuple(fallback[1]))
    return intervals, offsets


def device_parameter():
    return advanced(QgsProcessingParameterEnum("DEVICE", "Device", options=DEVICE_LABELS, defaultValue=0))


def device_value(algorithm, parameters, context):
    return DEVICES[algorithm.parameterAsEnum(parameters, "DEVICE", context)]


def add_metric_outputs(algorithm):
    for name, output in METRIC_OUTPUTS.items():
        algorithm.addOutput(QgsProcessingOutputNumber(output, METRIC_TITLES[name]))


def metric_results(metrics):
    """Processing results for the Table I metrics (%)."""
    return {output: float(metrics[name]) for name, output in METRIC_OUTPUTS.items()}


def file_destination(algorithm, parameters, name, context):
    """The path of file destination ``name`` (None when optional and unset)."""
    if not is_set(parameters, name) and algorithm.parameterDefinition(name).flags() & \
            QgsProcessingParameterDefinition.FlagOptional:
        return None
    path = algorithm.parameterAsFileOutput(parameters, name, context)
    if not path:
        raise error(name, "needs a file path")
    return path
