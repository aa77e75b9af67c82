"""Processing algorithm ``insardefo:interpolate``: sparse velocities to a dense raster.

The Processing glue only: it reads the QGIS inputs (a point layer or a sparse
raster), checks them, and hands plain arrays and file paths to
``core.interpolation.gridding`` and ``core.interpolation.raster_interpolation``. Errors in the user's input
become :class:`QgsProcessingException` messages that start with the name of
the parameter to fix; cancelling stops cleanly and leaves no output file.
"""
import os
import shutil
import tempfile
from functools import partial

from qgis.core import (
    QgsProcessingOutputNumber,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingUtils,
    QgsRasterLayer,
    QgsVectorLayer,
)

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
from .outputs import raster_destination
from .point_gridding import grid_points, gridding_parameters

METHODS = [
    ("matrix_completion", "Matrix completion (paper, Algorithm 1)"),
    ("delaunay", "Delaunay triangulation (linear)"),
]

HELP = """<p>Fills a sparse InSAR velocity map (mm/yr) onto a dense grid, as the first step of
deformation detection (Anantrasirichai et al., section III-A).</p>
<p><b>Input</b>: a point layer of persistent scatterers with a numeric velocity field in mm/yr
(GeoPackage, shapefile, CSV with coordinates...), gridded at <i>Pixel size</i> map units; or a
raster whose nodata or NaN cells mean "no measurement". Point layers in a geographic CRS need a
projected <i>Target CRS</i>; reproject rasters first with <i>Warp (reproject)</i>
(gdal:warpreproject).</p>
<p><b>Method</b>: the paper's modified matrix completion (Algorithm 1: 3 x 3 median spike
suppression, then iterated singular-value shrinkage with a non-convex p-norm and a Gaussian
low-pass in every iteration, as alpha decays), which fills gaps and removes spike noise together;
or plain linear interpolation on the Delaunay triangulation (the paper's DT baseline). Our matrix
completion starts from the nearest measurement rather than a triangulation: the same accuracy,
measured, and about 10 s less per 2500 x 2500 tile.</p>
<p><b>Output</b>: a float32 GeoTIFF on the input grid, NaN where no measurement lies within
<i>Maximum distance</i> pixels. The optional <i>Spike noise</i> output is the map
N = y - median3x3(y) of the measurements.</p>
<p>Advanced: <i>p</i> (paper: 0.8), <i>sigma</i> of the Gaussian low-pass in pixels (paper: 5),
the tolerance <i>tau</i> (paper: 1e-4) and the iteration cap K (paper: 200) of Algorithm 1; the
tile size in pixels (paper: 2500; large rasters are processed in overlapping, blended tiles).</p>
<p><b>Memory</b>: one tile at a time, so it follows the tile size, not the raster's (bench/memory.py,
qgis_process included: 0.35 GB at 1200 x 1200 pixels, 0.66 GB at 3600 x 3600).</p>""" + WHERE_HELP


