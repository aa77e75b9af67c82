"""Write resources/detect_ascending_descending.model3: the ready-made Processing model.

The model chains insardefo:interpolate -> insardefo:detect for an ascending
and a descending velocity layer and insardefo:combine over the two
probability maps (section III-D). Its inputs: each pass's layer (points or
sparse raster) with its velocity field, the pixel size for point layers and
the probability thresholds; its outputs: the combined probability and areas
and each pass's probability. Open it in the graphical modeller, or run it:

    qgis_process.bin run resources/detect_ascending_descending.model3 -- \\
        ascending=asc.gpkg ascending_field=velocity descending=desc.gpkg descending_field=velocity \\
        pixel_size=10 combine:combined_probability=p.tif combine:combined_areas=areas.gpkg

Rebuild it after changing the algorithms' parameters: ``make model3``.
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL_PATH = os.path.join(ROOT, "resources", "detect_ascending_descending.model3")
PASSES = ("ascending", "descending")


def _input_parameters():
    from qgis.core import (
        QgsProcessing,
        QgsProcessingParameterField,
        QgsProcessingParameterMapLayer,
        QgsProcessingParameterNumber,
        QgsProcessingParameterString,
    )

    parameters = []
    for name in PASSES:
        parameters.append(QgsProcessingParameterMapLayer(
            name, f"{name.capitalize()} velocities: points or sparse raster (mm/yr)",
            types=[QgsProcessing.TypeVectorPoint, QgsProcessing.TypeRaster]))
        parameters.append(QgsProcessingParameterField(
            f"{name}_field", f"{name.capitalize()} velocity field (point layers)", parentLayerParameterName=name,
            type=QgsProcessingParameterField.Numeric, optional=True))
    parameters.append(QgsProcessingParameterNumber(
        "pixel_size", "Pixel size (map units; point layers)", type=QgsProcessingParameterNumber.Double,
        defaultValue=10.0, minValue=0.0))
    parameters.append(QgsProcessingParameterString("thresholds", "Probability thresholds (0-1, comma-separated)",
                                                   defaultValue="0.5,0.75,0.9"))
    return parameters


def _child(model, algorithm, child_id, description, position, sources, outputs=()):
    """Add child ``child_id`` running ``algorithm`` at ``position`` (x, y) in the modeller.

    ``sources``: {parameter: source}; ``outputs``: (model output name, child output, title).
    """
    from qgis.core import QgsProcessingModelChildAlgorithm, QgsProcessingModelOutput
    from qgis.PyQt.QtCore import QPointF

    child = QgsProcessingModelChildAlgorithm(algorithm)
    child.setChildId(child_id)
    child.setDescription(description)
    child.setPosition(QPointF(*position))
    for parameter, source in sources.items():
        child.addParameterSources(parameter, [source])
    model_outputs = {}
    for number, (output_name, child_output, title) in enumerate(outputs):
        output = QgsProcessingModelOutput(output_name, title)
        output.setChildId(child_id)
        output.setChildOutputName(child_output)
        output.setPosition(QPointF(position[0] + 60 + 170 * number, position[1] + 90))
        model_outputs[output_name] = output
    child.setModelOutputs(model_outputs)
    model.addChildAlgorithm(child)


def build_model():
    """The model as a QgsProcessingModelAlgorithm (needs QGIS and the plugin's provider registered)."""
    from qgis.core import QgsProcessingModelAlgorithm, QgsProcessingModelParameter
    from qgis.core import QgsProcessingModelChildParameterSource as Source
    from qgis.PyQt.QtCore import QPointF

    model = QgsProcessingModelAlgorithm("Detect deformation in ascending and descending passes",
                                        "InSAR Deformation Detector", "insardefo_ascending_descending")
    for number, parameter in enumerate(_input_parameters()):
        component = QgsProcessingModelParameter(parameter.name())
        component.setPosition(QPointF(120 + 170 * number, 60))
        model.addModelParameter(parameter, component)
    for column, name in enumerate(PASSES):
        x = 200 + 420 * column
        _child(model, "insardefo:interpolate", f"interpolate_{name}", f"Interpolate the {name} velocities", (x, 200), {
            "INPUT": Source.fromModelParameter(name), "FIELD": Source.fromModelParameter(f"{name}_field"),
            "PIXEL_SIZE": Source.fromModelParameter("pixel_size"), "METHOD": Source.fromStaticValue(0)})
        _child(model, "insardefo:detect", f"detect_{name}", f"Detect deformation ({name})", (x, 330), {
            "INPUT": Source.fromChildOutput(f"interpolate_{name}", "OUTPUT"),
            "INTERPOLATION": Source.fromStaticValue(3), "THRESHOLDS": Source.fromModelParameter("thresholds")},
            [(f"{name}_probability", "OUTPUT_PROBABILITY", f"{name.capitalize()} probability")])
    _child(model, "insardefo:combine", "combine", "Combine the passes (section III-D)", (410, 500), {
        "ASCENDING": Source.fromChildOutput("detect_ascending", "OUTPUT_PROBABILITY"),
        "DESCENDING": Source.fromChildOutput("detect_descending", "OUTPUT_PROBABILITY"),
        "THRESHOLDS": Source.fromModelParameter("thresholds")},
        [("combined_probability", "OUTPUT_PROBABILITY", "Combined probability"),
         ("combined_areas", "OUTPUT_AREAS", "Combined detection areas")])
    model.setHelpContent({"ALG_DESC": "Interpolates an ascending and a descending velocity layer by matrix "
                                      "completion, detects deformation in each with the bundled CNN, and "
                                      "combines the two probability maps (Anantrasirichai et al., section III-D)."})
    return model


def main():
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    from qgis.core import QgsApplication

    import qgis_process_runner

    sys.path.insert(0, qgis_process_runner.ensure_plugin_path())
    application = QgsApplication([], False)
    application.initQgis()
    try:
        import insar_deformation_detector

        plugin = insar_deformation_detector.classFactory(None)
        plugin.initProcessing()
        model = build_model()
        if not model.toFile(MODEL_PATH):
            raise SystemExit(f"could not write {MODEL_PATH}")
        print(MODEL_PATH)
        plugin.unload()
        del model, plugin
    finally:
        application.exitQgis()


if __name__ == "__main__":
    main()
