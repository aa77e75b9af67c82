"""A run folder: the manifest of one tiled run and the finished tiles, so a stopped run resumes.

The manifest (``manifest.json``) names what the tiles were computed from: the input file (path,
size in bytes, modification time, raster size and georeferencing; a virtual raster by its
content and its sources, since the plugin writes those to new temporary paths on every run), the
settings, the model file's SHA-256 and the tile grid. A run started again in the same folder with
the same manifest does only the tiles whose file is missing; any difference is refused, never
mixed. Each tile's
file is written under a temporary name and renamed when complete, so a tile file that exists is
whole, whoever wrote it and however the run ended.
"""
import hashlib
import json
import os
import xml.etree.ElementTree as ElementTree

from osgeo import gdal

from ..common.errors import InputError

MANIFEST = "manifest.json"
HASH_CHUNK_BYTES = 1 << 20


def file_sha256(path):
    """Hex SHA-256 of a file's bytes (a model file: a few MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(HASH_CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def input_identity(path):
    """What identifies a raster input: its raster size, georeferencing and file.

    A file on disk is named by its absolute path, bytes and modification time. A virtual raster
    (VRT) is named by its XML with every source file replaced by that file's identity, so the same
    band or no-data declaration of the same file, written anew in another folder, is the same input.
    """
    dataset = gdal.Open(path)
    identity = {"width": dataset.RasterXSize, "height": dataset.RasterYSize,
                "geotransform": list(dataset.GetGeoTransform()), "crs": dataset.GetProjection()}
    if dataset.GetDriver().ShortName == "VRT" and os.path.isfile(path):
        identity["vrt"] = _virtual_raster_content(path)
    else:
        status = os.stat(path)
        identity.update(path=os.path.abspath(path), bytes=status.st_size, modified_ns=status.st_mtime_ns)
    return identity


def _virtual_raster_content(path):
    """The VRT file ``path``'s XML without statistics, each SourceFilename replaced by the JSON
    identity of its file."""
    root = _without_statistics(ElementTree.parse(path).getroot())
    for source in root.iter("SourceFilename"):
        name = source.text or ""
        if source.get("relativeToVRT") == "1":
            name = os.path.join(os.path.dirname(os.path.abspath(path)), name)
        if os.path.isfile(name):
            source.text = json.dumps(input_identity(name), sort_keys=True)
            source.attrib.pop("relativeToVRT", None)
    return ElementTree.tostring(root, encoding="unicode")


def _without_statistics(root):
    """``root`` (a VRT's XML) without the statistics and histograms GDAL writes into a VRT QGIS opens."""
    _remove(root, lambda element: element.tag == "Histograms"
            or (element.tag == "MDI" and element.get("key", "").startswith("STATISTICS_")))
    _remove(root, lambda element: element.tag == "Metadata" and not len(element))  # emptied above
    return root


def _remove(root, unwanted):
    """Remove every element under ``root`` for which ``unwanted(element)`` is true."""
    for parent in list(root.iter()):
        for child in list(parent):
            if unwanted(child):
                parent.remove(child)


class RunFolder:
    """The folder ``path`` holding the run described by ``manifest`` (a JSON-serialisable dict).

    InputError naming ``parameter`` when the folder holds a run with another manifest, or is a file.
    """

    def __init__(self, path, manifest, parameter="RUN_FOLDER"):
        self.path = os.path.abspath(path)
        if os.path.exists(self.path) and not os.path.isdir(self.path):
            raise InputError(parameter, f"{self.path} is a file; give a folder (new or of the same run)")
        os.makedirs(self.path, exist_ok=True)
        manifest = json.loads(json.dumps(manifest))
        existing = self._read_manifest(parameter)
        if existing is None:
            self._write_manifest(manifest)
        elif existing != manifest:
            differing = sorted(key for key in set(existing) | set(manifest) if existing.get(key) != manifest.get(key))
            raise InputError(parameter, f"{self.path} holds a run of another {', '.join(differing)}; resume it "
                                        "with the same input and settings, or give another folder")
        self.manifest = manifest

    def _read_manifest(self, parameter):
        path = os.path.join(self.path, MANIFEST)
        if not os.path.exists(path):
            return None
        try:
            with open(path, encoding="utf-8") as stream:
                return json.load(stream)
        except (OSError, ValueError) as error:
            raise InputError(parameter, f"{path} cannot be read as a run manifest ({error})")

    def _write_manifest(self, manifest):
        temporary = os.path.join(self.path, f".{MANIFEST}.{os.getpid()}")
        with open(temporary, "w", encoding="utf-8") as stream:
            json.dump(manifest, stream, indent=1, sort_keys=True)
        os.replace(temporary, os.path.join(self.path, MANIFEST))

    def tile_path(self, stage, index):
        """Where tile ``index`` of ``stage`` ("interpolation", "detection") lives once finished."""
        return os.path.join(self.path, stage, f"tile_{index:05d}.tif")

    def task_key(self, stage, index):
        """A Dask task key for tile ``index`` of ``stage``, unique to this folder."""
        return f"{stage}-{hashlib.sha1(self.path.encode()).hexdigest()[:10]}-{index}"

    def missing(self, stage, count):
        """Indices among range(count) of the tiles of ``stage`` not finished yet."""
        return [index for index in range(count) if not os.path.exists(self.tile_path(stage, index))]
