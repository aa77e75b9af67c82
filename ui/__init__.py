"""The plugin's QGIS-facing side: layer styles, rendered maps, and (later) dialogs. No science lives here."""
