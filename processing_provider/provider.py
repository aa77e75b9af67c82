"""Processing provider ``insardefo``."""
from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from . import ICON_PATH
from .combine_algorithm import CombineAlgorithm
from .detect_algorithm import DetectAlgorithm
from .diagnostics_algorithm import DiagnosticsAlgorithm
from .evaluate_algorithm import EvaluateAlgorithm
from .interpolate_algorithm import InterpolateAlgorithm
from .noisestats_algorithm import NoiseStatsAlgorithm
from .synthesize_algorithm import SynthesizeAlgorithm
from .syntheticscene_algorithm import SyntheticSceneAlgorithm
from .threshold_algorithm import ThresholdAlgorithm
from .train_algorithm import TrainAlgorithm
from .trainingmaps_algorithm import TrainingMapsAlgorithm


class InsarDeformationProvider(QgsProcessingProvider):
    """Groups the plugin's algorithms in the Processing toolbox."""

    def id(self):
        return "insardefo"

    def name(self):
        return "InSAR Deformation Detector"

    def longName(self):  # noqa: N802 (QGIS API)
        return "InSAR Deformation Detector: ground deformation in InSAR velocity maps"

    def icon(self):
        return QIcon(ICON_PATH)

    def svgIconPath(self):  # noqa: N802 (QGIS API)
        return ICON_PATH

    def loadAlgorithms(self):  # noqa: N802 (QGIS API)
        self.addAlgorithm(InterpolateAlgorithm())
        self.addAlgorithm(NoiseStatsAlgorithm())
        self.addAlgorithm(SyntheticSceneAlgorithm())
        self.addAlgorithm(SynthesizeAlgorithm())
        self.addAlgorithm(TrainingMapsAlgorithm())
        self.addAlgorithm(TrainAlgorithm())
        self.addAlgorithm(EvaluateAlgorithm())
        self.addAlgorithm(DetectAlgorithm())
        self.addAlgorithm(CombineAlgorithm())
        self.addAlgorithm(ThresholdAlgorithm())
        self.addAlgorithm(DiagnosticsAlgorithm())

    def supportedOutputRasterLayerExtensions(self):  # noqa: N802 (QGIS API)
        return ["tif"]

    def defaultRasterFileExtension(self):  # noqa: N802 (QGIS API)
        return "tif"
