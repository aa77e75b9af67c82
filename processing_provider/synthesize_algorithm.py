"""Processing algorithm ``insardefo:synthesize``: a synthetic training dataset on disk.

The Processing glue only: it reads the parameters and optional layers (noise
statistics, a noise map, a real layer whose measurement pattern is reused),
builds a ``core.synthesis.training_examples.SynthesisConfig`` and runs ``generate_dataset``.
"""
import os
import shutil
import tempfile

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsProcessing,
    QgsProcessingOutputNumber,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterMapLayer,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRange,
    QgsProcessingParameterRasterLayer,
    QgsProcessingUtils,
    QgsRasterLayer,
    QgsVectorLayer,
)

from ..core.common.errors import InputError
from .algorithm_base import InsarAlgorithm
from .inputs import (
    check_point_layer,
    error,
    is_set,
    progress_reporter,
    raster_file_layer,
    raster_path,
    read_points,
    working_crs,
)

KINDS = [("point", "Point sources (coal mining subsidence and uplift)"),
         ("line", "Tunnels (settlement troughs along tunnel paths)"),
         ("both", "Both: a three-class set (none, point source, tunnel)")]
INTERPOLATIONS = [("matrix_completion", "Matrix completion (paper, Algorithm 1)"),
                  ("delaunay", "Delaunay triangulation (linear)"),
                  ("none", "None: sparse patches, NaN where unmeasured")]
PASSES = [("ascending", "Ascending"), ("descending", "Descending")]
RANGES = [  # (parameter, label, SourceRanges / AtmosphereRanges field)
    ("DEPTH_RANGE", "Point source depth (m)", "depth_m"),
    ("VOLUME_RANGE", "Point source volume change (m³/yr)", "volume_m3"),
    ("LOS_RANGE", "Peak line-of-sight velocity of every source (mm/yr)", "los_mm_yr"),
    ("L_SAG_RANGE", "Tunnel sagging zone width l_sag (m)", "l_sag_m"),
    ("L_HOG_RANGE", "Tunnel hogging zone width l_hog (m)", "l_hog_m"),
    ("D_SAG_RANGE", "Tunnel sagging zone depth d_sag (mm/yr)", "d_sag_mm"),
    ("D_HOG_RANGE", "Tunnel hogging zone depth d_hog (mm/yr)", "d_hog_mm"),
]
ATMOSPHERE_RANGES = [
    ("A_RANGE", "Atmosphere covariance a (mm²/yr²)", "a"),
    ("B_RANGE", "Atmosphere decay b (1/km)", "b"),
    ("SILL_RANGE", "Sill (mm²/yr²); nugget = sill - a", "sill"),
]

HELP = """<p>Writes a folder of synthetic training examples for the deformation detector, made the
way the paper makes them (Anantrasirichai et al., section III-B): deformation D plus turbulent
atmosphere T, sub-sampled like persistent scatterers, corrupted by spike noise and interpolated.
Positives hold one source, negatives atmosphere only.</p>
<p><b>Kind</b>: point sources (a Mogi source, depth 3-80 m, volume change 10^0.3-10^3 m³/yr,
Poisson's ratio 0.25, subsidence or uplift), tunnels (a settlement trough with sagging and hogging
zones, l_sag and l_hog 30-80 m, d_sag 1-10 mm/yr, d_hog 1-5 mm/yr, varying along straight or
curved paths), or both as a three-class set. The full 3-D motion is projected onto a Sentinel-1
line of sight (ascending, descending or both at random; 39° incidence). Every source's peak
|LOS velocity| lies in <i>Peak line-of-sight velocity</i> (default 2-15 mm/yr: the paper's 0-15,
without the peaks the atmosphere hides); point sources too small to cover 3 x 3 pixels are
drawn again.</p>
<p><b>Atmosphere</b>: a Gaussian field with covariance a·exp(-b·d) (section II-B; UK data:
a 0.7-1.8 mm²/yr², b 0.8-1.6 /km, sill 1.5-2.9 mm²/yr²), drawn exactly by circulant embedding.
<i>Noise statistics</i> (a JSON file from insardefo:noisestats) replaces these ranges by the
values measured on your map.</p>
<p><b>Sampling</b>: each patch keeps only the pixels a real map would measure. With a
<i>Measurement pattern source</i> (a real velocity point layer or raster) the patterns are random
windows of it; otherwise a built-in generator draws towns (dense), roads and railways (dense
lines), farmland (sparse) and land with no scatterers. <b>Spike noise</b> is drawn from a
<i>Noise map</i> (insardefo:interpolate's spike-noise output) when given, else it is white noise
with the nugget's variance.</p>
<p><b>Interpolation</b>: matrix completion, Delaunay, or none (the three datasets of the paper's
Table I).</p>
<p><b>Output</b>: a folder with the unwrapped float32 patches (mm/yr) in shards of 512
(patches_*.npy), for interpolated sets what each patch was interpolated from (measurement_maps_*.npy:
mean measurement and measured share per pixel, float16), labels.npy, examples.csv (every
example's parameters: kind, depth, volume, peak LOS velocity, trough sizes, atmosphere, sampling
density...) and manifest.json. Wrapping happens at training time, so one dataset serves every wrap
interval. The same <i>Seed</i> gives the same
dataset bit for bit. All cores are used; with matrix completion expect about 3 examples per second
per core at 224 x 224 pixels (the paper's 10,000 per class, three classes: under 1.5 hours on
2 cores).</p>
<p><b>Memory</b>: each worker holds one example at a time, about 60 MB at 224 x 224 pixels of 10 m
(the atmosphere is drawn over five correlation lengths around the patch, so smaller pixels need
more); settings that would exceed the machine's memory are refused before any work, naming
<i>Pixel size</i>.</p>"""


