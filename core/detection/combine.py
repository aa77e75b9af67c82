"""Ascending and descending probability maps into one (section III-D).

A motion seen in one line of sight may be hidden in the other, while noise
that fakes a detection in one pass rarely does so in the other. So each
ascending map is averaged with each descending map and the largest pair
average is kept: two looks give their average, four looks (two of each)
the maximum of the four pair averages. Where one map of a pair has no data
the other one's value stands. Every map is resampled (bilinear) onto the
first ascending map's grid and streamed through GDAL in row blocks.
"""
import numpy as np
from osgeo import gdal, osr

from ..common.errors import Cancelled, InputError
from ..common.raster_io import OUTPUT_OPTIONS, atomic_outputs, checked, create_like, read_window, row_blocks


def _on_grid(path, template, parameter):
    """``path`` as a virtual raster on ``template``'s grid (itself when the grids match)."""
    dataset = gdal.Open(path, gdal.GA_ReadOnly)
    if dataset is None:
        raise InputError(parameter, f"cannot read {path} as a raster")
    if not dataset.GetProjection():
        raise InputError(parameter, f"{path} has no CRS; assign one first (gdal:assignprojection)")
    if _same_grid(dataset, template):
        return dataset
    x0, pixel, _, y0, _, negative = template.GetGeoTransform()
    bounds = (x0, y0 + negative * template.RasterYSize, x0 + pixel * template.RasterXSize, y0)
    if not _overlaps(dataset, template):
        raise InputError(parameter, f"{path} does not overlap the first ascending map")
    return checked(gdal.Warp("", dataset, format="VRT", outputBounds=bounds, width=template.RasterXSize,
                             height=template.RasterYSize, dstSRS=template.GetProjection(), resampleAlg="bilinear",
                             srcNodata=np.nan, dstNodata=np.nan), f"resample {path}")


def _same_grid(dataset, template):
    return (dataset.RasterXSize, dataset.RasterYSize) == (template.RasterXSize, template.RasterYSize) and \
        np.allclose(dataset.GetGeoTransform(), template.GetGeoTransform()) and \
        dataset.GetSpatialRef().IsSame(template.GetSpatialRef())


def _extent(dataset, target_srs=None):
    """(x_min, y_min, x_max, y_max) of a dataset, in ``target_srs`` when given."""
    x0, pixel, _, y0, _, negative = dataset.GetGeoTransform()
    corners = [(x0, y0), (x0 + pixel * dataset.RasterXSize, y0 + negative * dataset.RasterYSize)]
    if target_srs is not None and not dataset.GetSpatialRef().IsSame(target_srs):
        source, target = dataset.GetSpatialRef().Clone(), target_srs.Clone()
        for reference in (source, target):
            reference.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
        transform = osr.CoordinateTransformation(source, target)
        corners = [transform.TransformPoint(x, y)[:2] for x, y in corners]
    xs, ys = zip(*corners)
    return min(xs), min(ys), max(xs), max(ys)


def _overlaps(dataset, template):
    a, b = _extent(dataset, template.GetSpatialRef()), _extent(template)
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _check_probabilities(block, parameter, path):
    if (block[np.isfinite(block)] < 0).any() or (block[np.isfinite(block)] > 1).any():
        raise InputError(parameter, f"{path} holds values outside 0-1; it must be a probability map from detect")


def combined_block(ascending, descending):
    """max over (a, d) pairs of the pair mean; each (rows, cols) float, NaN = no data."""
    best = None
    for up in ascending:
        for down in descending:
            with np.errstate(invalid="ignore"):
                pair = np.where(np.isnan(up), down, np.where(np.isnan(down), up, (up + down) / 2.0))
            best = pair if best is None else np.fmax(best, pair)
    return best


def combine_passes(ascending_paths, descending_paths, output_path, progress=None, is_cancelled=None):
    """Write the combined probability GeoTIFF (float32 0-1, NaN = no data) on the first ascending grid.

    Raises InputError naming ASCENDING or DESCENDING when a list is empty, a
    map cannot be read, has no CRS, does not overlap, or is not a probability map.
    """
    report = progress or (lambda fraction, message: None)
    for parameter, paths in (("ASCENDING", ascending_paths), ("DESCENDING", descending_paths)):
        if not paths:
            raise InputError(parameter, "needs at least one probability map")
    template = gdal.Open(ascending_paths[0], gdal.GA_ReadOnly)
    if template is None:
        raise InputError("ASCENDING", f"cannot read {ascending_paths[0]} as a raster")
    looks = {parameter: [(path, _on_grid(path, template, parameter)) for path in paths]
             for parameter, paths in (("ASCENDING", ascending_paths), ("DESCENDING", descending_paths))}
    height, width = template.RasterYSize, template.RasterXSize
    with atomic_outputs(output_path) as ((staged,), _):
        output = create_like(staged, template, OUTPUT_OPTIONS)
        try:
            for row, rows in row_blocks(height):
                if is_cancelled and is_cancelled():
                    raise Cancelled()
                report(row / height, f"Combining rows {row}-{row + rows - 1}")
                blocks = {}
                for parameter, sources in looks.items():
                    blocks[parameter] = []
                    for path, dataset in sources:
                        block = read_window(dataset.GetRasterBand(1), (row, 0, rows, width))
                        _check_probabilities(block, parameter, path)
                        blocks[parameter].append(block)
                combined = combined_block(blocks["ASCENDING"], blocks["DESCENDING"])
                output.GetRasterBand(1).WriteArray(combined.astype(np.float32), 0, row)
        finally:
            del output  # closes the GeoTIFF before it is moved in place or removed
    report(1.0, "Done")
    return {"width": width, "height": height, "looks": sum(len(sources) for sources in looks.values())}
