"""Outputs arrive styled, and one run's layers together, wherever Processing loads them.

Algorithms call :func:`style_when_loaded` for each output; when Processing
(Toolbox, modeller, dialogs, runAndLoadResults) adds the layer to the
project, the post-processor applies the style from ``layer_styles`` and
moves the layer into the run's group in the layer tree.
"""
from datetime import datetime

from qgis.core import QgsProcessingLayerPostProcessorInterface, QgsProject

_PENDING = set()  # post-processors QGIS holds only by pointer: kept alive here until called


class _StyleOnLoad(QgsProcessingLayerPostProcessorInterface):
    def __init__(self, style, group):
        super().__init__()
        self.style, self.group = style, group

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802 (QGIS API)
        try:
            if layer is not None and layer.isValid():
                self.style(layer)
                move_into_group(layer, layer.project() or QgsProject.instance(), self.group)
        finally:
            _PENDING.discard(self)


def run_group_name(algorithm_name):
    """The layer-tree group of one run: the algorithm's name and the time it ran."""
    return f"{algorithm_name} {datetime.now():%H:%M:%S}"


def style_when_loaded(context, path, style, group):
    """Have ``style(layer)`` applied to output ``path`` when Processing loads it, inside ``group``."""
    if not path or not context.willLoadLayerOnCompletion(path):
        return
    processor = _StyleOnLoad(style, group)
    _PENDING.add(processor)
    context.layerToLoadOnCompletionDetails(path).setPostProcessor(processor)


def move_into_group(layer, project, name):
    """Move ``layer``'s node into the top-level group ``name`` (created at the top when missing)."""
    root = project.layerTreeRoot()
    node = root.findLayer(layer.id())
    if node is None:
        return
    group = root.findGroup(name) or root.insertGroup(0, name)
    if node.parent() is group:
        return
    group.addChildNode(node.clone())
    node.parent().removeChildNode(node)
