"""Processing algorithm ``insardefo:noisestats``: variogram, covariance and equation 1 of a velocity map.

The Processing glue only: it reads the QGIS inputs (a point layer or a
velocity raster), checks them, and hands plain arrays or a raster path to
``core.synthesis.noise_statistics``. Errors in the user's input become
:class:`QgsProcessingException` messages that start with the name of the
parameter to fix; cancelling stops cleanly and leaves no output file.
"""

from qgis.core import (
    QgsProcessingOutputNumber,
    QgsProcessingParameterCrs,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
    QgsRasterLayer,
    QgsUnitTypes,
    QgsVectorLayer,
)

from ..core.common.dependencies import require
from ..core.common.errors import Cancelled
from .algorithm_base import InsarAlgorithm
from .inputs import (
    declared_nodata,
    declared_nodata_raster,
    error,
    is_set,
    progress_reporter,
    read_points,
    velocity_field_index,
    velocity_input_parameters,
    velocity_raster_path,
    working_crs,
)

HELP = """<p>Measures the spatial noise of an InSAR velocity map as in Anantrasirichai et al., section
II-B and Fig. 1: the empirical semivariogram &gamma;(d) = mean (z<sub>i</sub> &minus;
z<sub>j</sub>)&sup2;/2 and covariance C(d) = mean (z<sub>i</sub> &minus; m)(z<sub>j</sub> &minus; m)
of the velocities z over pairs of points d km apart (m: the mean velocity), and the fit of the
paper's equation 1: C(d) = a exp(&minus;b d) for d &gt; 0, C(0) = sill, with a = sill &minus; nugget.
On UK SatSense data the paper found a = 0.7&ndash;1.8 mm&sup2;/yr&sup2;, b = 0.8&ndash;1.6 /km and
sill = 1.5&ndash;2.9 mm&sup2;/yr&sup2; its Fig. 1 (Easton) levels off at a sill of 2.3
mm&sup2;/yr&sup2; beyond about 2 km. <i>Synthesize</i> reads a, b and the nugget from the JSON output
to make realistic training noise.</p>
<p><b>Input</b>: a point layer of persistent scatterers with a numeric velocity field in mm/yr, or a
velocity raster (mm/yr; nodata or NaN cells mean "no measurement"; any size: it is read in row
blocks). At least 30 measurements with differing values are needed. Distances are measured in the
CRS's units converted to metres, so point layers in a geographic CRS need a projected <i>Target
CRS</i>; reproject geographic rasters first with <i>Warp (reproject)</i> (gdal:warpreproject).</p>
<p><b>Maximum distance</b> (km, default 5; the paper's Fig. 1 spans 6 km): pairs farther apart are
ignored; it is split into <i>Number of distance bins</i> equal bins (default 30).</p>
<p>Advanced: <i>Sample size</i> (default 4000): the statistics use a uniform random subsample of at
most this many measurements, drawn over the whole input, so the run takes about a second whatever
the input's size (plus reading it); the work grows with the square of the sample size. Over a large
area few sampled points lie within the maximum distance of each other: clip the input to a study
area a few tens of km across, or raise the sample size. <i>Random seed</i> (default 0): the same
seed gives the same subsample and the same results.</p>
<p><b>Outputs</b>: the nugget, sill and a (mm&sup2;/yr&sup2;), b (1/km), the number of sampled points
and of pairs; a JSON file with these and the binned semivariance and covariance; optionally a PNG
figure like the paper's Fig. 1: (a) the semivariogram with the fitted model &gamma;(d) = sill
&minus; a exp(&minus;b d), the nugget and the sill, (b) the covariance with the fitted exponential.
The figure needs matplotlib in QGIS's Python.</p>
<p>The fit stops with an error, naming the input, when the noise shows no spatial correlation at the
sampled separations (white noise: all nugget), when all values are equal or when too few
measurements are given.</p>
<p><b>Memory</b>: a raster is streamed while <i>Sample size</i> measurements are drawn, so memory
follows the sample, not the map (bench/memory.py, qgis_process included: 0.3-0.4 GB at 1200 x 1200
and 3600 x 3600 pixels with 20,000 points).</p>"""


