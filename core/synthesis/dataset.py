"""Training datasets on disk: unwrapped velocity patches in shards, labels and a manifest.

A dataset is a folder:

* ``manifest.json``: format, version, classes, patch and pixel size, how the
  examples were made (every setting of insardefo:synthesize) and the shards;
* ``patches_00000.npy``, ...: (n, P, P) float32 unwrapped LOS velocity, mm/yr,
  NaN where unmeasured (uninterpolated datasets only); memory-mapped on read;
* ``label_maps_00000.npy``, ...: (n, P, P) uint8 class of every pixel (255: none), in
  datasets for the dense detector only (core.synthesis.training_maps);
* ``measurement_maps_00000.npy``, ...: (n, 2, P, P) float16, in interpolated datasets: what
  each patch was interpolated from, the mean measurement in each pixel (mm/yr, NaN where none)
  and the share of the pixel's ground that was measured (0-1), for the dense detector;
* ``labels.npy``: (N,) int8 class index of every example;
* ``examples.csv``: one row per example with its generating parameters.

Wrapping happens at training time, so one dataset serves every wrap
interval. Nothing is pickled: numpy's .npy format and plain text only.
"""
import csv
import json
import os
import shutil

import numpy as np

from ..common.errors import InputError
from ..common.staging import make_staging_folder

FORMAT = "insardefo-dataset"
VERSION = 1
MANIFEST = "manifest.json"
LABELS = "labels.npy"
EXAMPLES = "examples.csv"
SHARD_SIZE = 512  # examples per shard: 100 MB at 224 x 224


def is_dataset(folder):
    """Whether ``folder`` holds a manifest of our format."""
    try:
        with open(os.path.join(folder, MANIFEST), encoding="utf-8") as handle:
            return json.load(handle).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def check_destination(folder):
    """Raise InputError("OUTPUT", ...) unless ``folder`` may receive a dataset.

    It may be new, empty, or a dataset of ours (which is then replaced, but
    only once the new one is complete).
    """
    if not folder:
        raise InputError("OUTPUT", "needs a folder")
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise InputError("OUTPUT", f"{folder} is a file, not a folder")
    if os.path.isdir(folder) and os.listdir(folder) and not is_dataset(folder):
        raise InputError("OUTPUT", f"{folder} holds other files; choose a new or empty folder "
                                   "(an earlier dataset of this plugin may be replaced)")
    parent = os.path.dirname(os.path.abspath(folder))
    if not os.path.isdir(parent):
        raise InputError("OUTPUT", f"the parent folder {parent} does not exist")


