"""Detection areas: connected regions of a score raster above each level, with their attributes.

The score is the deformation probability (insardefo:detect, combine) or the
highest velocity threshold a pixel reaches (insardefo:threshold). For each
level, the pixels at or above it are grouped into 8-connected regions,
each becomes one polygon (pixel edges, so its area is exact), and the
rasters under it give its attributes. Everything is streamed: only one
area's bounding box is in memory at a time.
"""
import math
import os
import tempfile

import numpy as np
from osgeo import gdal, ogr
from scipy.ndimage import binary_dilation

from ..common.errors import Cancelled, InputError
from ..common.ground_units import ground_area_m2
from ..common.raster_io import PACKED_SCRATCH_OPTIONS, atomic_outputs, checked, create_like, read_window, row_blocks

LAYER_NAME = "areas"
RING_PX = 10  # pixels of surrounding ground a region's velocity is compared with to tell its sense
FIELDS = (("level", ogr.OFTReal), ("area_m2", ogr.OFTReal), ("max_probability", ogr.OFTReal),
          ("mean_probability", ogr.OFTReal), ("confidence", ogr.OFTReal), ("mean_velocity_mm_yr", ogr.OFTReal),
          ("extreme_velocity_mm_yr", ogr.OFTReal), ("measurements", ogr.OFTInteger),
          ("sense", ogr.OFTString), ("class", ogr.OFTString))


def parse_levels(text, parameter="THRESHOLDS", low=0.0, high=1.0):
    """Sorted distinct levels from comma-separated text (or numbers), each in (low, high]."""
    items = text.replace(";", ",").split(",") if isinstance(text, str) else list(text)
    try:
        levels = sorted({float(item) for item in items if str(item).strip()})
    except ValueError:
        raise InputError(parameter, f"must be comma-separated numbers, got {text!r}") from None
    if not levels:
        raise InputError(parameter, "needs at least one value")
    for level in levels:
        if not (math.isfinite(level) and low < level <= high):
            raise InputError(parameter, f"values must lie in ({low:g}, {high:g}], got {level:g}")
    return tuple(levels)


def _level_mask(score_band, template, level, path, stop):
    """A Byte GeoTIFF at ``path``: 1 where score >= level, else 0."""
    mask = create_like(path, template, PACKED_SCRATCH_OPTIONS, nodata=None, data_type=gdal.GDT_Byte)
    for row, rows in row_blocks(template.RasterYSize):
        stop()
        block = read_window(score_band, (row, 0, rows, template.RasterXSize))
        with np.errstate(invalid="ignore"):
            mask.GetRasterBand(1).WriteArray((block >= level).astype(np.uint8), 0, row)
    return mask


def _regions(mask):
    """An in-memory polygon layer of the mask's 8-connected regions of ones."""
    memory = ogr.GetDriverByName("Memory").CreateDataSource("regions")
    layer = memory.CreateLayer("regions", mask.GetSpatialRef(), ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn("value", ogr.OFTInteger))
    band = mask.GetRasterBand(1)
    if gdal.Polygonize(band, band, layer, 0, ["8CONNECTED=8"]) != 0:
        raise RuntimeError(f"GDAL could not trace the areas: {gdal.GetLastErrorMsg()}")
    return memory, layer


