"""Processing algorithm ``insardefo:detect``: where the ground deforms, and how sure we are.

The Processing glue only: points are gridded (``point_gridding``), sparse
input is interpolated (``core.interpolation.raster_interpolation``), the map is classified
(``core.detection.raster_detection``) and its areas traced (``core.detection.areas``).
"""
import os
import shutil
import tempfile
from functools import partial

from osgeo import gdal
from qgis.core import (
    QgsProcessingOutputNumber,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingUtils,
    QgsRasterLayer,
    QgsVectorLayer,
)

from ..core.common.raster_io import OUTPUT_OPTIONS, atomic_outputs, checked
from .algorithm_base import InsarAlgorithm
from .cluster_inputs import WHERE_HELP, cluster_parameters, cluster_values
from .inputs import (
    declared_nodata,
    declared_nodata_raster,
    error,
    is_set,
    progress_reporter,
    velocity_input_parameters,
    velocity_raster_path,
)
from .model_inputs import advanced, device_parameter, device_value, wrap_parameters, wrap_values
from .outputs import area_destination, areas_parameter, raster_destination, thresholds_parameter
from .point_gridding import grid_points, gridding_parameters

INTERPOLATIONS = [
    ("auto", "Automatic: points and sparse rasters by matrix completion, dense rasters as they are"),
    ("matrix_completion", "Matrix completion (paper, Algorithm 1)"),
    ("delaunay", "Delaunay triangulation"),
    ("none", "None: the raster is already dense"),
]
EVALUATIONS = [("shared", "Shared convolutions (fast; stride a multiple of the network's)"),
               ("per_window", "Each window alone (as the paper; about 20x slower)")]
INTERPOLATION_SHARE = 0.35  # of the progress bar, when the input is interpolated
AREAS_SHARE = 0.1

HELP = """<p>Finds ground deformation in an InSAR velocity map with a CNN (Anantrasirichai et al.,
sections II-A, III-C): a probability map of deformation and the areas where it is likely.</p>
<p><b>Input</b>: a velocity raster (mm/yr, line of sight) or a point layer of persistent scatterers
with its velocity field (gridded at <i>Pixel size</i> map units in a projected CRS). Sparse input
is interpolated first (<i>Interpolation</i>; automatic: matrix completion for points and for
rasters where most measured cells stand alone).</p>
<p><b>Model</b>: a model file from <i>Train a deformation classifier</i>. Empty uses the bundled
dense detector (resources/models/dense.pt): a U-Net that gives every pixel a calibrated
deformation probability and kind (no deformation, point source, tunnel), trained on synthetic
maps of 5 to 100 m pixels (see resources/models/README.md for what it finds). It sees a map at the
map's own pixel size in metres (geographic CRSs at their latitude) held between 20 and 100 m:
finer maps are averaged to 20 m, coarser ones resampled to 100 m; it classifies seamless tiles and
the probabilities are resampled back onto the map's grid. A dense model with measurement
channels also reads what the map was interpolated from (the gridded points or the sparse raster:
the mean measurement and the measured share of each of its pixels), so a source that
interpolation smoothed away can still be seen; a dense raster is its own measurement. Maps from
16 x 16 pixels up are accepted, and the method settings below do not apply. A model of the window family, such as the
bundled resources/models/default.pt (the paper's AlexNet), runs the paper's method below; the map
must then be at least one window (the model's input, 224 x 224 pixels) large.</p>
<p><b>Method</b> (window models): the map is wrapped at every interval mu and offset tau (advanced; default 14,
7, 3.5, 1.75 and 0, 3.5, 7, 10.5 mm/yr); windows every <i>Stride</i> pixels are classified;
P_mu is the maximum over tau and P_final the mean over mu. Each pixel takes the probability of
the window centred nearest, and the blocks are merged with a Gaussian low-pass (20 pixels, sigma
5). <i>Stride</i> defaults to 32 pixels, AlexNet's own stride, so that all windows share one
evaluation of the convolutional layers (a fully convolutional form of the classifier, about 20
times faster); the paper's 28 pixels needs <i>Evaluation</i> = each window alone. With the bundled model
(AlexNet without zero padding) both evaluations give the same map; with a padded network they
differ slightly at window edges (zero padding against real neighbours).</p>
<p><b>Outputs</b>: <i>Deformation probability</i>, float32 0-1 on the input grid, nodata where
the input has none; <i>Detection areas</i>, a GeoPackage with one polygon per connected area and
level of <i>Thresholds</i> (default 0.5, 0.75, 0.9): level, area_m2, max_probability,
mean_probability, confidence (dense models: the share of areas with this highest probability that
were real on held-out maps, from the model's area calibration), mean_velocity_mm_yr,
extreme_velocity_mm_yr (the value farthest towards the area's sense), measurements (measured
cells inside), sense (subsidence or uplift relative to the ground within 10 pixels around) and
class (the model's likeliest kind of deformation). A dense model draws no area whose highest
probability is below its floor (fitted on held-out maps so that they hold at most one false area
per 1,000 km2 of stable ground, for each range of working pixel sizes; the log says its value);
<i>Lowest highest probability of an area</i> (advanced) sets another, 0 draws every area.
Optional: the dense velocity map that was classified, and that map wrapped at the first interval
(mm/yr, 0 to mu; one fringe per mu, as the CNN sees it).</p>
<p>Large maps are processed in tiles (advanced, default 2048 pixels) with halos, so the result
equals the untiled one; the GPU is used when PyTorch sees one.</p>
<p><b>Memory</b>: one tile at a time, so it follows <i>Tile size</i>, not the map's size
(bench/memory.py, qgis_process included: 1.1 GB at 1200 x 1200 pixels, 1.7 GB at 3600 x 3600 with
2048-pixel tiles; smaller tiles need less).</p>""" + WHERE_HELP + """<p>Runs on a cluster or with a
run folder take a dense model; the interpolation and the detection each run as one task per
tile, and the areas are traced on the whole probability map, as in this process.</p>"""