class DatasetWriter:
    """Writes examples in order into a staging folder; ``commit`` moves it into place.

    ``columns``: the examples.csv header; every record must use only these keys.
    """

    def __init__(self, folder, patch_size, columns, shard_size=SHARD_SIZE):
        self.folder = os.path.abspath(folder)
        self._staging_root = make_staging_folder(os.path.dirname(self.folder))
        self.staging = os.path.join(self._staging_root, "dataset")
        os.makedirs(self.staging)
        self.patch_size = patch_size
        self.shard_size = shard_size
        self.labels, self.shards, self.pending, self.pending_maps, self.pending_measurements = [], [], [], [], []
        self._csv_file = open(os.path.join(self.staging, EXAMPLES), "w", newline="", encoding="utf-8")
        self._csv = csv.DictWriter(self._csv_file, fieldnames=columns, restval="")
        self._csv.writeheader()

    def add(self, patch, label, record, label_map=None, measurements=None):
        """Append one (P, P) patch (mm/yr), its class index and its parameter record.

        ``label_map``: the (P, P) class of every pixel, for datasets of the dense detector;
        ``measurements``: (2, P, P) mean measurement (mm/yr, NaN where none) and measured share
        (0-1) of every pixel. Give each for every example or for none.
        """
        self.pending.append(np.asarray(patch, dtype=np.float32))
        if label_map is not None:
            self.pending_maps.append(np.asarray(label_map, dtype=np.uint8))
        if measurements is not None:
            self.pending_measurements.append(np.asarray(measurements, dtype=np.float16))  # half the disk
        self.labels.append(label)
        self._csv.writerow(record)
        if len(self.pending) == self.shard_size:
            self._flush()

    def _flush(self):
        if not self.pending:
            return
        name = f"patches_{len(self.shards):05d}.npy"
        np.save(os.path.join(self.staging, name), np.stack(self.pending))
        shard = {"file": name, "first": len(self.labels) - len(self.pending), "count": len(self.pending)}
        if self.pending_maps:
            shard["label_maps"] = f"label_maps_{len(self.shards):05d}.npy"
            np.save(os.path.join(self.staging, shard["label_maps"]), np.stack(self.pending_maps))
        if self.pending_measurements:
            shard["measurement_maps"] = f"measurement_maps_{len(self.shards):05d}.npy"
            np.save(os.path.join(self.staging, shard["measurement_maps"]), np.stack(self.pending_measurements))
        self.shards.append(shard)
        self.pending, self.pending_maps, self.pending_measurements = [], [], []

    def commit(self, manifest):
        """Write the labels and manifest (``manifest`` plus format, counts and shards) and publish."""
        self._flush()
        self._csv_file.close()
        np.save(os.path.join(self.staging, LABELS), np.asarray(self.labels, dtype=np.int8))
        document = {"format": FORMAT, "version": VERSION, "count": len(self.labels),
                    "patch_size": self.patch_size, **manifest, "shards": self.shards}
        with open(os.path.join(self.staging, MANIFEST), "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2)
        self._replace_destination()

    def _replace_destination(self):
        if os.path.isdir(self.folder):
            os.replace(self.folder, os.path.join(self._staging_root, "replaced"))
        os.replace(self.staging, self.folder)
        shutil.rmtree(self._staging_root, ignore_errors=True)

    def abort(self):
        """Remove everything written so far; the destination is untouched."""
        self._csv_file.close()
        shutil.rmtree(self._staging_root, ignore_errors=True)


class Dataset:
    """Read access to a dataset folder; patches are memory-mapped, never all loaded."""

    def __init__(self, folder, parameter="DATASET"):
        self.folder = folder
        try:
            with open(os.path.join(folder, MANIFEST), encoding="utf-8") as handle:
                self.manifest = json.load(handle)
        except (OSError, ValueError) as error:
            raise InputError(parameter, f"{folder} is not a readable dataset ({error})") from None
        if not isinstance(self.manifest, dict) or self.manifest.get("format") != FORMAT:
            raise InputError(parameter, f"{folder} is not an insardefo dataset (no {FORMAT} manifest)")
        if self.manifest.get("version") != VERSION:
            raise InputError(parameter, f"{folder} has dataset version {self.manifest.get('version')}; "
                                        f"this plugin reads version {VERSION}")
        try:
            self._check_manifest()
            self.labels = self._load(LABELS)
            self._shards = [self._load(shard["file"], mmap_mode="r") for shard in self.manifest["shards"]]
            self._label_maps = [self._load(shard["label_maps"], mmap_mode="r") if "label_maps" in shard else None
                                for shard in self.manifest["shards"]]
            self._measurement_maps = [self._load(shard["measurement_maps"], mmap_mode="r")
                                      if "measurement_maps" in shard else None for shard in self.manifest["shards"]]
            self._check_arrays()
        except (KeyError, TypeError, ValueError) as error:
            raise InputError(parameter, f"{folder} is damaged ({error}); make it again with "
                                        "Synthesize training data") from None
        self._starts = np.array([shard["first"] for shard in self.manifest["shards"]])

    def _load(self, name, mmap_mode=None):
        """A .npy file of the dataset; ValueError naming it when it is missing, truncated or not an array."""
        path = os.path.join(self.folder, os.path.basename(name))
        try:
            return np.load(path, mmap_mode=mmap_mode, allow_pickle=False)
        except (OSError, ValueError, EOFError) as error:
            raise ValueError(f"{os.path.basename(name)} cannot be read: {error}") from None

    def _check_manifest(self):
        manifest = self.manifest
        if not isinstance(manifest.get("classes"), list) or not isinstance(manifest.get("shards"), list):
            raise ValueError("the manifest lists no classes or shards")
        if int(manifest["patch_size"]) < 1 or int(manifest["count"]) < 0:
            raise ValueError("the manifest's patch size or count is invalid")

    def _check_arrays(self):
        """Shapes and labels as the manifest records them (a truncated shard fails here or on loading)."""
        size, count = int(self.manifest["patch_size"]), int(self.manifest["count"])
        if self.labels.shape != (count,) or not np.issubdtype(self.labels.dtype, np.integer):
            raise ValueError(f"{LABELS} holds {self.labels.shape} {self.labels.dtype} values, not {count} integers")
        if count and not 0 <= self.labels.min() <= self.labels.max() < len(self.manifest["classes"]):
            raise ValueError(f"{LABELS} holds class indices outside 0..{len(self.manifest['classes']) - 1}")
        first = 0
        for shard, patches, label_maps, measurements in zip(self.manifest["shards"], self._shards, self._label_maps,
                                                            self._measurement_maps):
            if int(shard["first"]) != first or patches.shape != (int(shard["count"]), size, size):
                raise ValueError(f"{shard['file']} holds {patches.shape} patches where the manifest records "
                                 f"{shard['count']} of {size} x {size} from example {first}")
            if label_maps is not None and label_maps.shape != patches.shape:
                raise ValueError(f"{shard['label_maps']} holds {label_maps.shape} label maps for "
                                 f"{patches.shape} patches")
            if measurements is not None and measurements.shape != (len(patches), 2, size, size):
                raise ValueError(f"{shard['measurement_maps']} holds {measurements.shape} measurement maps for "
                                 f"{patches.shape} patches")
            first += int(shard["count"])
        for name, maps in (("label maps", self._label_maps), ("measurement maps", self._measurement_maps)):
            if any(shard is None for shard in maps) and any(shard is not None for shard in maps):
                raise ValueError(f"some shards have {name} and others not")
        if first != count:
            raise ValueError(f"the shards hold {first} examples, the manifest {count}")

    def __len__(self):
        return len(self.labels)

    @property
    def classes(self):
        return list(self.manifest["classes"])

    def patch(self, index):
        """The (P, P) float32 velocity patch of example ``index``, mm/yr."""
        shard = int(np.searchsorted(self._starts, index, side="right") - 1)
        return np.array(self._shards[shard][index - self._starts[shard]])

    @property
    def has_label_maps(self):
        """Whether every example has a class per pixel (a dataset for the dense detector)."""
        return bool(self._label_maps) and self._label_maps[0] is not None

    def label_map(self, index):
        """The (P, P) uint8 class of every pixel of example ``index`` (255: none); dense datasets only."""
        shard = int(np.searchsorted(self._starts, index, side="right") - 1)
        return np.array(self._label_maps[shard][index - self._starts[shard]])

    @property
    def has_measurement_maps(self):
        """Whether every example has what it was interpolated from (interpolated datasets of this version)."""
        return bool(self._measurement_maps) and self._measurement_maps[0] is not None

    def measurement_map(self, index):
        """(2, P, P) float32 mean measurement (mm/yr, NaN where none) and measured share (0-1) of ``index``."""
        shard = int(np.searchsorted(self._starts, index, side="right") - 1)
        return np.asarray(self._measurement_maps[shard][index - self._starts[shard]], dtype=np.float32)

    def records(self):
        """The examples' parameter records (dicts of strings), in order."""
        with open(os.path.join(self.folder, EXAMPLES), newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))