class _Rasters:
    """The rasters an area's attributes come from, read over one bounding box at a time."""

    def __init__(self, template, score, probability, velocity, measurements, kinds, support):
        self.template = template
        self.transform = template.GetGeoTransform()
        self.sources = {name: gdal.Open(path, gdal.GA_ReadOnly) if path else None
                        for name, path in (("score", score), ("probability", probability), ("velocity", velocity),
                                           ("measurements", measurements), ("kinds", kinds),
                                           ("support", support))}

    def box(self, geometry):
        """(row, col, rows, cols) around a geometry, grown by RING_PX and clipped to the raster."""
        x0, pixel, _, y0, _, negative_pixel = self.transform
        min_x, max_x, min_y, max_y = geometry.GetEnvelope()
        col0 = max(0, math.floor((min_x - x0) / pixel) - RING_PX)
        col1 = min(self.template.RasterXSize, math.ceil((max_x - x0) / pixel) + RING_PX)
        row0 = max(0, math.floor((y0 - max_y) / -negative_pixel) - RING_PX)
        row1 = min(self.template.RasterYSize, math.ceil((y0 - min_y) / -negative_pixel) + RING_PX)
        return row0, col0, row1 - row0, col1 - col0

    def inside(self, geometry, box):
        """(rows, cols) bool: the pixels of ``box`` whose centres lie in ``geometry``."""
        row, col, rows, cols = box
        x0, pixel, _, y0, _, negative_pixel = self.transform
        raster = gdal.GetDriverByName("MEM").Create("", cols, rows, 1, gdal.GDT_Byte)
        raster.SetGeoTransform((x0 + col * pixel, pixel, 0.0, y0 + row * negative_pixel, 0.0, negative_pixel))
        raster.SetProjection(self.template.GetProjection())
        memory = ogr.GetDriverByName("Memory").CreateDataSource("area")
        layer = memory.CreateLayer("area", self.template.GetSpatialRef(), ogr.wkbPolygon)
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetGeometry(geometry)
        layer.CreateFeature(feature)
        gdal.RasterizeLayer(raster, [1], layer, burn_values=[1])
        return raster.ReadAsArray().astype(bool)

    def read(self, name, box, band=1):
        source = self.sources[name]
        return None if source is None else read_window(source.GetRasterBand(band), box)


def _velocity_attributes(velocity, inside):
    """(mean, extreme, sense) of the velocities (mm/yr) inside, judged against a ring around."""
    values = velocity[inside & np.isfinite(velocity)]
    if values.size == 0:
        return None, None, None
    ring = binary_dilation(inside, iterations=RING_PX) & ~inside & np.isfinite(velocity)
    reference = float(np.median(velocity[ring])) if ring.any() else 0.0
    mean = float(values.mean())
    subsiding = mean < reference
    return mean, float(values.min() if subsiding else values.max()), "subsidence" if subsiding else "uplift"


def _attributes(rasters, geometry, level, kind_names, min_support, confidence, min_peak):
    """The area's field values, or None when it has fewer than ``min_support`` supporting cells
    or its highest probability is below ``min_peak`` (None: no floor)."""
    box = rasters.box(geometry)
    inside = rasters.inside(geometry, box)
    support = rasters.read("support", box)
    if support is not None:
        with np.errstate(invalid="ignore"):
            if int((np.abs(support[inside]) >= level).sum()) < min_support:
                return None
    values = {"level": float(level), "area_m2": ground_area_m2(geometry, rasters.template.GetSpatialRef())}
    probability = rasters.read("probability", box)
    if probability is not None and np.isfinite(probability[inside]).any():
        values["max_probability"] = float(np.nanmax(probability[inside]))
        if min_peak is not None and values["max_probability"] < min_peak:
            return None
        values["mean_probability"] = float(np.nanmean(probability[inside]))
        if confidence is not None:
            values["confidence"] = confidence(values["max_probability"])
    velocity = rasters.read("velocity", box)
    if velocity is not None:
        mean, extreme, sense = _velocity_attributes(velocity, inside)
        values.update(mean_velocity_mm_yr=mean, extreme_velocity_mm_yr=extreme, sense=sense)
    measurements = rasters.read("measurements", box)
    if measurements is not None:
        values["measurements"] = int(np.isfinite(measurements[inside]).sum())
    if rasters.sources["kinds"] is not None:
        shares = [np.nanmean(rasters.read("kinds", box, band)[inside]) for band in range(1, len(kind_names) + 1)]
        values["class"] = kind_names[int(np.nanargmax(shares))] if np.isfinite(shares).any() else None
    return values


