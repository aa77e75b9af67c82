"""Processing algorithm ``insardefo:syntheticscene``: a large synthetic velocity map with known truth.

The Processing glue only: it reads the parameters, checks the CRS and the
output paths, and hands plain values to ``core.synthesis.synthetic_scene``, which
makes the scene and writes its files. Errors in the user's input become
:class:`QgsProcessingException` messages that start with the name of the
parameter to fix; cancelling stops cleanly and leaves no output file.
"""

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsCsException,
    QgsProcessing,
    QgsProcessingOutputNumber,
    QgsProcessingParameterCrs,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterMapLayer,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterVectorDestination,
    QgsRectangle,
    QgsUnitTypes,
)

from .algorithm_base import InsarAlgorithm
from .inputs import error, gdal_file, is_set, progress_reporter, raster_file_layer

SOURCE_SIZES = [("paper", "Section III-B (point sources 3-80 m deep)"),
                ("wide", "Wide point sources (50-300 m deep, volume change up to 1e5 m³/yr; the bundled model's)")]
PASSES = [("ascending", "Ascending (heading -12°, incidence 39°)"),
          ("descending", "Descending (heading 192°, incidence 39°)")]
GENERATION_SHARE = 0.45  # of the progress bar; writing takes the rest (2000 x 2000: about 5 s and 6 s)

HELP = """<p>Makes a large synthetic InSAR velocity map with a known truth: the data the demo, the
tests and the detection benchmarks use. It is built like the training examples of Anantrasirichai
et al., section III-B, but over a whole map: deformation sources of various sizes and rates placed
at random without overlapping, turbulent atmosphere, uneven persistent-scatterer sampling and spike
noise (section II-B). All velocities are line of sight (LOS) in mm/yr, positive towards the
satellite (uplift).</p>
<p><b>Width</b>, <b>Height</b> (pixels, 64 to 20000 each, at most 50 million in all; default 2000 x 2000)
and <b>Pixel size</b> (metres, default 10) give the grid; <b>CRS</b> (default EPSG:27700, British National Grid) must be
projected in metres, and <b>Origin X</b>, <b>Origin Y</b> (CRS units, default 400000, 400000: the
scene then covers the Yorkshire coalfield) are the upper-left corner of the scene. A warning says when the scene lies
outside the CRS's area of use. Memory: about 250 bytes per pixel (1 GB at 2000 x 2000), most of it
for the atmosphere, and more with pixels under about 5 m (the atmosphere is drawn over five
correlation lengths around the scene); a scene that would exceed the machine's memory is refused
before any work. The default scene takes 10-20 s.</p>
<p><b>Point sources</b>: how many coal-mining sources (Mogi point sources at 3-80 m depth, volume
change 2-1000 m³/yr); <b>Tunnels</b>: how many tunnelling troughs (sagging and hogging zones 30-80 m
wide, 1-10 and 1-5 mm/yr deep, varying along a straight or curved track). -1 (default) scales the
count with the area: one point source per 9 km² and one tunnel per 49 km² (44 and 8 at the default
size); 0 leaves that kind out. Each source's peak LOS rate is drawn from 2-15 mm/yr. A point source
is drawn on a 2.56 km window and a tunnel on a 5.12 km one (at most 1024 pixels), both faded out
over the window's outer eighth (a tunnel running out of its window fades like a tunnel face), and
placed at a random spot where it is at least 5 pixels from every other source; motion below 0.05
mm/yr is set to zero so that sources never overlap. When no free spot is left fewer sources are
placed, with a warning. <b>Point-source sizes</b>: the paper's (section III-B), or wider and
deeper ones (50-300 m deep, volume change 2-100,000 m³/yr), which stay visible after matrix
completion at 10 m pixels and are what the bundled model was trained on.</p>
<p><b>Pass</b>: the Sentinel-1 geometry over the UK the 3-D motion is projected onto.</p>
<p><b>Atmosphere</b>: a turbulent delay over the whole scene with the covariance a exp(-b d) of
section II-B, a = 0.7-1.8 mm²/yr² and b = 0.8-1.6 /km drawn at random.</p>
<p><b>Sampling</b>: persistent scatterers dense in towns (30-70 % of pixels), along roads and
railways (30-80 %), sparse in farmland (0.5-5 %) and absent from fields, woods and water; the
measured share varies from scene to scene (about 10 % on average, 4-18 % in most scenes).</p>
<p><b>Noise map</b> (optional raster, mm/yr): spike noise is drawn from its values, e.g. the
<i>Spike noise</i> output of <i>Interpolate sparse velocities</i> on a real map; without it the
spike noise is white Gaussian noise whose variance is the nugget (sill 1.5-2.9 minus a,
mm²/yr²).</p>
<p><b>Threshold</b> (advanced, mm/yr, default 1): a pixel belongs to its source's truth polygon
where |LOS deformation| exceeds it. <b>Random seed</b>: the same seed and parameters give the same
outputs; sources, atmosphere, sampling and noise each have their own stream, so changing the noise
map leaves the sources in place.</p>
<p><b>Outputs</b>: <i>Sparse velocities</i>, float32 GeoTIFF, NaN where unmeasured;
<i>Measurement points</i>, GeoPackage layer "measurements" with field "velocity" (mm/yr), one point
per measured pixel centre (the input <i>Interpolate sparse velocities</i> expects); <i>LOS
deformation</i>, the noise-free deformation raster; <i>Truth polygons</i>, GeoPackage layer "truth"
with one feature per source: source_id, type (point_source or tunnel), sense (subsidence or uplift),
peak_los_mm_yr (the signed LOS rate of largest magnitude), area_m2 (of the polygon), the point
sources' depth_m, volume_m3 (volume change, m³/yr, negative when deflating) and centre_x, centre_y
(CRS units), and the tunnels' path, bend, faces_inside, knots and the range of their trough
parameters along the track (l_sag_m, l_hog_m, d_sag_mm_yr, d_hog_mm_yr, each _min and _max); a
source that never exceeds the threshold has no geometry. Optional <i>Noise-free velocity</i>:
deformation plus atmosphere, the truth to score interpolation against. The numbers <i>Sources</i>
and <i>Measurements</i> count what was made.</p>"""