class NoiseStatsAlgorithm(InsarAlgorithm):
    """Semivariogram, covariance and the exponential covariance model of a velocity map."""

    NAME = "noisestats"
    DISPLAY_NAME = "Noise statistics (variogram and covariance)"
    GROUP = "Data preparation"
    GROUP_ID = "datapreparation"
    HELP = HELP
    TAGS = ["insar", "velocity", "noise", "variogram", "semivariogram", "covariance", "covariogram",
            "nugget", "sill", "atmosphere", "persistent scatterers"]

    INPUT = "INPUT"
    FIELD = "FIELD"
    BAND = "BAND"
    TARGET_CRS = "TARGET_CRS"
    MAX_DISTANCE_KM = "MAX_DISTANCE_KM"
    BINS = "BINS"
    SAMPLE_SIZE = "SAMPLE_SIZE"
    SEED = "SEED"
    OUTPUT_JSON = "OUTPUT_JSON"
    OUTPUT_PLOT = "OUTPUT_PLOT"
    NUGGET = "NUGGET"
    SILL = "SILL"
    A = "A"
    B = "B"
    PAIRS = "PAIRS"

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        for parameter in velocity_input_parameters("Velocity points or velocity raster"):
            self.addParameter(parameter)
        self.addParameter(QgsProcessingParameterCrs(
            self.TARGET_CRS, "Target CRS (projected; point input)", optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.MAX_DISTANCE_KM, "Maximum distance (km)", type=QgsProcessingParameterNumber.Double,
            defaultValue=5.0))
        self.addParameter(QgsProcessingParameterNumber(
            self.BINS, "Number of distance bins", type=QgsProcessingParameterNumber.Integer,
            defaultValue=30, minValue=3, maxValue=10000))

        advanced = [
            QgsProcessingParameterNumber(self.SAMPLE_SIZE, "Sample size (points)",
                                         type=QgsProcessingParameterNumber.Integer, defaultValue=4000,
                                         minValue=30, maxValue=100000),
            QgsProcessingParameterNumber(self.SEED, "Random seed", type=QgsProcessingParameterNumber.Integer,
                                         defaultValue=0, minValue=0),
        ]
        for parameter in advanced:
            parameter.setFlags(parameter.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
            self.addParameter(parameter)

        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT_JSON, "Noise statistics (JSON)", fileFilter="JSON files (*.json)"))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT_PLOT, "Variogram and covariance plot (PNG)", fileFilter="PNG images (*.png)",
            optional=True, createByDefault=False))
        for name, description in ((self.NUGGET, "Nugget (mm²/yr²)"), (self.SILL, "Sill (mm²/yr²)"),
                                  (self.A, "a (mm²/yr²)"), (self.B, "b (1/km)"),
                                  (self.SAMPLE_SIZE, "Sampled points"), (self.PAIRS, "Pairs")):
            self.addOutput(QgsProcessingOutputNumber(name, description))

    # ----------------------------------------------------------------- running
    def compute(self, parameters, context, feedback):
        from ..core.synthesis.noise_statistics import estimate, estimate_from_raster, write_outputs

        layer = self.parameterAsLayer(parameters, self.INPUT, context)
        if layer is None:
            raise error(self.INPUT, "could not be loaded as a point layer or raster")
        json_path = self._destination(parameters, self.OUTPUT_JSON, ".json", context)
        plot_path = (self._destination(parameters, self.OUTPUT_PLOT, ".png", context)
                     if is_set(parameters, self.OUTPUT_PLOT) else None)
        settings = dict(
            max_distance_km=self.parameterAsDouble(parameters, self.MAX_DISTANCE_KM, context),
            bins=self.parameterAsInt(parameters, self.BINS, context),
            sample_size=self.parameterAsInt(parameters, self.SAMPLE_SIZE, context),
            seed=self.parameterAsInt(parameters, self.SEED, context),
            progress=progress_reporter(feedback), is_cancelled=feedback.isCanceled)

        if plot_path:
            require("matplotlib")
        if isinstance(layer, QgsVectorLayer):
            x, y, v = self._read_points(layer, parameters, context, feedback)
            statistics = estimate(x, y, v, source=layer.source(), **settings)
        elif isinstance(layer, QgsRasterLayer):
            band = self.parameterAsInt(parameters, self.BAND, context) if is_set(parameters, self.BAND) else 1
            source = declared_nodata_raster(velocity_raster_path(layer, parameters),
                                            declared_nodata(self, parameters, context))
            statistics = estimate_from_raster(source, band, **settings)
        else:
            raise error(self.INPUT, "must be a point vector layer or a raster layer")
        if feedback.isCanceled():
            raise Cancelled()
        write_outputs(statistics, json_path, plot_path)

        feedback.pushInfo(f"{statistics.sample_size} of {statistics.measurements} measurements sampled, "
                          f"{statistics.pairs} pairs within {statistics.max_distance_km:g} km: "
                          f"nugget {statistics.nugget:.3g}, sill {statistics.sill:.3g}, "
                          f"a {statistics.a:.3g} mm^2/yr^2, b {statistics.b:.3g} /km")
        results = {self.OUTPUT_JSON: json_path, self.NUGGET: statistics.nugget, self.SILL: statistics.sill,
                   self.A: statistics.a, self.B: statistics.b, self.SAMPLE_SIZE: statistics.sample_size,
                   self.PAIRS: statistics.pairs}
        if plot_path:
            results[self.OUTPUT_PLOT] = plot_path
        return results

    def _destination(self, parameters, name, extension, context):
        """The output file path, with the right extension."""
        path = self.parameterAsFileOutput(parameters, name, context)
        if not path:
            raise error(name, "needs a file path")
        if not path.lower().endswith(extension):
            raise error(name, f"must be a {extension} file, got {path}")
        return path

    def _read_points(self, layer, parameters, context, feedback):
        """Point coordinates in metres of a projected working CRS and velocities (mm/yr), 1-D arrays."""
        target = (self.parameterAsCrs(parameters, self.TARGET_CRS, context)
                  if is_set(parameters, self.TARGET_CRS) else None)
        crs = working_crs(layer, target, self.INPUT, self.TARGET_CRS)
        if crs.mapUnits() == QgsUnitTypes.DistanceUnknownUnit:
            raise error(self.TARGET_CRS if target else self.INPUT,
                        f"{crs.authid() or crs.description()} has unknown distance units; choose a CRS in metres")
        to_metres = QgsUnitTypes.fromUnitToUnitFactor(crs.mapUnits(), QgsUnitTypes.DistanceMeters)
        field_name = self.parameterAsString(parameters, self.FIELD, context)
        index = velocity_field_index(layer, field_name, self.INPUT, self.FIELD)
        x, y, v = read_points(layer, index, crs, context, feedback, self.INPUT, self.FIELD,
                              declared_nodata(self, parameters, context), "NODATA")
        feedback.pushInfo(f"{len(v)} measurements in {crs.authid() or crs.description()}")
        return x * to_metres, y * to_metres, v