def _range_parameter(name, label, default):
    """An advanced min,max parameter; optional because QGIS 3.22 refuses a missing range even
    when it has a default (the default is used)."""
    parameter = QgsProcessingParameterRange(name, label, type=QgsProcessingParameterNumber.Double,
                                            defaultValue=f"{default[0]!r},{default[1]!r}", optional=True)
    parameter.setFlags(parameter.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
    return parameter


class SynthesizeAlgorithm(InsarAlgorithm):
    """Generate a synthetic training dataset (section III-B)."""

    NAME = "synthesize"
    DISPLAY_NAME = "Synthesize training data"
    GROUP = "Training"
    GROUP_ID = "training"
    HELP = HELP
    TAGS = ["insar", "synthetic", "training", "dataset", "mogi", "tunnel", "atmosphere", "deep learning"]

    KIND = "KIND"
    COUNT = "COUNT"
    PATCH_SIZE = "PATCH_SIZE"
    PIXEL_SIZE = "PIXEL_SIZE"
    INTERPOLATION = "INTERPOLATION"
    PASSES = "PASSES"
    SEED = "SEED"
    NOISE_STATS = "NOISE_STATS"
    NOISE_MAP = "NOISE_MAP"
    MASK_SOURCE = "MASK_SOURCE"
    WORKERS = "WORKERS"
    OUTPUT = "OUTPUT"
    EXAMPLES = "EXAMPLES"

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        from ..core.synthesis.atmosphere import DEFAULT_A_RANGE, DEFAULT_B_RANGE
        from ..core.synthesis.deformation_sources import SourceRanges
        from ..core.synthesis.training_examples import DEFAULT_SILL_RANGE

        self.addParameter(QgsProcessingParameterEnum(
            self.KIND, "Kind of deformation", options=[label for _, label in KINDS], defaultValue=2))
        self.addParameter(QgsProcessingParameterNumber(
            self.COUNT, "Examples per class (paper: 10,000)", type=QgsProcessingParameterNumber.Integer,
            defaultValue=10000, minValue=1))
        self.addParameter(QgsProcessingParameterNumber(
            self.PATCH_SIZE, "Patch size (pixels)", type=QgsProcessingParameterNumber.Integer,
            defaultValue=224, minValue=16, maxValue=2048))
        self.addParameter(QgsProcessingParameterNumber(
            self.PIXEL_SIZE, "Pixel size (metres; SatSense products: 5 or 10)",
            type=QgsProcessingParameterNumber.Double, defaultValue=10.0, minValue=0.0))
        self.addParameter(QgsProcessingParameterEnum(
            self.INTERPOLATION, "Interpolation", options=[label for _, label in INTERPOLATIONS], defaultValue=0))
        self.addParameter(QgsProcessingParameterEnum(
            self.PASSES, "Satellite passes", options=[label for _, label in PASSES], allowMultiple=True,
            defaultValue=[0, 1]))
        self.addParameter(QgsProcessingParameterNumber(
            self.SEED, "Seed", type=QgsProcessingParameterNumber.Integer, defaultValue=0, minValue=0))
        self.addParameter(QgsProcessingParameterFile(
            self.NOISE_STATS, "Noise statistics (JSON from insardefo:noisestats)", extension="json",
            optional=True))
        self.addParameter(QgsProcessingParameterRasterLayer(
            self.NOISE_MAP, "Noise map (spike noise from insardefo:interpolate, mm/yr)", optional=True))
        self.addParameter(QgsProcessingParameterMapLayer(
            self.MASK_SOURCE, "Measurement pattern source (real velocity points or raster)",
            types=[QgsProcessing.TypeVectorPoint, QgsProcessing.TypeRaster], optional=True))
        sources = SourceRanges()
        for name, label, field in RANGES:
            self.addParameter(_range_parameter(name, label, getattr(sources, field)))
        defaults = {"a": DEFAULT_A_RANGE, "b": DEFAULT_B_RANGE, "sill": DEFAULT_SILL_RANGE}
        for name, label, field in ATMOSPHERE_RANGES:
            self.addParameter(_range_parameter(name, label, defaults[field]))
        workers = QgsProcessingParameterNumber(
            self.WORKERS, "Worker processes (0: every core)", type=QgsProcessingParameterNumber.Integer,
            defaultValue=0, minValue=0, maxValue=256)
        workers.setFlags(workers.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
        self.addParameter(workers)
        self.addParameter(QgsProcessingParameterFolderDestination(self.OUTPUT, "Dataset folder"))
        self.addOutput(QgsProcessingOutputNumber(self.EXAMPLES, "Examples written"))

    def checkParameterValues(self, parameters, context):  # noqa: N802 (QGIS API)
        """QGIS's checks of every parameter but NOISE_MAP, which _noise says more about."""
        others = {name: value for name, value in parameters.items() if name != self.NOISE_MAP}
        return super().checkParameterValues(others, context)

    def compute(self, parameters, context, feedback):
        from ..core.synthesis.training_examples import generate_dataset

        output = self.parameterAsString(parameters, self.OUTPUT, context)
        scratch = tempfile.mkdtemp(prefix="insardefo-synthesize-", dir=QgsProcessingUtils.tempFolder())
        try:
            config = self._config(parameters, context, feedback, scratch)
            feedback.pushInfo(f"{config.total} examples of {config.patch_size} x {config.patch_size} pixels "
                              f"({', '.join(config.classes)}), {config.interpolation} interpolation")
            summary = generate_dataset(
                config, output, self.parameterAsInt(parameters, self.WORKERS, context),
                progress=progress_reporter(feedback), is_cancelled=feedback.isCanceled)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        feedback.pushInfo(f"{summary['count']} examples in {summary['seconds']:.1f} s on {summary['workers']} "
                          f"process(es): {summary['examples_per_second']:.2f} examples/s")
        return {self.OUTPUT: output, self.EXAMPLES: summary["count"]}

    def _config(self, parameters, context, feedback, scratch):
        """The SynthesisConfig the parameters describe (layers read and checked)."""
        from ..core.synthesis.deformation_sources import SourceRanges
        from ..core.synthesis.training_examples import AtmosphereRanges, SynthesisConfig

        pixel_size = self.parameterAsDouble(parameters, self.PIXEL_SIZE, context)
        passes = self.parameterAsEnums(parameters, self.PASSES, context)
        if not passes:
            raise error(self.PASSES, "choose at least one pass (ascending, descending)")
        kind = self._enum(parameters, context, self.KIND, KINDS)
        interpolation = self._enum(parameters, context, self.INTERPOLATION, INTERPOLATIONS)
        sources = SourceRanges(**{field: self._range(parameters, context, name) for name, _, field in RANGES})
        atmosphere = AtmosphereRanges(**{field: self._range(parameters, context, name)
                                         for name, _, field in ATMOSPHERE_RANGES})
        if is_set(parameters, self.NOISE_STATS):
            atmosphere = self._measured_atmosphere(parameters, context, feedback)
        return SynthesisConfig(
            kind=kind, count_per_class=self.parameterAsInt(parameters, self.COUNT, context),
            patch_size=self.parameterAsInt(parameters, self.PATCH_SIZE, context), pixel_size=pixel_size,
            interpolation=interpolation, seed=self.parameterAsInt(parameters, self.SEED, context),
            passes=tuple(PASSES[index][0] for index in sorted(passes)), sources=sources, atmosphere=atmosphere,
            noise=self._noise(parameters, context, feedback),
            mask=self._mask(parameters, context, feedback, pixel_size, scratch))

    def _enum(self, parameters, context, name, options):
        index = self.parameterAsEnum(parameters, name, context)
        if not 0 <= index < len(options):
            raise error(name, f"must be 0..{len(options) - 1}, got {index}")
        return options[index][0]

    def _range(self, parameters, context, name):
        values = self.parameterAsRange(parameters, name, context)
        if len(values) != 2:
            raise error(name, "must be two numbers: minimum,maximum")
        return tuple(values)

    def _measured_atmosphere(self, parameters, context, feedback):
        from ..core.synthesis.noise_statistics import load_noise_statistics
        from ..core.synthesis.training_examples import AtmosphereRanges

        path = self.parameterAsFile(parameters, self.NOISE_STATS, context)
        statistics = load_noise_statistics(path)
        feedback.pushInfo(f"Atmosphere from {path}: a = {statistics['a']:.3g} mm²/yr², "
                          f"b = {statistics['b']:.3g} /km, nugget = {statistics['nugget']:.3g} mm²/yr²")
        return AtmosphereRanges.from_statistics(statistics)

    def _noise(self, parameters, context, feedback):
        import numpy as np

        from ..core.common.value_checks import check_raster_values
        from ..core.synthesis.spike_simulation import sample_noise_map

        if not is_set(parameters, self.NOISE_MAP):
            return None
        path = raster_path(raster_file_layer(self, parameters, self.NOISE_MAP, context), self.NOISE_MAP)
        check_raster_values(path, 1, self.NOISE_MAP, is_cancelled=feedback.isCanceled)
        noise = sample_noise_map(path, np.random.default_rng(0),
                                 is_cancelled=feedback.isCanceled)
        feedback.pushInfo(f"Spike noise from {noise.describe()}")
        return noise

    def _mask(self, parameters, context, feedback, pixel_size, scratch):
        """MaskWindows over the pattern source gridded at ``pixel_size``, or None."""
        from ..core.synthesis.scatterer_patterns import MaskWindows, mask_raster_at

        if not is_set(parameters, self.MASK_SOURCE):
            return None
        layer = self.parameterAsLayer(parameters, self.MASK_SOURCE, context)
        if layer is None:
            raise error(self.MASK_SOURCE, f"could not be loaded: {parameters[self.MASK_SOURCE]}")
        if not pixel_size > 0:
            raise error(self.PIXEL_SIZE, f"must be positive, got {pixel_size}")
        destination = os.path.join(scratch, "pattern.tif")
        if isinstance(layer, QgsRasterLayer):
            path, band = mask_raster_at(raster_path(layer, self.MASK_SOURCE), 1, pixel_size, destination)
        elif isinstance(layer, QgsVectorLayer):
            path, band = self._grid_pattern(layer, context, feedback, pixel_size, destination), 1
        else:
            raise error(self.MASK_SOURCE, "must be a point layer or a raster")
        feedback.pushInfo(f"Measurement patterns from windows of {layer.name()}")
        return MaskWindows(path, band)

    def _grid_pattern(self, layer, context, feedback, pixel_size, destination):
        """Grid a point layer's locations at ``pixel_size``; returns ``destination``."""
        import numpy as np

        from ..core.interpolation.gridding import grid_for_points, write_point_raster

        check_point_layer(layer, self.MASK_SOURCE)
        if layer.crs().isGeographic():
            raise error(self.MASK_SOURCE, f"is in a geographic CRS ({layer.crs().authid()}, degrees); "
                                          "reproject it to a projected CRS in metres first")
        crs = working_crs(layer, None, self.MASK_SOURCE, self.MASK_SOURCE)
        x, y, _ = read_points(layer, None, crs, context, feedback, self.MASK_SOURCE, self.MASK_SOURCE)
        try:
            grid = grid_for_points(x, y, pixel_size)
            write_point_raster(x, y, np.ones(len(x)), grid,
                               crs.toWkt(QgsCoordinateReferenceSystem.WKT_PREFERRED_GDAL), destination)
        except InputError as failure:
            raise InputError(self.MASK_SOURCE, failure.message) from None
        return destination