class SyntheticSceneAlgorithm(InsarAlgorithm):
    """A large georeferenced synthetic velocity map with known deformation sources."""

    NAME = "syntheticscene"
    DISPLAY_NAME = "Synthetic velocity scene"
    GROUP = "Data preparation"
    GROUP_ID = "datapreparation"
    HELP = HELP
    TAGS = ["insar", "velocity", "synthetic", "simulation", "truth", "benchmark", "mogi", "tunnel",
            "subsidence", "atmosphere", "persistent scatterers", "test data"]

    WIDTH = "WIDTH"
    HEIGHT = "HEIGHT"
    PIXEL_SIZE = "PIXEL_SIZE"
    CRS = "CRS"
    ORIGIN_X = "ORIGIN_X"
    ORIGIN_Y = "ORIGIN_Y"
    POINT_SOURCES = "POINT_SOURCES"
    TUNNELS = "TUNNELS"
    PASS = "PASS"
    SOURCE_SIZES = "SOURCE_SIZES"
    NOISE_MAP = "NOISE_MAP"
    THRESHOLD = "THRESHOLD"
    SEED = "SEED"
    OUTPUT_SPARSE = "OUTPUT_SPARSE"
    OUTPUT_POINTS = "OUTPUT_POINTS"
    OUTPUT_DEFORMATION = "OUTPUT_DEFORMATION"
    OUTPUT_TRUTH = "OUTPUT_TRUTH"
    OUTPUT_NOISE_FREE = "OUTPUT_NOISE_FREE"
    SOURCES = "SOURCES"
    MEASUREMENTS = "MEASUREMENTS"
    # output parameter -> (name in core.synthesis.synthetic_scene.OUTPUTS, file extension)
    DESTINATIONS = {OUTPUT_SPARSE: ("sparse", ".tif"), OUTPUT_POINTS: ("points", ".gpkg"),
                    OUTPUT_DEFORMATION: ("deformation", ".tif"), OUTPUT_TRUTH: ("truth", ".gpkg"),
                    OUTPUT_NOISE_FREE: ("noise_free", ".tif")}

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        integer, double = QgsProcessingParameterNumber.Integer, QgsProcessingParameterNumber.Double
        # No minValue/maxValue: core.synthesis.synthetic_scene checks the ranges with messages naming the parameter.
        for name, label, kind, default in (
                (self.WIDTH, "Width (pixels)", integer, 2000),
                (self.HEIGHT, "Height (pixels)", integer, 2000),
                (self.PIXEL_SIZE, "Pixel size (metres)", double, 10.0)):
            self.addParameter(QgsProcessingParameterNumber(name, label, type=kind, defaultValue=default))
        # Optional so that its default applies when left out: QGIS 3.22 refuses a missing mandatory CRS.
        self.addParameter(QgsProcessingParameterCrs(
            self.CRS, "CRS (projected, metres)", defaultValue="EPSG:27700", optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.ORIGIN_X, "Origin X: west edge (CRS units)", type=double, defaultValue=400000.0))
        self.addParameter(QgsProcessingParameterNumber(
            self.ORIGIN_Y, "Origin Y: north edge (CRS units)", type=double, defaultValue=400000.0))
        self.addParameter(QgsProcessingParameterNumber(
            self.POINT_SOURCES, "Point sources (-1: one per 9 km²)", type=integer, defaultValue=-1))
        self.addParameter(QgsProcessingParameterNumber(
            self.TUNNELS, "Tunnels (-1: one per 49 km²)", type=integer, defaultValue=-1))
        self.addParameter(QgsProcessingParameterEnum(
            self.SOURCE_SIZES, "Point-source sizes", options=[label for _, label in SOURCE_SIZES], defaultValue=0))
        self.addParameter(QgsProcessingParameterEnum(
            self.PASS, "Pass", options=[label for _, label in PASSES], defaultValue=0))
        self.addParameter(QgsProcessingParameterNumber(self.SEED, "Random seed", type=integer, defaultValue=0))
        # A map layer rather than a raster layer parameter, which processing.run pre-loads with its own
        # error message; checkParameterValues leaves it to _noise_map, whose message names NOISE_MAP.
        self.addParameter(QgsProcessingParameterMapLayer(
            self.NOISE_MAP, "Noise map to draw spike noise from (mm/yr; default: white noise of the nugget)",
            types=[QgsProcessing.TypeRaster], optional=True))
        threshold = QgsProcessingParameterNumber(
            self.THRESHOLD, "Truth threshold: |LOS deformation| above (mm/yr)", type=double, defaultValue=1.0)
        threshold.setFlags(threshold.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
        self.addParameter(threshold)

        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT_SPARSE, "Sparse velocities (mm/yr)"))
        self.addParameter(QgsProcessingParameterVectorDestination(
            self.OUTPUT_POINTS, "Measurement points", type=QgsProcessing.TypeVectorPoint))
        self.addParameter(QgsProcessingParameterRasterDestination(
            self.OUTPUT_DEFORMATION, "LOS deformation (mm/yr)"))
        self.addParameter(QgsProcessingParameterVectorDestination(
            self.OUTPUT_TRUTH, "Truth polygons", type=QgsProcessing.TypeVectorPolygon))
        self.addParameter(QgsProcessingParameterRasterDestination(
            self.OUTPUT_NOISE_FREE, "Noise-free velocity: deformation + atmosphere (mm/yr)", optional=True,
            createByDefault=False))
        self.addOutput(QgsProcessingOutputNumber(self.SOURCES, "Sources"))
        self.addOutput(QgsProcessingOutputNumber(self.MEASUREMENTS, "Measurements"))

    # ----------------------------------------------------------------- running
    def checkParameterValues(self, parameters, context):  # noqa: N802 (QGIS API)
        """QGIS's checks of every parameter but NOISE_MAP, which _noise_map checks."""
        others = {name: value for name, value in parameters.items() if name != self.NOISE_MAP}
        return super().checkParameterValues(others, context)

    def compute(self, parameters, context, feedback):
        from ..core.common.grid import GridSpec
        from ..core.synthesis.deformation_sources import WIDE_POINT_SOURCES, SourceRanges
        from ..core.synthesis.line_of_sight import ASCENDING, DESCENDING
        from ..core.synthesis.synthetic_scene import make_scene, write_scene_outputs

        crs = self._projected_crs(parameters, context)
        grid = GridSpec(x_min=self.parameterAsDouble(parameters, self.ORIGIN_X, context),
                        y_max=self.parameterAsDouble(parameters, self.ORIGIN_Y, context),
                        pixel_size=self.parameterAsDouble(parameters, self.PIXEL_SIZE, context),
                        width=self.parameterAsInt(parameters, self.WIDTH, context),
                        height=self.parameterAsInt(parameters, self.HEIGHT, context))
        pass_index = self.parameterAsEnum(parameters, self.PASS, context)
        if not 0 <= pass_index < len(PASSES):
            raise error(self.PASS, f"must be 0..{len(PASSES) - 1}, got {pass_index}")
        sizes_index = self.parameterAsEnum(parameters, self.SOURCE_SIZES, context)
        if not 0 <= sizes_index < len(SOURCE_SIZES):
            raise error(self.SOURCE_SIZES, f"must be 0..{len(SOURCE_SIZES) - 1}, got {sizes_index}")
        paths = self._destinations(parameters, context)
        noise_map = self._noise_map(parameters, context)

        scene = make_scene(
            grid, seed=self.parameterAsInt(parameters, self.SEED, context),
            point_sources=self.parameterAsInt(parameters, self.POINT_SOURCES, context),
            tunnels=self.parameterAsInt(parameters, self.TUNNELS, context),
            geometry=(ASCENDING, DESCENDING)[pass_index], noise_map=noise_map,
            threshold=self.parameterAsDouble(parameters, self.THRESHOLD, context),
            ranges=(SourceRanges(), WIDE_POINT_SOURCES)[sizes_index],
            progress=progress_reporter(feedback, 0.0, GENERATION_SHARE), is_cancelled=feedback.isCanceled)
        self._warn_outside_area(crs, grid, context, feedback)
        self._report(scene, feedback)
        write_scene_outputs(scene, paths, crs.toWkt(QgsCoordinateReferenceSystem.WKT_PREFERRED_GDAL),
                            progress=progress_reporter(feedback, GENERATION_SHARE, 1.0),
                            is_cancelled=feedback.isCanceled)

        results = {parameter: paths[name] for parameter, (name, _) in self.DESTINATIONS.items() if paths[name]}
        results.update({self.SOURCES: len(scene.sources), self.MEASUREMENTS: scene.details["measurements"]})
        self._style_outputs(context, results)
        return results

    def _style_outputs(self, context, results):
        from ..ui.layer_styles import style_truth, style_velocity, style_velocity_points

        styles = {self.OUTPUT_SPARSE: style_velocity, self.OUTPUT_DEFORMATION: style_velocity,
                  self.OUTPUT_NOISE_FREE: style_velocity, self.OUTPUT_POINTS: style_velocity_points,
                  self.OUTPUT_TRUTH: style_truth}
        for name, style in styles.items():
            self.style_output(context, results.get(name), style)

    def _projected_crs(self, parameters, context):
        """The CRS parameter, checked to be valid, projected and in metres."""
        crs = self.parameterAsCrs(parameters, self.CRS, context)
        if not crs.isValid():
            raise error(self.CRS, "is not a valid CRS")
        name = crs.authid() or crs.description()
        if crs.isGeographic():
            raise error(self.CRS, f"{name} is geographic (degrees); choose a projected CRS in metres, "
                                  "e.g. EPSG:27700 (British National Grid)")
        if crs.mapUnits() != QgsUnitTypes.DistanceMeters:
            raise error(self.CRS, f"{name} is in {QgsUnitTypes.toString(crs.mapUnits())}; choose a CRS in metres")
        return crs

    def _destinations(self, parameters, context):
        """{core output name: path or None}, each with its file type."""
        paths = {}
        for parameter, (name, extension) in self.DESTINATIONS.items():
            path = self.parameterAsOutputLayer(parameters, parameter, context) if is_set(parameters, parameter) else ""
            if not path and parameter != self.OUTPUT_NOISE_FREE:
                raise error(parameter, "needs a file path")
            if path and not path.lower().endswith(extension):
                raise error(parameter, f"must be a {extension} file, got {path}")
            paths[name] = path or None
        return paths

    def _noise_map(self, parameters, context):
        """Path of the NOISE_MAP raster, or None when not given."""
        from ..core.common.value_checks import check_raster_values

        if not is_set(parameters, self.NOISE_MAP):
            return None
        path = gdal_file(raster_file_layer(self, parameters, self.NOISE_MAP, context), self.NOISE_MAP)
        check_raster_values(path, 1, self.NOISE_MAP)
        return path

    def _warn_outside_area(self, crs, grid, context, feedback):
        """Warn when the scene's corners leave the CRS's area of use (coordinates there are distorted)."""
        area = crs.bounds()
        if area.isEmpty():
            return
        extent = QgsRectangle(grid.x_min, grid.y_max - grid.height * grid.pixel_size,
                              grid.x_min + grid.width * grid.pixel_size, grid.y_max)
        transform = QgsCoordinateTransform(crs, QgsCoordinateReferenceSystem("EPSG:4326"), context.transformContext())
        try:
            inside = area.contains(transform.transformBoundingBox(extent))
        except QgsCsException:
            inside = False
        if not inside:
            feedback.pushWarning(f"{self.ORIGIN_X}, {self.ORIGIN_Y}: the scene lies outside the area of use of "
                                 f"{crs.authid() or crs.description()}")

    def _report(self, scene, feedback):
        """Log what was made, and warn when fewer sources fitted than were asked for."""
        details = scene.details
        for kind, parameter in (("point_source", self.POINT_SOURCES), ("tunnel", self.TUNNELS)):
            if details["placed"][kind] < details["requested"][kind]:
                feedback.pushWarning(f"{parameter}: only {details['placed'][kind]} of {details['requested'][kind]} "
                                     f"found a free spot; ask for fewer or a larger scene")
        feedback.pushInfo(f"{details['placed']['point_source']} point sources and {details['placed']['tunnel']} "
                          f"tunnels; atmosphere a = {details['atmosphere_a_mm2_yr2']:.2f} mm²/yr², "
                          f"b = {details['atmosphere_b_per_km']:.2f} /km; spike noise: {details['noise']}; "
                          f"{100 * details['measured_fraction']:.1f} % of pixels measured")
