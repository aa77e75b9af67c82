"""HTML reports of training and evaluation, and the learning-curve PNG.

The HTML holds the Table I metrics (%), the confusion matrix, the per-epoch
losses and, for training, the learning curve embedded as a PNG, so a report
is one file that Processing's results viewer or any browser opens.
"""
import base64
import html
import io

from ..common.dependencies import require
from .area_confidence import FALSE_AREAS_PER_1000_KM2
from .metrics import TABLE_I_COLUMNS

TITLES = {"accuracy": "Accuracy", "precision": "Precision", "recall": "Recall",
          "false_positive_rate": "False positive rate"}


def _two_panel_png(x, x_label, losses, loss_label, score, score_label):
    """PNG bytes: the loss curves (left; [(values, marker, legend)]) and one score (right) against ``x``."""
    require("matplotlib")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 3.6), dpi=100)
    FigureCanvasAgg(figure)
    left, right = figure.subplots(1, 2)
    for values, marker, legend in losses:
        left.plot(x, values, marker, label=legend)
    left.set_ylabel(loss_label)
    if len(losses) > 1:
        left.legend()
    right.plot(x, score, "s-", color="tab:green")
    right.set_ylabel(score_label)
    for axes in (left, right):
        axes.set_xlabel(x_label)
        axes.grid(alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def learning_curve_png(history):
    """PNG bytes: training and validation loss per epoch (left), validation accuracy % (right)."""
    return _two_panel_png([row["epoch"] for row in history], "epoch",
                          [([row["train_loss"] for row in history], "o-", "training"),
                           ([row["validation_loss"] for row in history], "s-", "validation")],
                          "cross-entropy loss", [row["validation_accuracy"] for row in history],
                          "validation accuracy (%), one look per example")


def dense_learning_curve_png(history):
    """PNG bytes: training loss per validation interval (left), validation pixel F1 % (right), by step."""
    return _two_panel_png([row["step"] for row in history], "step",
                          [([row["loss"] for row in history], "o-", "training")], "cross-entropy loss per pixel",
                          [row["pixel_f1"] for row in history], "validation pixel F1 (%)")


def _metrics_table(metrics):
    head = "".join(f"<th>{TITLES[name]}</th>" for name in TABLE_I_COLUMNS)
    cells = "".join(f"<td>{metrics[name]:.2f}</td>" for name in TABLE_I_COLUMNS)
    return (f"<table border='1' cellpadding='4'><tr>{head}</tr><tr>{cells}</tr></table>"
            f"<p>{metrics['count']} examples: {metrics['tp']} true positives, {metrics['fp']} false positives, "
            f"{metrics['tn']} true negatives, {metrics['fn']} false negatives.</p>")


def _confusion_table(confusion, classes):
    head = "".join(f"<th>predicted {html.escape(name)}</th>" for name in classes)
    rows = "".join(f"<tr><th>true {html.escape(name)}</th>{''.join(f'<td>{count}</td>' for count in row)}</tr>"
                   for name, row in zip(classes, confusion))
    return f"<table border='1' cellpadding='4'><tr><th></th>{head}</tr>{rows}</table>"


HISTORY_COLUMNS = (("epoch", "epoch", "{}"), ("training loss", "train_loss", "{:.4f}"),
                   ("validation loss", "validation_loss", "{:.4f}"),
                   ("validation accuracy (%)", "validation_accuracy", "{:.2f}"), ("seconds", "seconds", "{:.0f}"))
DENSE_HISTORY_COLUMNS = (("step", "step", "{}"), ("training loss", "loss", "{:.4f}"),
                         ("pixel precision (%)", "pixel_precision", "{:.1f}"),
                         ("pixel recall (%)", "pixel_recall", "{:.1f}"), ("pixel F1 (%)", "pixel_f1", "{:.1f}"),
                         ("seconds", "seconds", "{:.0f}"))


def _history_table(history, columns=HISTORY_COLUMNS):
    """An HTML table of ``history`` rows; ``columns``: (title, key, format) each."""
    head = "".join(f"<th>{title}</th>" for title, _, _ in columns)
    rows = "".join("<tr>" + "".join(f"<td>{form.format(row[key])}</td>" for _, key, form in columns) + "</tr>"
                   for row in history)
    return f"<table border='1' cellpadding='4'><tr>{head}</tr>{rows}</table>"


def _settings_list(settings):
    items = "".join(f"<li>{html.escape(str(key))}: {html.escape(str(value))}</li>" for key, value in settings.items())
    return f"<ul>{items}</ul>"


def evaluation_html(title, metrics, confusion, classes, settings):
    """An HTML page with the Table I metrics, the confusion matrix and the settings used."""
    return (f"<html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head><body>"
            f"<h1>{html.escape(title)}</h1><h2>Table I metrics (%)</h2>{_metrics_table(metrics)}"
            f"<h2>Confusion matrix</h2>{_confusion_table(confusion, classes)}"
            f"<h2>Settings</h2>{_settings_list(settings)}</body></html>")


def training_html(result, classes, settings, curve_png):
    """An HTML page for a training run: metrics, confusion matrix, epochs and the learning curve."""
    image = base64.b64encode(curve_png).decode("ascii")
    return (f"<html><head><meta charset='utf-8'><title>Training report</title></head><body>"
            f"<h1>Training report</h1><p>Best epoch: {result['best_epoch']} of {len(result['history'])} run.</p>"
            "<h2>Table I metrics on the validation set, at the detector's wrap settings (%)</h2>"
            f"{_metrics_table(result['metrics'])}"
            f"<h2>Confusion matrix</h2>{_confusion_table(result['confusion'], classes)}"
            f"<h2>Learning curve</h2><img src='data:image/png;base64,{image}' alt='learning curve'/>"
            f"<h2>Epochs</h2>{_history_table(result['history'])}"
            f"<h2>Settings</h2>{_settings_list(settings)}</body></html>")


def _area_confidence_table(table):
    """The area calibration (core.learning.area_confidence) as an HTML paragraph and table."""
    rows = "".join(f"<tr><td>{peak:.2f}</td><td>{share:.2f}</td></tr>"
                   for peak, share in zip(table["max_probability"], table["share_real"]))
    return (f"<p>Areas at {table['level']:g} on the same maps ({table['areas']}), by their highest probability: "
            "the share that touched real deformation (the areas' <i>confidence</i>).</p>"
            f"<table border='1'><tr><th>highest P</th><th>share real</th></tr>{rows}</table>"
            + _area_floor_paragraph(table))


def _area_floor_paragraph(table):
    """The area floors (core.learning.area_confidence) as an HTML paragraph; empty for a table without them."""
    if "min_peak" not in table:
        return ""
    bins = table.get("floor_by_pixel", {"edges_m": [], "min_peak": []})
    ranges = "; ".join(f"{low:.0f}-{high:.0f} m: {floor:.3f}" for low, high, floor in
                       zip(bins["edges_m"][:-1], bins["edges_m"][1:], bins["min_peak"]))
    return (f"<p>Area floor (no area peaking below it is drawn): {table['min_peak']:.3f} over the "
            f"{table['stable_km2']:.0f} km&sup2; of stable ground of these maps, by working pixel size "
            f"{ranges or 'not fitted'}; each keeps at most {FALSE_AREAS_PER_1000_KM2:g} false area per "
            "1,000 km&sup2;.</p>")


def dense_training_html(result, classes, settings, curve_png):
    """An HTML page for a dense training run: per-pixel metrics, calibration, validations and the curve."""
    image = base64.b64encode(curve_png).decode("ascii")
    fitted = result["calibration"]
    return (f"<html><head><meta charset='utf-8'><title>Training report</title></head><body>"
            f"<h1>Training report: dense detector</h1>"
            f"<p>Best validation pixel F1: {result['metadata']['validation']['pixel_f1']:.1f} % after "
            f"{result['metadata']['training']['steps']} steps.</p>"
            "<h2>Table I metrics per pixel of the validation maps, calibrated P(deformation) &ge; 0.5 (%)</h2>"
            f"{_metrics_table(result['metrics'])}"
            f"<h2>Confusion matrix (pixels)</h2>{_confusion_table(result['confusion'], classes)}"
            f"<h2>Calibration</h2><p>Temperature {fitted['temperature']:.3f} fitted on {fitted['maps']} held-out "
            f"maps: negative log-likelihood per pixel {fitted['nll_before']:.4f} before, "
            f"{fitted['nll_after']:.4f} after.</p>{_area_confidence_table(result['metadata']['area_confidence'])}"
            f"<h2>Learning curve</h2><img src='data:image/png;base64,{image}' alt='learning curve'/>"
            f"<h2>Validations</h2>{_history_table(result['history'], DENSE_HISTORY_COLUMNS)}"
            f"<h2>Settings</h2>{_settings_list(settings)}</body></html>")
