"""Shared layer of every stage: raster I/O, tiling, workers, staging, value checks, errors, optional packages."""
