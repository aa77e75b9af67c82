"""The north-up raster grid every stage works on."""
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GridSpec:
    """A north-up grid: top-left corner (map units), square pixel size (map units), size in pixels."""

    x_min: float
    y_max: float
    pixel_size: float
    width: int
    height: int

    def geotransform(self):
        """GDAL geotransform of the grid."""
        return (self.x_min, self.pixel_size, 0.0, self.y_max, 0.0, -self.pixel_size)

    def cells_of(self, x, y):
        """(rows, cols, inside) of map coordinates; ``inside`` flags points on the grid."""
        cols = np.floor((np.asarray(x) - self.x_min) / self.pixel_size).astype(np.int64)
        rows = np.floor((self.y_max - np.asarray(y)) / self.pixel_size).astype(np.int64)
        inside = (rows >= 0) & (rows < self.height) & (cols >= 0) & (cols < self.width)
        return rows, cols, inside
