"""One rule for every algorithm: no output lands on an input or on another output, and every output can be written.

``check_files`` runs before an algorithm starts any work
(``InsarAlgorithm.processAlgorithm``). It reads the algorithm's parameter
definitions, so a new algorithm is covered without code of its own:

* inputs: map, raster, vector and feature-source layers, lists of layers,
  files and folders, plus what ``InsarAlgorithm.extra_input_files`` adds
  (dataset folders typed as text);
* outputs: every destination parameter the user set to a file or folder
  (temporary outputs are unique and skipped).

Files are compared by identity: the same inode (hard and symbolic links)
for files that exist, the resolved folder and name (case-folded where the
file system ignores case) for files to be made. GeoPackage layers compare by
their file: an output replaces the whole file. Each output's folder must
exist or be creatable (QGIS creates it) and be writable, tested by making
the staging folder the run would make there; stale staging folders left
there by killed runs are removed (core.common.staging).
"""
import os
import sys

from qgis.core import (
    QgsMapLayer,
    QgsProcessing,
    QgsProcessingDestinationParameter,
    QgsProcessingOutputLayerDefinition,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterMapLayer,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterVectorLayer,
    QgsProcessingUtils,
    QgsProperty,
    QgsProviderRegistry,
)

from ..core.common.staging import make_staging_folder, remove_stale_staging
from .inputs import error, is_set

LAYER_PARAMETERS = (QgsProcessingParameterMapLayer, QgsProcessingParameterRasterLayer,
                    QgsProcessingParameterVectorLayer, QgsProcessingParameterFeatureSource)
CASE_INSENSITIVE = sys.platform in ("win32", "darwin")  # the default file systems there ignore case


def _layer_file(value, context):
    """The file behind a layer parameter's value (a layer, its id or name, a path or URI), or None."""
    if isinstance(value, QgsProperty):
        value = value.valueAsString(context.expressionContext())[0]
    source = getattr(value, "source", None)  # QgsProcessingFeatureSourceDefinition
    if isinstance(source, QgsProperty):
        value = source.valueAsString(context.expressionContext())[0]
    if isinstance(value, str):
        layer = QgsProcessingUtils.mapLayerFromString(value, context, False)
        value = layer if layer is not None else value
    if isinstance(value, QgsMapLayer):
        path = QgsProviderRegistry.instance().decodeUri(value.providerType(), value.source()).get("path")
        return path or None
    if isinstance(value, str) and value:
        return value.split("|")[0]
    return None


def input_files(algorithm, parameters, context):
    """[(parameter name, path)] of every file or folder the run reads."""
    found = []
    for definition in algorithm.parameterDefinitions():
        name = definition.name()
        if not is_set(parameters, name):
            continue
        value = parameters[name]
        if isinstance(definition, QgsProcessingParameterMultipleLayers):
            values = value if isinstance(value, (list, tuple)) else str(value).split(";")
            found += [(name, path) for path in (_layer_file(item, context) for item in values) if path]
        elif isinstance(definition, LAYER_PARAMETERS):
            path = _layer_file(value, context)
            if path:
                found.append((name, path))
        elif isinstance(definition, QgsProcessingParameterFile):
            found.append((name, algorithm.parameterAsFile(parameters, name, context)))
    return found + list(algorithm.extra_input_files(parameters, context))


def _is_temporary(value, context):
    if isinstance(value, QgsProcessingOutputLayerDefinition):
        value = value.sink.valueAsString(context.expressionContext())[0]
    text = str(value or "")
    return text in ("", QgsProcessing.TEMPORARY_OUTPUT) or text.startswith("memory:")


def _output_path(algorithm, definition, parameters, context):
    """The file (or folder) a destination parameter writes; ogr:dbname=... URIs give their file."""
    if isinstance(definition, (QgsProcessingParameterFileDestination, QgsProcessingParameterFolderDestination)):
        return algorithm.parameterAsFileOutput(parameters, definition.name(), context)
    path = algorithm.parameterAsOutputLayer(parameters, definition.name(), context)
    if path.startswith("ogr:"):
        path = QgsProviderRegistry.instance().decodeUri("ogr", path[4:]).get("path") or path
    return path


