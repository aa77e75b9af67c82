"""Processing algorithm ``insardefo:combine``: ascending and descending probability maps into one (section III-D).

The Processing glue only: ``core.detection.combine.combine_passes`` and ``core.detection.areas.contour_areas``.
"""
from functools import partial

from qgis.core import (
    QgsProcessing,
    QgsProcessingOutputNumber,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
)

from ..core.common.raster_io import atomic_outputs
from .algorithm_base import InsarAlgorithm
from .inputs import error, gdal_file, is_set, progress_reporter
from .model_inputs import advanced
from .outputs import area_destination, areas_parameter, raster_destination, thresholds_parameter

COMBINE_SHARE = 0.8  # of the progress bar; tracing the areas takes the rest

HELP = """<p>Combines the deformation probability maps of ascending and descending passes
(Anantrasirichai et al., section III-D): a motion seen in one line of sight may be hidden in the
other, and noise that fakes a detection in one pass rarely does so in the other.</p>
<p><b>Ascending</b>, <b>Descending</b>: probability maps (0-1) from <i>Detect deformation</i>, at
least one of each. Each ascending map is averaged with each descending map and the largest pair
average is kept: one of each gives their average; two of each (four looks) give the maximum of
the four pair averages. Where one map of a pair has no data, the other's value stands.</p>
<p>Every map is resampled (bilinear) onto the grid of the first ascending map, which sets the
output's extent, pixel size and CRS; maps must overlap it.</p>
<p><b>Outputs</b>: the combined probability (float32, 0-1) and its <i>Detection areas</i> at
<i>Thresholds</i> (default 0.5, 0.75, 0.9) with level, area_m2, max_probability and
mean_probability (velocity fields are empty: the passes see different lines of sight). <i>Lowest
highest probability of an area</i> (advanced, optional) leaves out the areas peaking below it, as
a dense model's floor does in <i>Detect deformation</i> (the floor is not carried over: the
combined probability is an average of the passes').</p>
<p><b>Memory</b>: maps are read and combined in blocks of rows, so memory follows the width of the
first ascending map, not its size.</p>"""


class CombineAlgorithm(InsarAlgorithm):
    """Combine ascending and descending probability maps."""

    NAME = "combine"
    DISPLAY_NAME = "Combine ascending and descending detections"
    GROUP = "Detection"
    GROUP_ID = "detection"
    HELP = HELP
    TAGS = ["insar", "ascending", "descending", "line of sight", "probability", "combine", "passes"]

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        self.addParameter(QgsProcessingParameterMultipleLayers(
            "ASCENDING", "Ascending probability maps", layerType=QgsProcessing.TypeRaster))
        self.addParameter(QgsProcessingParameterMultipleLayers(
            "DESCENDING", "Descending probability maps", layerType=QgsProcessing.TypeRaster))
        self.addParameter(thresholds_parameter("0.5,0.75,0.9", "Probability thresholds (0-1, comma-separated)"))
        self.addParameter(advanced(QgsProcessingParameterNumber(
            "MIN_PEAK", "Lowest highest probability of an area (empty: every area)",
            type=QgsProcessingParameterNumber.Double, minValue=0.0, maxValue=1.0, optional=True)))
        self.addParameter(QgsProcessingParameterRasterDestination("OUTPUT_PROBABILITY", "Combined probability"))
        self.addParameter(areas_parameter())
        self.addOutput(QgsProcessingOutputNumber("AREAS", "Areas at the lowest threshold"))

    def compute(self, parameters, context, feedback):
        from ..core.common.value_checks import PROBABILITY, check_raster_values
        from ..core.detection.areas import contour_areas, parse_levels
        from ..core.detection.combine import combine_passes

        thresholds = parse_levels(self.parameterAsString(parameters, "THRESHOLDS", context))
        probability = raster_destination(self, parameters, "OUTPUT_PROBABILITY", context)
        areas = area_destination(self, parameters, context)
        passes = {name: [gdal_file(layer, name) for layer in self.parameterAsLayerList(parameters, name, context)]
                  for name in ("ASCENDING", "DESCENDING")}
        for name, paths in passes.items():
            if not paths:
                raise error(name, "needs at least one probability map")
            for path in paths:
                check_raster_values(path, 1, name, PROBABILITY, is_cancelled=feedback.isCanceled)
        with atomic_outputs(probability, areas) as ((staged_probability, staged_areas), _):
            summary = combine_passes(passes["ASCENDING"], passes["DESCENDING"], staged_probability,
                                     progress=progress_reporter(feedback, 0.0, COMBINE_SHARE),
                                     is_cancelled=feedback.isCanceled)
            feedback.pushInfo(f"{summary['looks']} looks combined on a {summary['width']} x {summary['height']} "
                              "grid")
            counts = contour_areas(staged_probability, thresholds, staged_areas, probability_path=staged_probability,
                                   min_peak=(self.parameterAsDouble(parameters, "MIN_PEAK", context)
                                             if is_set(parameters, "MIN_PEAK") else None),
                                   progress=progress_reporter(feedback, COMBINE_SHARE, 1.0),
                                   is_cancelled=feedback.isCanceled)
        for level, count in counts.items():
            feedback.pushInfo(f"{count} area(s) at probability >= {level:g}")
        from ..ui.layer_styles import style_areas, style_probability

        self.style_output(context, probability, partial(style_probability, lowest=thresholds[0]))
        self.style_output(context, areas, style_areas)
        return {"OUTPUT_PROBABILITY": probability, "OUTPUT_AREAS": areas, "AREAS": counts[thresholds[0]]}
