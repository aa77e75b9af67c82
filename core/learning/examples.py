"""Labelled training examples from one or more datasets plus real negatives.

Datasets from insardefo:synthesize may hold different class sets (point
sources in one, tunnels in another); their classes are merged by name with
"no_deformation" first, so a point set and a tunnel set train one
three-class model. Real negatives (stable ground cut from a real map) are
added to class 0.
"""
import numpy as np

from ..common.errors import InputError
from ..synthesis.dataset import Dataset

NEGATIVE_CLASS = "no_deformation"
MIN_PATCH_SIZE = 64  # pixels: AlexNet's convolutions need at least 63


class Examples:
    """Every example as (patch, label) with classes merged across datasets.

    ``datasets``: list of core.synthesis.dataset.Dataset; ``real_negatives``: (M, P, P)
    float32 mm/yr or None. Patches are (P, P) float32 mm/yr, NaN where unmeasured.
    """

    def __init__(self, datasets, real_negatives=None):
        if not datasets:
            raise InputError("DATASET", "give at least one dataset folder")
        sizes = {int(dataset.manifest["patch_size"]) for dataset in datasets}
        if len(sizes) > 1:
            raise InputError("DATASET", f"the datasets have different patch sizes {sorted(sizes)} pixels")
        self.patch_size = sizes.pop()
        if self.patch_size < MIN_PATCH_SIZE:
            raise InputError("DATASET", f"patches of {self.patch_size} px are too small; at least {MIN_PATCH_SIZE}")
        self.classes = merged_classes([dataset.classes for dataset in datasets])
        self.datasets = datasets
        self.real_negatives = real_negatives if real_negatives is not None else np.zeros((0, self.patch_size,
                                                                                            self.patch_size))
        if self.real_negatives.shape[1:] != (self.patch_size, self.patch_size):
            raise InputError("REAL_NEGATIVES", f"patches must be {self.patch_size} px like the datasets'")
        self._owners, self._indices, labels = [], [], []
        for owner, dataset in enumerate(datasets):
            remap = np.array([self.classes.index(name) for name in dataset.classes])
            labels.append(remap[dataset.labels.astype(np.int64)])
            self._owners.append(np.full(len(dataset), owner))
            self._indices.append(np.arange(len(dataset)))
        labels.append(np.zeros(len(self.real_negatives), dtype=np.int64))
        self._owners.append(np.full(len(self.real_negatives), -1))
        self._indices.append(np.arange(len(self.real_negatives)))
        self.labels = np.concatenate(labels)
        self._owners = np.concatenate(self._owners)
        self._indices = np.concatenate(self._indices)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, position):
        return self.patch(position)

    def patch(self, position):
        """The (P, P) float32 patch (mm/yr) of example ``position``."""
        owner, index = self._owners[position], self._indices[position]
        if owner < 0:
            return np.asarray(self.real_negatives[index], dtype=np.float32)
        return self.datasets[owner].patch(int(index))

    def measurements(self, position):
        """The (2, P, P) float32 measurements example ``position`` was interpolated from, or None.

        Mean measurement (mm/yr, NaN where none) and measured share of each pixel
        (core.synthesis.dataset); None for real negatives and datasets that do not keep them.
        """
        owner, index = self._owners[position], self._indices[position]
        if owner < 0 or not self.datasets[owner].has_measurement_maps:
            return None
        return self.datasets[owner].measurement_map(int(index))

    def subset(self, positions):
        """The patches of ``positions`` as a lazy sequence (read one at a time)."""
        return PatchSubset(self, positions)

    def describe(self):
        """JSON-ready description of the data for a model's metadata."""
        return {"datasets": [{"folder": dataset.folder, "count": len(dataset), "classes": dataset.classes,
                              "interpolation": dataset.manifest.get("interpolation"),
                              "pixel_size_m": dataset.manifest.get("pixel_size_m"),
                              "seed": dataset.manifest.get("seed")} for dataset in self.datasets],
                "real_negatives": int(len(self.real_negatives)),
                "class_counts": {name: int(np.sum(self.labels == label)) for label, name in enumerate(self.classes)}}

    def pixel_size(self):
        """The datasets' common pixel size in metres, or None when they differ or do not say."""
        sizes = {dataset.manifest.get("pixel_size_m") for dataset in self.datasets}
        return sizes.pop() if len(sizes) == 1 else None


class PatchSubset:
    """Some examples' patches as a sequence, read from disk when indexed."""

    def __init__(self, examples, positions):
        self.examples, self.positions = examples, positions

    def __len__(self):
        return len(self.positions)

    def __getitem__(self, index):
        return self.examples.patch(int(self.positions[index]))


def merged_classes(class_lists):
    """"no_deformation" then every other class name in order of first appearance."""
    for classes in class_lists:
        if not classes or classes[0] != NEGATIVE_CLASS:
            raise InputError("DATASET", f"a dataset's first class must be {NEGATIVE_CLASS!r}, got {classes}")
    merged = [NEGATIVE_CLASS]
    for classes in class_lists:
        merged += [name for name in classes if name not in merged]
    return merged


def open_datasets(folders, parameter="DATASET"):
    """core.synthesis.dataset.Dataset for each folder; InputError naming ``parameter`` for a bad one."""
    return [Dataset(folder, parameter) for folder in folders]


def stratified_split(labels, fraction, seed):
    """(train, validation) index arrays with about ``fraction`` of each class in validation.

    Every class with at least two examples keeps one in each part.
    """
    rng = np.random.default_rng([seed, 7])
    train, validation = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        count = int(round(fraction * len(members)))
        if len(members) >= 2:
            count = min(max(count, 1), len(members) - 1)
        validation.append(members[:count])
        train.append(members[count:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(validation))
