"""Processing algorithm ``insardefo:trainingmaps``: labelled training maps for the dense detector.

The Processing glue only: the count, map size, seed and workers go to
``core.synthesis.training_maps.generate_training_maps``.
"""
from qgis.core import QgsProcessingOutputNumber, QgsProcessingParameterFolderDestination, QgsProcessingParameterNumber

from .algorithm_base import InsarAlgorithm
from .inputs import error, progress_reporter
from .model_inputs import advanced

HELP = """<p>Writes a folder of synthetic velocity maps with a class at every pixel, to train the
dense detector (a U-Net) with <i>Train a deformation classifier</i>.</p>
<p>Each map is a synthetic scene (point sources and tunnels with depths, rates and sizes wider
than the paper's section III-B, turbulent atmosphere, a built-in pattern of towns, roads and
farmland measured like persistent scatterers, spike noise) at a native pixel size drawn between
5 and 100 m, corrupted by what real maps hold that is not deformation: ramps and reference
offsets, anisotropic atmosphere, isolated spikes and clusters of them, town edges, coasts, holes,
and roads with a mean of their own. It is interpolated by matrix completion at its native pixel size as detection
does, and averaged to 20 m where it is finer (maps of 20 to 100 m keep their pixel size).</p>
<p>Labels: 0 stable ground, 1 point source, 2 tunnel where |deformation| is at least 1 mm/yr;
holes and sources too faint (peak under 2.5 mm/yr) or too thinly measured to be seen teach
nothing (255).</p>
<p><b>Output</b>: a dataset folder (the sharded format of <i>Synthesize training data</i>) with
the maps (mm/yr), their label maps, what each was interpolated from (the mean measurement and
measured share of each pixel), examples.csv (each map's pixel size, sources and hard
negatives) and manifest.json. The same <i>Seed</i> gives the same maps. All cores are used;
expect about 30 maps of 256 x 256 pixels per minute on 2 cores.</p>"""


class TrainingMapsAlgorithm(InsarAlgorithm):
    """Generate labelled training maps for the dense detector."""

    NAME = "trainingmaps"
    DISPLAY_NAME = "Synthesize training maps (dense detector)"
    GROUP = "Training"
    GROUP_ID = "training"
    HELP = HELP
    TAGS = ["insar", "synthetic", "training", "dataset", "segmentation", "u-net", "dense", "deep learning"]

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        self.addParameter(QgsProcessingParameterNumber(
            "COUNT", "Number of maps", type=QgsProcessingParameterNumber.Integer, defaultValue=800, minValue=1,
            maxValue=1_000_000))
        self.addParameter(QgsProcessingParameterNumber(
            "MAP_SIZE", "Map size (pixels a side, a multiple of 8)", type=QgsProcessingParameterNumber.Integer,
            defaultValue=256, minValue=32, maxValue=2048))
        self.addParameter(QgsProcessingParameterNumber(
            "SEED", "Random seed", type=QgsProcessingParameterNumber.Integer, defaultValue=0, minValue=0))
        self.addParameter(advanced(QgsProcessingParameterNumber(
            "WORKERS", "Worker processes (0: every core)", type=QgsProcessingParameterNumber.Integer,
            defaultValue=0, minValue=0, maxValue=256)))
        self.addParameter(QgsProcessingParameterFolderDestination("OUTPUT", "Dataset folder"))
        self.addOutput(QgsProcessingOutputNumber("MAPS", "Maps written"))

    def compute(self, parameters, context, feedback):
        from ..core.learning.dense_network import SIZE_MULTIPLE
        from ..core.synthesis.training_maps import generate_training_maps

        size = self.parameterAsInt(parameters, "MAP_SIZE", context)
        if size % SIZE_MULTIPLE:
            raise error("MAP_SIZE", f"must be a multiple of {SIZE_MULTIPLE} pixels, got {size}")
        output = self.parameterAsString(parameters, "OUTPUT", context)
        count = self.parameterAsInt(parameters, "COUNT", context)
        summary = generate_training_maps(output, count, self.parameterAsInt(parameters, "SEED", context), size,
                                         self.parameterAsInt(parameters, "WORKERS", context),
                                         progress=progress_reporter(feedback), is_cancelled=feedback.isCanceled)
        feedback.pushInfo(f"{summary['count']} maps of {size} x {size} px in {summary['seconds']:.1f} s on "
                          f"{summary['workers']} process(es)")
        return {"OUTPUT": output, "MAPS": summary["count"]}