class InterpolateAlgorithm(InsarAlgorithm):
    """Interpolate sparse velocities (points or sparse raster) to a dense velocity raster."""

    NAME = "interpolate"
    DISPLAY_NAME = "Interpolate sparse velocities"
    GROUP = "Data preparation"
    GROUP_ID = "datapreparation"
    HELP = HELP
    TAGS = ["insar", "velocity", "interpolation", "matrix completion", "delaunay",
            "persistent scatterers", "sparse", "gridding"]

    INPUT = "INPUT"
    FIELD = "FIELD"
    BAND = "BAND"
    METHOD = "METHOD"
    P = "P"
    SIGMA = "SIGMA"
    TAU = "TAU"
    MAX_ITERATIONS = "MAX_ITERATIONS"
    MAX_DISTANCE = "MAX_DISTANCE"
    TILE_SIZE = "TILE_SIZE"
    OUTPUT = "OUTPUT"
    NOISE = "NOISE"
    MEASURED_CELLS = "MEASURED_CELLS"

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        for parameter in velocity_input_parameters("Velocity points or sparse velocity raster"):
            self.addParameter(parameter)
        for parameter in gridding_parameters():
            self.addParameter(parameter)
        self.addParameter(QgsProcessingParameterEnum(
            self.METHOD, "Method", options=[label for _, label in METHODS], defaultValue=0))

        advanced = [
            QgsProcessingParameterNumber(self.P, "p (shrinkage exponent of Algorithm 1, in (0, 1])",
                                         type=QgsProcessingParameterNumber.Double, defaultValue=0.8,
                                         minValue=0.0, maxValue=1.0),
            QgsProcessingParameterNumber(self.SIGMA, "sigma (Gaussian low-pass in every iteration, pixels)",
                                         type=QgsProcessingParameterNumber.Double, defaultValue=5.0,
                                         minValue=0.0, maxValue=100.0),
            QgsProcessingParameterNumber(self.TAU, "tau (convergence threshold)",
                                         type=QgsProcessingParameterNumber.Double, defaultValue=1e-4,
                                         minValue=0.0, maxValue=1.0),
            QgsProcessingParameterNumber(self.MAX_ITERATIONS, "Maximum iterations K",
                                         type=QgsProcessingParameterNumber.Integer, defaultValue=200,
                                         minValue=1, maxValue=100000),
            QgsProcessingParameterNumber(self.MAX_DISTANCE,
                                         "Maximum distance from a measurement (pixels)",
                                         type=QgsProcessingParameterNumber.Double, defaultValue=20.0,
                                         minValue=0.0, maxValue=10000.0),
            QgsProcessingParameterNumber(self.TILE_SIZE, "Tile size (pixels)",
                                         type=QgsProcessingParameterNumber.Integer, defaultValue=2500,
                                         minValue=128, maxValue=20000),
        ]
        for parameter in advanced:
            parameter.setFlags(parameter.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
            self.addParameter(parameter)
        for parameter in cluster_parameters():
            self.addParameter(parameter)

        self.addParameter(QgsProcessingParameterRasterDestination(
            self.OUTPUT, "Interpolated velocity (mm/yr)"))
        self.addParameter(QgsProcessingParameterRasterDestination(
            self.NOISE, "Spike noise (mm/yr)", optional=True, createByDefault=False))
        self.addOutput(QgsProcessingOutputNumber(self.MEASURED_CELLS, "Measured cells"))

    # ----------------------------------------------------------------- running
    def compute(self, parameters, context, feedback):
        from ..core.distributed.chain import kept
        from ..core.distributed.interpolation_job import interpolate_tiled
        from ..core.interpolation.raster_interpolation import MatrixCompletionSettings, interpolate_raster

        layer = self.parameterAsLayer(parameters, self.INPUT, context)
        if layer is None:
            raise error(self.INPUT, "could not be loaded as a point layer or raster")
        output = raster_destination(self, parameters, self.OUTPUT, context)
        noise = raster_destination(self, parameters, self.NOISE, context) if is_set(parameters, self.NOISE) else None

        method_index = self.parameterAsEnum(parameters, self.METHOD, context)
        if not 0 <= method_index < len(METHODS):
            raise error(self.METHOD, f"must be 0..{len(METHODS) - 1}, got {method_index}")
        settings = MatrixCompletionSettings(
            p=self.parameterAsDouble(parameters, self.P, context),
            sigma=self.parameterAsDouble(parameters, self.SIGMA, context),
            tau=self.parameterAsDouble(parameters, self.TAU, context),
            max_iterations=self.parameterAsInt(parameters, self.MAX_ITERATIONS, context))
        options = dict(
            method=METHODS[method_index][0], settings=settings,
            max_distance=self.parameterAsDouble(parameters, self.MAX_DISTANCE, context),
            noise_path=noise, tile_size=self.parameterAsInt(parameters, self.TILE_SIZE, context),
            progress=progress_reporter(feedback), is_cancelled=feedback.isCanceled)
        where, run_folder = cluster_values(self, parameters, context)
        interpolate = interpolate_raster
        if run_folder or not where.in_process:
            feedback.pushInfo(f"One task per tile ({'in this process' if where.in_process else where.text})"
                              + (f", finished tiles kept in {run_folder}" if run_folder else ""))
            interpolate = partial(interpolate_tiled, run_folder=run_folder, where=where)

        scratch = None
        try:
            if isinstance(layer, QgsVectorLayer):
                scratch = tempfile.mkdtemp(prefix="insardefo-points-", dir=QgsProcessingUtils.tempFolder())
                sparse_path = os.path.join(scratch, "sparse.tif")
                grid_points(self, layer, parameters, context, feedback, sparse_path)
                if run_folder:  # the gridded points by content, so that a run again resumes
                    os.makedirs(run_folder, exist_ok=True)
                    sparse_path = kept(sparse_path, run_folder, "measurements.tif")
                summary = interpolate(sparse_path, output, band=1, **options)
            elif isinstance(layer, QgsRasterLayer):
                band = self.parameterAsInt(parameters, self.BAND, context) if is_set(parameters, self.BAND) else 1
                source = declared_nodata_raster(velocity_raster_path(layer, parameters),
                                                declared_nodata(self, parameters, context))
                summary = interpolate(source, output, band=band, **options)
            else:
                raise error(self.INPUT, "must be a point vector layer or a raster layer")
        finally:
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)

        feedback.pushInfo(f"{summary['measured_cells']} measured cells on a {summary['width']} x "
                          f"{summary['height']} grid, {summary['tiles']} tile(s), "
                          f"{summary['seconds']:.1f} s")
        from ..ui.layer_styles import style_velocity

        results = {self.OUTPUT: output, self.MEASURED_CELLS: summary["measured_cells"]}
        self.style_output(context, output, style_velocity)
        if noise:
            results[self.NOISE] = noise
            self.style_output(context, noise, style_velocity)
        return results
