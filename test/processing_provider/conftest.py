"""Fixtures of the Processing glue tests: input files of every kind the algorithms read."""
import json

import numpy as np
import pytest

from helpers import smooth_velocity, write_points, write_raster


@pytest.fixture(scope="session")
def files(tmp_path_factory, tiny_dataset, tiny_model):
    """Input files of every kind the algorithms read, in a folder of their own."""
    folder = tmp_path_factory.mktemp("inputs")
    velocity = smooth_velocity(240, seed=3)
    sparse = np.where(np.random.default_rng(1).random(velocity.shape) < 0.2, velocity, np.nan)
    paths = {
        "dense": write_raster(str(folder / "dense.tif"), velocity),
        "sparse": write_raster(str(folder / "sparse.tif"), sparse),
        "probability": write_raster(str(folder / "probability.tif"), np.full((40, 40), 0.3)),
        "probability2": write_raster(str(folder / "probability2.tif"), np.full((40, 40), 0.6)),
        "points": write_points(str(folder / "points.gpkg"), [(400005.0 + 20 * i, 299995.0 - 30 * (i % 5), 0.1 * i)
                                                              for i in range(40)]),
        "dataset": tiny_dataset,
        "model": tiny_model[0],
        "statistics": str(folder / "noise.json"),
    }
    with open(paths["statistics"], "w", encoding="utf-8") as handle:
        json.dump({"format": "insardefo-noisestats", "version": 1, "nugget": 0.6, "sill": 1.8, "a": 1.2,
                   "b": 1.2}, handle)
    return paths
