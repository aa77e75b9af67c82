"""Running a whole map as one task per tile, in this process or on a Dask cluster, resumably."""
