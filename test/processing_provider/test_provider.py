"""Tests of processing_provider/provider.py: the provider as qgis_process.bin sees it."""


def test_plugin_is_listed_and_enabled(qgis_process):
    qgis_process.enable_plugin()
    listing = qgis_process.call("plugins")
    assert listing.returncode == 0
    assert "* insar_deformation_detector" in listing.stdout  # '*' marks an enabled plugin
    help_text = qgis_process.call("help", "insardefo:interpolate")
    assert help_text.returncode == 0
    assert "Interpolate sparse velocities" in help_text.stdout
    assert "PIXEL_SIZE" in help_text.stdout