def output_files(algorithm, parameters, context):
    """[(parameter name, path, is a folder)] of every destination set to a file or folder."""
    found = []
    for definition in algorithm.destinationParameterDefinitions():
        name = definition.name()
        if not isinstance(definition, QgsProcessingDestinationParameter) or not is_set(parameters, name):
            continue
        if _is_temporary(parameters[name], context):
            continue
        path = _output_path(algorithm, definition, parameters, context)
        if path:
            found.append((name, path, isinstance(definition, QgsProcessingParameterFolderDestination)))
    return found


def file_key(path):
    """What makes two paths the same file: its inode when it exists, else its folder and name."""
    try:
        status = os.stat(path)
        return ("existing", status.st_dev, status.st_ino)
    except OSError:
        pass
    folder, name = os.path.split(os.path.abspath(path))
    try:
        status = os.stat(folder)
        folder_key = (status.st_dev, status.st_ino)
    except OSError:
        folder_key = os.path.normcase(os.path.realpath(folder))
    return ("new", folder_key, name.casefold() if CASE_INSENSITIVE else name)


def _inside(path, folder):
    """Whether ``path`` lies in ``folder`` (links resolved)."""
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return os.path.commonpath([path, folder]) == folder and path != folder


def _check_collisions(inputs, outputs):
    for index, (name, path, is_folder) in enumerate(outputs):
        key = file_key(path)
        for input_name, input_path in inputs:
            if file_key(input_path) == key:
                raise error(name, f"is the same file as {input_name} ({input_path}); inputs are never "
                                  "overwritten: choose another file name")
            if is_folder and _inside(input_path, path):
                raise error(name, f"would replace the folder holding {input_name} ({input_path}); "
                                  "choose another folder")
            if os.path.isdir(input_path) and _inside(path, input_path):
                raise error(name, f"lies in the {input_name} folder ({input_path}); input folders are never "
                                  "written into: choose a file outside it")
        for other_name, other_path, _ in outputs[:index]:
            if file_key(other_path) == key:
                raise error(name, f"is the same file as {other_name} ({other_path}); each output needs "
                                  "its own file")


def _prepare_folder(name, path, is_folder, created):
    """Make sure ``path``'s folder exists (created where missing) and can receive a staged output."""
    path = os.path.abspath(path)
    if not is_folder and os.path.isdir(path):
        raise error(name, f"{path} is a folder; give a file name")
    if is_folder and os.path.exists(path) and not os.path.isdir(path):
        raise error(name, f"{path} is a file, not a folder")
    folder = os.path.dirname(path)
    missing = []
    while folder and not os.path.isdir(folder):
        if os.path.exists(folder):
            raise error(name, f"cannot write {path}: {folder} is a file, not a folder")
        missing.append(folder)
        folder = os.path.dirname(folder) if os.path.dirname(folder) != folder else ""
    for new_folder in reversed(missing):
        try:
            os.mkdir(new_folder)
        except OSError as failure:
            raise error(name, f"the folder {new_folder} cannot be created ({failure.strerror}); "
                              "choose a folder you can write to") from None
        created.append(new_folder)
    directory = os.path.dirname(path)
    try:
        os.rmdir(make_staging_folder(directory))
    except OSError as failure:
        raise error(name, f"cannot write in {directory} ({failure.strerror}); "
                          "choose a folder you can write to") from None
    remove_stale_staging(directory)


def check_files(algorithm, parameters, context):
    """Check every output against the inputs and each other, and prepare its folder.

    Returns the folders created for outputs (deepest last), which
    ``remove_empty_folders`` takes away again when the run fails.
    """
    outputs = output_files(algorithm, parameters, context)
    if not outputs:
        return []
    _check_collisions(input_files(algorithm, parameters, context), outputs)
    created = []
    try:
        for name, path, is_folder in outputs:
            _prepare_folder(name, path, is_folder, created)
    except BaseException:
        remove_empty_folders(created)
        raise
    return created


def remove_empty_folders(folders):
    """Remove ``folders`` (parents first in the list) where they are still empty."""
    for folder in reversed(folders):
        try:
            os.rmdir(folder)
        except OSError:
            pass