def _create_output(path, srs):
    driver = ogr.GetDriverByName("GPKG")
    source = checked(driver.CreateDataSource(path), f"create {path}")
    layer = checked(source.CreateLayer(LAYER_NAME, srs, ogr.wkbPolygon), f"create layer {LAYER_NAME}")
    for name, kind in FIELDS:
        layer.CreateField(ogr.FieldDefn(name, kind))
    return source, layer


def _trace_level(layer, template, rasters, level, kind_names, min_support, confidence, min_peak, scratch, stop):
    """Add the areas at ``level`` to ``layer``; returns how many were kept."""
    kept = 0
    with tempfile.TemporaryDirectory(dir=scratch) as folder:
        mask = _level_mask(template.GetRasterBand(1), template, level, os.path.join(folder, "mask.tif"), stop)
        memory, regions = _regions(mask)
        try:
            layer.StartTransaction()
            for region in regions:
                stop()
                geometry = region.GetGeometryRef()
                values = _attributes(rasters, geometry, level, kind_names, min_support, confidence, min_peak)
                if values is None:
                    continue
                feature = ogr.Feature(layer.GetLayerDefn())
                feature.SetGeometry(geometry)
                for name, value in values.items():
                    if value is not None:
                        feature.SetField(name, value)
                layer.CreateFeature(feature)
                kept += 1
            layer.CommitTransaction()
        finally:
            del mask, memory, regions  # closes the scratch mask before its folder goes
    return kept


def contour_areas(score_path, levels, output_path, probability_path=None, velocity_path=None,
                  measurements_path=None, kinds_path=None, kind_names=(), support_path=None, min_support=0,
                  confidence=None, min_peak=None, progress=None, is_cancelled=None):
    """Write GeoPackage layer "areas" at ``output_path``: one polygon per connected region and level.

    ``score_path``: a single-band GeoTIFF; a pixel belongs to level L's
    regions where score >= L. Optional rasters on the same grid fill the
    attributes: ``probability_path`` (max and mean probability),
    ``velocity_path`` (mm/yr: mean and extreme velocity, and the sense:
    subsidence or uplift relative to the ground within RING_PX pixels
    around), ``measurements_path`` (finite cells are measurements; their
    number inside), ``kinds_path`` (one band per name in ``kind_names``:
    the class with the largest mean share). With ``support_path``, an area
    of level L is kept only when at least ``min_support`` of its cells have
    a support value of magnitude >= L. ``confidence`` (with ``probability_path``): a function of
    an area's highest probability giving the share of such areas that are real
    (core.learning.area_confidence), its ``confidence`` field. ``min_peak`` (with
    ``probability_path``): areas whose highest probability is below it are not drawn (a dense
    model's floor, core.learning.area_confidence.area_floor; None: all are). Fields that do not
    apply are NULL. Returns the number of areas kept per level, {level: count}.
    """
    report = progress or (lambda fraction, message: None)

    def stop():
        if is_cancelled and is_cancelled():
            raise Cancelled()

    template = checked(gdal.Open(score_path, gdal.GA_ReadOnly), f"open {score_path}")
    rasters = _Rasters(template, score_path, probability_path, velocity_path, measurements_path, kinds_path,
                       support_path)
    counts = {}
    with atomic_outputs(output_path) as ((staged,), scratch):
        output, layer = _create_output(staged, template.GetSpatialRef())
        try:
            for number, level in enumerate(levels):
                report(number / len(levels), f"Tracing the areas at level {level:g}")
                counts[level] = _trace_level(layer, template, rasters, level, list(kind_names), min_support,
                                             confidence, min_peak, scratch, stop)
        finally:
            del output, layer  # closes the GeoPackage before it is moved in place or removed
    report(1.0, f"{sum(counts.values())} areas")
    return counts
