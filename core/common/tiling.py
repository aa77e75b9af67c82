"""Overlapping tiles with seamless blending for rasters of any size.

The raster is cut into square cores of ``tile_size`` pixels; each tile is
processed on its core grown by a halo. Across every internal core boundary
the two neighbouring tiles are cross-faded with linear ramps over a band of
``2 * blend`` pixels; the ramps of all tiles sum to one at every pixel, so the
blended result needs no normalisation and shows no seams.
"""
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tile:
    """A tile's core and the window it is processed on, in raster pixels.

    ``window`` and ``core`` are (row_offset, col_offset, rows, cols).
    """

    window: tuple
    core: tuple


def _spans(length, tile_size, halo):
    """(core_start, core_stop, window_start, window_stop) along one axis."""
    return [(start, min(start + tile_size, length), max(0, start - halo), min(length, start + tile_size + halo))
            for start in range(0, length, tile_size)]


def make_tiles(height, width, tile_size, halo):
    """Tiles covering a (height, width) raster, row by row."""
    return [Tile((r0, c0, r1 - r0, c1 - c0), (rc0, cc0, rc1 - rc0, cc1 - cc0))
            for rc0, rc1, r0, r1 in _spans(height, tile_size, halo)
            for cc0, cc1, c0, c1 in _spans(width, tile_size, halo)]


def _ramp(window_start, window_length, core_start, core_stop, length, blend):
    """1-D weights over a window: rising across the band at core_start, falling at core_stop."""
    position = np.arange(window_start, window_start + window_length) + 0.5
    weight = np.ones(window_length)
    if core_start > 0:
        weight *= np.clip((position - (core_start - blend)) / (2 * blend), 0.0, 1.0)
    if core_stop < length:
        weight *= np.clip(((core_stop + blend) - position) / (2 * blend), 0.0, 1.0)
    return weight


def blend_weights(tile, height, width, blend):
    """(rows, cols) weights of ``tile``'s window; over all tiles they sum to one."""
    r0, c0, rows, cols = tile.window
    rc0, cc0, core_rows, core_cols = tile.core
    along_rows = _ramp(r0, rows, rc0, rc0 + core_rows, height, blend)
    along_cols = _ramp(c0, cols, cc0, cc0 + core_cols, width, blend)
    return np.outer(along_rows, along_cols)
