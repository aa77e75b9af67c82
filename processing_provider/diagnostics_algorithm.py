"""Processing algorithm ``insardefo:diagnostics``: what the plugin runs on, for headless runs and bug reports.

The Processing glue only: ``core.common.dependencies.diagnostics`` and ``core.common.blas_diagnostics``.
"""
from qgis.core import QgsProcessingOutputNumber, QgsProcessingOutputString

from ..core.common.blas_diagnostics import blas_report
from ..core.common.dependencies import diagnostics
from ..core.learning.model_file import plugin_version
from .algorithm_base import InsarAlgorithm

HELP = """<p>Reports what the plugin runs on in this QGIS: the platform, the Python that runs QGIS,
the versions of NumPy, SciPy, GDAL, PyTorch and torchvision, the device PyTorch would use (CPU or
CUDA GPU), and how fast matrix products run. It is the text of <i>Plugins &gt; InSAR Deformation
Detector &gt; Check dependencies...</i>, available where there is no window: run
<code>qgis_process run insardefo:diagnostics</code> on a server or cluster node and paste the text
into a bug report. It reads nothing and writes nothing.</p>
<p><b>Matrix products</b>: interpolation by matrix completion spends most of its time in matrix
products. On Linux, QGIS's own libraries load GSL's unoptimised reference CBLAS
(<code>libgslcblas</code>) before Python starts, and NumPy's products then bind to it and run about
ten times slower than in a plain Python. The plugin multiplies through the BLAS SciPy was built
against instead, which GSL does not replace. This check times a 1024 x 1024 by 1024 x 64
single-precision product both ways (about half a second) and names the library each reaches:
NumPy's on <code>libgslcblas</code> (or far slower than the plugin's) is that case, and harmless to
the plugin; the plugin's on a reference BLAS (or below 5 GFLOP/s where the library cannot be named)
means SciPy itself runs on one: install OpenBLAS. Speeds measured while other work runs are lower;
the verdict goes by the library's name where it is known.</p>
<p><b>Outputs</b>: the diagnostics text, the one-line verdict on matrix products, and both speeds
in GFLOP/s (also written to the log).</p>"""


class DiagnosticsAlgorithm(InsarAlgorithm):
    """Platform, packages, device and matrix-product speed of this QGIS."""

    NAME = "diagnostics"
    DISPLAY_NAME = "Check installation"
    GROUP = "Setup"
    GROUP_ID = "setup"
    HELP = HELP
    TAGS = ["diagnostics", "dependencies", "installation", "blas", "pytorch", "version", "bug report"]

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        self.addOutput(QgsProcessingOutputString("DIAGNOSTICS", "Diagnostics"))
        self.addOutput(QgsProcessingOutputString("MATRIX_PRODUCTS", "Matrix products"))
        self.addOutput(QgsProcessingOutputNumber("NUMPY_GFLOPS", "NumPy matrix products (GFLOP/s)"))
        self.addOutput(QgsProcessingOutputNumber("PLUGIN_GFLOPS", "Plugin matrix products (GFLOP/s)"))

    def compute(self, parameters, context, feedback):
        blas = blas_report()
        text = diagnostics([("Plugin", plugin_version())], blas)
        feedback.pushInfo(text)
        return {"DIAGNOSTICS": text, "MATRIX_PRODUCTS": blas.explanation(),
                "NUMPY_GFLOPS": blas.numpy_gflops, "PLUGIN_GFLOPS": blas.plugin_gflops}
