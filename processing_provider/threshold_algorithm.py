"""Processing algorithm ``insardefo:threshold``: the paper's velocity-threshold baseline (section IV-C).

The Processing glue only: points are gridded (``point_gridding``), then
``core.detection.thresholding.threshold_raster`` and ``core.detection.areas.contour_areas``.
"""
import os
import shutil
import tempfile
from functools import partial

from qgis.core import (
    QgsProcessingOutputNumber,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingUtils,
    QgsRasterLayer,
    QgsVectorLayer,
)

from ..core.common.raster_io import atomic_outputs
from .algorithm_base import InsarAlgorithm
from .inputs import (
    declared_nodata,
    declared_nodata_raster,
    error,
    is_set,
    progress_reporter,
    velocity_input_parameters,
    velocity_raster_path,
)
from .model_inputs import advanced
from .outputs import area_destination, areas_parameter, raster_destination, thresholds_parameter
from .point_gridding import grid_points, gridding_parameters

THRESHOLD_SHARE = 0.6  # of the progress bar; tracing the areas takes the rest

HELP = """<p>The baseline the paper compares its CNN with (Anantrasirichai et al., section IV-C):
deformation wherever the measured velocity is fast enough. Useful to compare with <i>Detect
deformation</i> on the same map: thresholding flags every fast pixel, spikes included (the paper:
4,064 areas over the UK against the CNN's 258), and misses slow motion with a clear pattern.</p>
<p><b>Input</b>: the raw velocities (mm/yr): a point layer with its velocity field (gridded at
<i>Pixel size</i> map units) or a sparse raster. No interpolation.</p>
<p><b>Thresholds</b> (mm/yr, default 3, 4.5, 5: slow, medium and fast deformation): measurements
whose |velocity| reaches a threshold are dilated by a <i>Dilation</i> square (default 18 pixels,
180 m at 10 m pixels, which joins neighbouring measurements) and the result is cleaned with a 3 x 3
median filter. An area needs at least <i>Minimum measurements</i> (default 4) measurements at its
level, fewer is spike noise.</p>
<p><b>Outputs</b>: <i>Detection areas</i> (GeoPackage), one polygon per connected area and
threshold, with level (the threshold, mm/yr), area_m2, mean_velocity_mm_yr and
extreme_velocity_mm_yr of the measurements inside, measurements, and sense (subsidence or uplift
relative to the measurements within 10 pixels around); the probability fields are empty. Optional:
the level raster, the highest threshold each pixel reaches (0: none).</p>
<p><b>Memory</b>: rasters are read in blocks of rows (bench/memory.py, qgis_process included:
0.3 GB at 1200 x 1200 pixels, 0.55 GB at 3600 x 3600).</p>"""


class ThresholdAlgorithm(InsarAlgorithm):
    """Detection areas by velocity thresholds, dilation and median filtering."""

    NAME = "threshold"
    DISPLAY_NAME = "Detect deformation by velocity thresholds (baseline)"
    GROUP = "Detection"
    GROUP_ID = "detection"
    HELP = HELP
    TAGS = ["insar", "velocity", "threshold", "baseline", "deformation", "subsidence", "uplift"]

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        for parameter in velocity_input_parameters("Velocity points or sparse raster (mm/yr)") + gridding_parameters():
            self.addParameter(parameter)
        self.addParameter(thresholds_parameter("3,4.5,5", "Velocity thresholds (mm/yr, comma-separated)"))
        self.addParameter(advanced(QgsProcessingParameterNumber(
            "DILATION", "Dilation (pixels, square side)", defaultValue=18, minValue=1, maxValue=200)))
        self.addParameter(advanced(QgsProcessingParameterNumber(
            "MIN_MEASUREMENTS", "Minimum measurements per area", defaultValue=4, minValue=1, maxValue=100000)))
        self.addParameter(areas_parameter())
        self.addParameter(QgsProcessingParameterRasterDestination(
            "OUTPUT_LEVELS", "Threshold levels (mm/yr)", optional=True, createByDefault=False))
        self.addOutput(QgsProcessingOutputNumber("AREAS", "Areas at the lowest threshold"))

    def compute(self, parameters, context, feedback):
        from ..core.detection.areas import contour_areas, parse_levels
        from ..core.detection.thresholding import threshold_raster

        layer = self.parameterAsLayer(parameters, "INPUT", context)
        if not isinstance(layer, (QgsRasterLayer, QgsVectorLayer)):
            raise error("INPUT", "must be a velocity raster or a point layer")
        thresholds = parse_levels(self.parameterAsString(parameters, "THRESHOLDS", context), low=0.0, high=1000.0)
        areas = area_destination(self, parameters, context)
        levels_output = (raster_destination(self, parameters, "OUTPUT_LEVELS", context)
                         if is_set(parameters, "OUTPUT_LEVELS") else None)
        scratch = tempfile.mkdtemp(prefix="insardefo-threshold-", dir=QgsProcessingUtils.tempFolder())
        try:
            with atomic_outputs(areas, levels_output) as ((staged_areas, staged_levels), _):
                if isinstance(layer, QgsVectorLayer):
                    velocity = os.path.join(scratch, "measurements.tif")
                    grid_points(self, layer, parameters, context, feedback, velocity)
                    band = 1
                else:
                    band = self.parameterAsInt(parameters, "BAND", context) if is_set(parameters, "BAND") else 1
                    velocity = declared_nodata_raster(velocity_raster_path(layer, parameters),
                                                      declared_nodata(self, parameters, context))
                levels = staged_levels or os.path.join(scratch, "levels.tif")
                measurements = os.path.join(scratch, "measurements_band.tif")
                threshold_raster(velocity, levels, measurements, thresholds,
                                 self.parameterAsInt(parameters, "DILATION", context), band,
                                 progress=progress_reporter(feedback, 0.0, THRESHOLD_SHARE),
                                 is_cancelled=feedback.isCanceled)
                counts = contour_areas(levels, thresholds, staged_areas, velocity_path=measurements,
                                       measurements_path=measurements, support_path=measurements,
                                       min_support=self.parameterAsInt(parameters, "MIN_MEASUREMENTS", context),
                                       progress=progress_reporter(feedback, THRESHOLD_SHARE, 1.0),
                                       is_cancelled=feedback.isCanceled)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        for level, count in counts.items():
            feedback.pushInfo(f"{count} area(s) at |velocity| >= {level:g} mm/yr")
        from ..ui.layer_styles import style_areas, style_levels

        results = {"OUTPUT_AREAS": areas, "AREAS": counts[thresholds[0]]}
        self.style_output(context, areas, style_areas)
        if levels_output:
            results["OUTPUT_LEVELS"] = levels_output
            self.style_output(context, levels_output, partial(style_levels, thresholds=thresholds))
        return results
