"""A velocity raster wrapped at one interval, as the CNN sees it (the paper's Fig. 2d), streamed through GDAL."""
from ..common.errors import Cancelled
from ..common.raster_io import OUTPUT_OPTIONS, atomic_outputs, create_like, open_band, read_window, row_blocks
from ..learning.wrapping import wrap


def wrap_raster(velocity_path, output_path, interval, offset=0.0, is_cancelled=None):
    """Write mod(v + offset, interval) in mm/yr (float32, 0 to ``interval``, NaN where v is NaN)."""
    dataset, band = open_band(velocity_path, 1)
    with atomic_outputs(output_path) as ((staged,), _):
        output = create_like(staged, dataset, OUTPUT_OPTIONS)
        try:
            for row, rows in row_blocks(dataset.RasterYSize):
                if is_cancelled and is_cancelled():
                    raise Cancelled()
                velocity = read_window(band, (row, 0, rows, dataset.RasterXSize))
                output.GetRasterBand(1).WriteArray(wrap(velocity, interval, offset), 0, row)
        finally:
            del output  # closes the GeoTIFF before it is moved in place or removed
