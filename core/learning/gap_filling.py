"""Smooth filling of the holes in a dense velocity map, for the classifier's eyes only.

The network learns from fully interpolated patches, so a hole in the map it
classifies (no measurement within interpolate's maximum distance: fields,
woods, water) would be structure it has never seen, and it calls such
windows deformed. Holes are filled with a Gaussian-weighted average of the
surrounding values at growing scales (normalised convolution), then with
the nearest value, and relaxed with a small Gaussian so that no step is
left where one scale took over from the next (a step would wrap into a
fringe edge); the output keeps them as no data.
"""
import numpy as np
from scipy.ndimage import distance_transform_edt, find_objects, gaussian_filter, label, maximum_filter

FILL_SIGMAS_PX = (4, 8, 16, 32)  # pixels: scales of the normalised convolution, finest first
FILL_TRUNCATE = 2.0  # kernel radius in sigmas
FILL_REACH_PX = int(FILL_SIGMAS_PX[-1] * FILL_TRUNCATE)  # farthest a smooth fill looks for values
DECIMATION = 4  # coarse scales are smoothed on a grid this many times coarser
DECIMATE_FROM_PX = 16  # pixels: the scales smoothed on the coarse grid
MIN_WEIGHT = 1e-3  # share of valid pixels under the kernel below which a scale leaves a pixel empty
RELAX_SIGMA_PX = 2.0  # pixels: the smoothing that removes the steps where one scale took over from another
RELAX_STEPS = 8
RELAX_TRUNCATE = 3.0  # kernel radius in sigmas
MAX_HOLE_CLUSTERS = 256  # beyond this many separate clusters, filtering each alone costs more than the map


def fill_gaps(values):
    """(H, W) float32 copy of ``values`` (mm/yr, NaN = no data) with every NaN filled; all-NaN stays NaN."""
    filled = np.array(values, dtype=np.float32)
    holes = ~np.isfinite(filled)
    if not holes.any() or holes.all():
        return filled
    _coarse_fill(filled, holes.copy())
    for box, cluster in _hole_clusters(holes, int(RELAX_TRUNCATE * RELAX_SIGMA_PX + 0.5)):
        region = filled[box]  # a view: the steps write into ``filled``
        for _ in range(RELAX_STEPS):
            region[cluster] = gaussian_filter(region, RELAX_SIGMA_PX, mode="nearest", truncate=RELAX_TRUNCATE)[cluster]
    return filled


def _hole_clusters(holes, reach):
    """(box, mask) per cluster of holes closer than 2 ``reach`` pixels: the cluster's holes in its box.

    The box holds every pixel within ``reach`` (a square) of the cluster's
    holes, and no other cluster's holes lie within ``reach`` of them, so a
    filter of that radius run on the box alone gives the cluster's holes what
    it gives them on the whole map, at a fraction of the work.
    """
    clusters, _ = label(maximum_filter(holes, size=2 * reach + 1))
    boxes = find_objects(clusters)
    covered = sum((rows.stop - rows.start) * (cols.stop - cols.start) for rows, cols in boxes)
    if len(boxes) > MAX_HOLE_CLUSTERS or covered > holes.size / 2:
        return [((slice(None), slice(None)), holes)]  # one pass over the whole map costs less
    return [(box, holes[box] & (clusters[box] == index)) for index, box in enumerate(boxes, 1)]


def _coarse_fill(filled, missing):
    """Fill ``filled`` where ``missing`` in place: normalised convolution at growing scales, then nearest."""
    data = np.where(missing, 0.0, filled).astype(np.float32)
    weight = (~missing).astype(np.float32)
    fine = [sigma for sigma in FILL_SIGMAS_PX if sigma < DECIMATE_FROM_PX]
    for box, cluster in _hole_clusters(missing, int(max(fine) * FILL_TRUNCATE)):
        region, left = filled[box], missing[box]  # views into ``filled`` and ``missing``
        for sigma in fine:
            total, share = _smoothed(data[box], weight[box], sigma)
            take = cluster & left & (share > MIN_WEIGHT)
            region[take] = total[take] / share[take]
            left &= ~take
    for sigma in FILL_SIGMAS_PX[len(fine):]:
        if not missing.any():
            return
        total, share = _smoothed(data, weight, sigma)
        take = missing & (share > MIN_WEIGHT)
        filled[take] = total[take] / share[take]
        missing &= ~take
    if not missing.any():
        return
    nearest = distance_transform_edt(missing, return_distances=False, return_indices=True)
    filled[missing] = filled[tuple(index[missing] for index in nearest)]


def _smoothed(data, weight, sigma):
    """Gaussian-smoothed (data, weight); scales of DECIMATE_FROM_PX and more on a 4x coarser grid."""
    if sigma < DECIMATE_FROM_PX:
        return tuple(gaussian_filter(array, sigma, mode="nearest", truncate=FILL_TRUNCATE) for array in (data, weight))
    rows, cols = data.shape
    padded_rows, padded_cols = rows + (-rows % DECIMATION), cols + (-cols % DECIMATION)
    coarse = [np.pad(array, ((0, padded_rows - rows), (0, padded_cols - cols)), mode="edge")
              .reshape(padded_rows // DECIMATION, DECIMATION, padded_cols // DECIMATION, DECIMATION).mean(axis=(1, 3))
              for array in (data, weight)]
    smooth = [gaussian_filter(array, sigma / DECIMATION, mode="nearest", truncate=FILL_TRUNCATE) for array in coarse]
    return tuple(np.repeat(np.repeat(array, DECIMATION, axis=0), DECIMATION, axis=1)[:rows, :cols] for array in smooth)
