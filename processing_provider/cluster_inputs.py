"""WHERE and RUN_FOLDER: where a tiled run executes (this process, a Dask cluster) and where it resumes."""
from qgis.core import QgsProcessingParameterFile, QgsProcessingParameterString

from ..core.distributed.where import parse_where
from .inputs import is_set
from .model_inputs import advanced

WHERE_HELP = """<p><b>Where to run</b> (advanced): empty runs in this process, as always;
<i>local:N</i> starts a Dask cluster of N worker processes on this machine for the run;
<i>tcp://host:port</i> (or the path of a Dask scheduler file) uses a cluster you started, whose
workers reach the input, the outputs and the run folder by the same paths (they need numpy,
SciPy, GDAL and PyTorch, not QGIS; the plugin's core is sent to workers that lack it). One task
per tile; a worker that dies costs only its tile, which runs again elsewhere. <b>Run folder</b>
(advanced): where finished tiles are kept; running again with the same folder does only the
tiles that are missing (after Cancel, a crash or a lost node), and a folder of another input or
other settings is refused.</p>"""


def cluster_parameters():
    """WHERE (empty, local:N, a scheduler address or file) and RUN_FOLDER (a folder for resuming), advanced."""
    return [advanced(QgsProcessingParameterString(
                "WHERE", "Where to run (empty: this process; local:N; tcp://host:port; a scheduler file)",
                defaultValue="", optional=True)),
            advanced(QgsProcessingParameterFile(
                "RUN_FOLDER", "Run folder (finished tiles kept there; a run again resumes)",
                behavior=QgsProcessingParameterFile.Folder, optional=True))]


def cluster_values(algorithm, parameters, context):
    """(core.distributed.where.Where, run folder or None); tiled runs are wanted unless in process and no folder."""
    where = parse_where(algorithm.parameterAsString(parameters, "WHERE", context) if is_set(parameters, "WHERE")
                        else "")
    folder = algorithm.parameterAsFile(parameters, "RUN_FOLDER", context) if is_set(parameters, "RUN_FOLDER") else None
    return where, folder or None