class DetectAlgorithm(InsarAlgorithm):
    """Deformation probability and detection areas of a velocity map."""

    NAME = "detect"
    DISPLAY_NAME = "Detect deformation"
    GROUP = "Detection"
    GROUP_ID = "detection"
    HELP = HELP
    TAGS = ["insar", "velocity", "deformation", "detection", "cnn", "alexnet", "u-net", "segmentation",
            "subsidence", "uplift", "mining", "tunnel", "probability", "sliding window"]

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        for parameter in velocity_input_parameters("Velocity raster or points (mm/yr)") + gridding_parameters():
            self.addParameter(parameter)
        self.addParameter(QgsProcessingParameterEnum(
            "INTERPOLATION", "Interpolation", options=[label for _, label in INTERPOLATIONS], defaultValue=0))
        self.addParameter(QgsProcessingParameterFile(
            "MODEL", "Model file (empty: the bundled dense detector)", fileFilter="insardefo model (*.pt)",
            optional=True))
        self.addParameter(thresholds_parameter("0.5,0.75,0.9", "Probability thresholds (0-1, comma-separated)"))
        for parameter in wrap_parameters(optional=True):
            self.addParameter(parameter)
        self.addParameter(advanced(QgsProcessingParameterNumber(
            "STRIDE", "Stride between windows (pixels)", defaultValue=32, minValue=1, maxValue=224)))
        self.addParameter(advanced(QgsProcessingParameterEnum(
            "EVALUATION", "Evaluation", options=[label for _, label in EVALUATIONS], defaultValue=0)))
        self.addParameter(advanced(QgsProcessingParameterNumber(
            "TILE_SIZE", "Tile size (pixels)", defaultValue=2048, minValue=256, maxValue=16384)))
        self.addParameter(advanced(QgsProcessingParameterNumber(
            "MIN_PEAK", "Lowest highest probability of an area (empty: the model's floor)",
            type=QgsProcessingParameterNumber.Double, minValue=0.0, maxValue=1.0, optional=True)))
        self.addParameter(device_parameter())
        for parameter in cluster_parameters():
            self.addParameter(parameter)
        self.addParameter(QgsProcessingParameterRasterDestination(
            "OUTPUT_PROBABILITY", "Deformation probability"))
        self.addParameter(areas_parameter())
        self.addParameter(QgsProcessingParameterRasterDestination(
            "OUTPUT_VELOCITY", "Dense velocity that was classified (mm/yr)", optional=True, createByDefault=False))
        self.addParameter(QgsProcessingParameterRasterDestination(
            "OUTPUT_WRAPPED", "Velocity wrapped at the first interval (mm/yr)", optional=True,
            createByDefault=False))
        self.addOutput(QgsProcessingOutputNumber("AREAS", "Areas at the lowest threshold"))

    def compute(self, parameters, context, feedback):
        from ..core.detection.areas import contour_areas, parse_levels
        from ..core.detection.dense_detection import detect_dense_raster
        from ..core.detection.raster_detection import DetectionSettings, detect_raster
        from ..core.detection.wrapped_raster import wrap_raster
        from ..core.distributed.chain import detect_stage
        from ..core.learning.area_confidence import confidence_function
        from ..core.learning.model_file import DENSE_MODEL_PATH, load_model
        from ..core.learning.training import choose_device, use_all_cores

        layer = self.parameterAsLayer(parameters, "INPUT", context)
        if not isinstance(layer, (QgsRasterLayer, QgsVectorLayer)):
            raise error("INPUT", "must be a velocity raster or a point layer")
        thresholds = parse_levels(self.parameterAsString(parameters, "THRESHOLDS", context))
        intervals, offsets = wrap_values(self, parameters, context)
        probability_path = raster_destination(self, parameters, "OUTPUT_PROBABILITY", context)
        areas_path = area_destination(self, parameters, context)
        velocity_output, wrapped_output = (raster_destination(self, parameters, name, context)
                                           if is_set(parameters, name) else None
                                           for name in ("OUTPUT_VELOCITY", "OUTPUT_WRAPPED"))
        device = choose_device(device_value(self, parameters, context))
        use_all_cores()
        model_path = (self.parameterAsFile(parameters, "MODEL", context) if is_set(parameters, "MODEL")
                      else DENSE_MODEL_PATH)
        model = load_model(model_path, "MODEL", device)
        settings = DetectionSettings(
            intervals, offsets, stride=self.parameterAsInt(parameters, "STRIDE", context),
            evaluation=EVALUATIONS[self.parameterAsEnum(parameters, "EVALUATION", context)][0],
            tile_size=self.parameterAsInt(parameters, "TILE_SIZE", context), device=device)
        feedback.pushInfo(f"Model: {model_path} ({model.metadata['architecture']}; classes "
                          f"{', '.join(model.classes)})")
        where, run_folder = cluster_values(self, parameters, context)
        tiled = run_folder is not None or not where.in_process
        if tiled and model.family != "dense":
            raise error("WHERE", "runs on a cluster or with a run folder take a dense model; leave WHERE and "
                                 "RUN_FOLDER empty for the window family")

        scratch = tempfile.mkdtemp(prefix="insardefo-detect-", dir=QgsProcessingUtils.tempFolder())
        try:
            with atomic_outputs(probability_path, areas_path, velocity_output, wrapped_output) as (staged, _):
                chain = (where, run_folder or os.path.join(scratch, "run")) if tiled else None
                velocity, measurements, share = self._dense_velocity(layer, parameters, context, feedback, scratch,
                                                                     staged[2], chain)
                if wrapped_output:
                    wrap_raster(velocity, staged[3], intervals[0], is_cancelled=feedback.isCanceled)
                kinds_path = os.path.join(scratch, "kinds.tif")
                classify = progress_reporter(feedback, share, 1.0 - AREAS_SHARE)
                if tiled:
                    summary = detect_stage(velocity, model, staged[0], kinds_path, chain[1], where,
                                           measurements_path=measurements, device=device, progress=classify,
                                           is_cancelled=feedback.isCanceled)
                    feedback.pushInfo(f"{summary['tiles_run']} of {summary['tiles']} tile(s) classified now, "
                                      f"{summary['tiles_found_done']} found done, {summary['seconds']:.1f} s")
                elif model.family == "dense":
                    summary = detect_dense_raster(velocity, model, staged[0], kinds_path, device=device,
                                                  progress=classify, is_cancelled=feedback.isCanceled,
                                                  measurements_path=measurements)
                    feedback.pushInfo(f"{summary['width']} x {summary['height']} px classified at "
                                      f"{summary['working_pixel_m']:.1f} m pixels ({summary['model_grid'][1]} x "
                                      f"{summary['model_grid'][0]}), {summary['tiles']} tile(s), "
                                      f"{summary['seconds']:.1f} s")
                else:
                    summary = detect_raster(velocity, model, staged[0], kinds_path, settings, progress=classify,
                                            is_cancelled=feedback.isCanceled)
                    feedback.pushInfo(f"{summary['windows']} windows on a {summary['width']} x "
                                      f"{summary['height']} grid, {summary['tiles']} tile(s), "
                                      f"{summary['seconds']:.1f} s")
                counts = contour_areas(staged[0], thresholds, staged[1], probability_path=staged[0],
                                       velocity_path=velocity, measurements_path=measurements, kinds_path=kinds_path,
                                       kind_names=model.classes[1:], confidence=confidence_function(model.metadata),
                                       min_peak=self._min_peak(parameters, context, model, summary, feedback),
                                       progress=progress_reporter(feedback, 1.0 - AREAS_SHARE, 1.0),
                                       is_cancelled=feedback.isCanceled)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        for level, count in counts.items():
            feedback.pushInfo(f"{count} area(s) at probability >= {level:g}")
        results = {"OUTPUT_PROBABILITY": probability_path, "OUTPUT_AREAS": areas_path,
                   "AREAS": counts[thresholds[0]]}
        for name, path in (("OUTPUT_VELOCITY", velocity_output), ("OUTPUT_WRAPPED", wrapped_output)):
            if path:
                results[name] = path
        self._style_outputs(context, results, thresholds, intervals[0])
        return results

    def _style_outputs(self, context, results, thresholds, interval):
        from ..ui.layer_styles import style_areas, style_probability, style_velocity, style_wrapped

        self.style_output(context, results["OUTPUT_PROBABILITY"], partial(style_probability, lowest=thresholds[0]))
        self.style_output(context, results["OUTPUT_AREAS"], style_areas)
        self.style_output(context, results.get("OUTPUT_VELOCITY"), style_velocity)
        self.style_output(context, results.get("OUTPUT_WRAPPED"), partial(style_wrapped, interval=interval))

    def _min_peak(self, parameters, context, model, summary, feedback):
        """The lowest highest probability of an area drawn: MIN_PEAK, else the model's floor at the working
        pixel size of the detection ``summary`` (None: none)."""
        from ..core.learning.area_confidence import FALSE_AREAS_PER_1000_KM2, area_floor

        if is_set(parameters, "MIN_PEAK"):
            return self.parameterAsDouble(parameters, "MIN_PEAK", context)
        pixel_m = summary.get("working_pixel_m")
        floor = area_floor(model.metadata, pixel_m)
        if floor is not None:
            feedback.pushInfo(f"Areas whose highest probability is below {floor:.2f} are not drawn (the model's "
                              f"floor at {pixel_m:.0f} m pixels: at most {FALSE_AREAS_PER_1000_KM2:g} false area "
                              "per 1,000 km2 of stable ground on its calibration maps; MIN_PEAK overrides it)")
        return floor

    def _dense_velocity(self, layer, parameters, context, feedback, scratch, velocity_output, chain):
        """(dense velocity path, measurements path, progress share used) for the INPUT layer.

        ``chain``: (Where, chain folder) to interpolate one task per tile (core.distributed.chain), or None.
        """
        from ..core.distributed.chain import interpolate_stage
        from ..core.interpolation.raster_interpolation import interpolate_raster, looks_sparse

        choice = INTERPOLATIONS[self.parameterAsEnum(parameters, "INTERPOLATION", context)][0]
        if isinstance(layer, QgsVectorLayer):
            if choice == "none":
                raise error("INTERPOLATION", "a point layer must be interpolated; choose automatic or a method")
            measurements = os.path.join(scratch, "measurements.tif")
            grid_points(self, layer, parameters, context, feedback, measurements)
        else:
            measurements = self._single_band(layer, parameters, context, scratch)
            if choice == "auto":
                choice = "matrix_completion" if looks_sparse(measurements) else "none"
                feedback.pushInfo("The raster is sparse: interpolating it by matrix completion" if choice != "none"
                                  else "The raster is dense: classifying it as it is")
            if choice == "none":
                if velocity_output:
                    checked(gdal.Translate(velocity_output, measurements, format="GTiff",
                                           creationOptions=OUTPUT_OPTIONS), f"write {velocity_output}")
                return measurements, measurements, 0.0
        method = "matrix_completion" if choice == "auto" else choice
        feedback.pushInfo(f"Interpolating by {method.replace('_', ' ')}")
        progress = progress_reporter(feedback, 0.0, INTERPOLATION_SHARE)
        if chain is not None:
            measurements, dense = interpolate_stage(measurements, chain[1], chain[0], method=method,
                                                    progress=progress, is_cancelled=feedback.isCanceled)
            if velocity_output:
                shutil.copyfile(dense, velocity_output)
            return dense, measurements, INTERPOLATION_SHARE
        dense = velocity_output or os.path.join(scratch, "dense.tif")
        interpolate_raster(measurements, dense, method=method, progress=progress, is_cancelled=feedback.isCanceled)
        return dense, measurements, INTERPOLATION_SHARE

    def _single_band(self, layer, parameters, context, scratch):
        """The INPUT raster's path (NODATA declared), or a virtual raster of its BAND when that is not band 1."""
        band = self.parameterAsInt(parameters, "BAND", context) if is_set(parameters, "BAND") else 1
        if not 1 <= band <= layer.bandCount():
            raise error("BAND", f"must lie in 1..{layer.bandCount()}, got {band}")
        path = declared_nodata_raster(velocity_raster_path(layer, parameters),
                                      declared_nodata(self, parameters, context))
        if band == 1:
            return path
        single = os.path.join(scratch, "band.vrt")
        checked(gdal.Translate(single, path, format="VRT", bandList=[band]), f"read band {band} of {path}")
        return single
