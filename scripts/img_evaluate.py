"""Evaluate the trained model on the held-out test split: metrics, confusion matrix and ROC curve.

The only step that reads the test split. metrics.json holds MedMNIST's definitions (ACC: argmax,
or the positive class's probability > the threshold for two classes; AUC: the positive class's ROC
AUC, or one-vs-rest macro for more classes) beside balanced accuracy, F1 and per-class sensitivity
and specificity. Every test image's probabilities are written too, so each one ends in a row.

Inputs:
    arrays: preprocessed arrays .npz from img_preprocess
    model: trained .keras model from img_train
Outputs:
    metrics: metrics.json
    predictions: TSV: every test image's classes and probabilities
    confusion_plot: PNG: confusion matrix
    roc_plot: PNG: ROC curve
"""

import numpy as np

from medflow.imaging import decisions, plots
from medflow.imaging.io import load_arrays, write_json, write_table
from medflow.step import Context, InputError, Step, log

STEP = Step(__file__, settings=("seed", "imaging.evaluate"), threads=True)


def main(ctx: Context) -> None:
    settings = ctx.config["imaging"]["evaluate"]
    data = load_arrays(ctx.input.arrays, splits=("test",))
    class_names = [str(c) for c in data["class_names"]]
    try:
        positive = decisions.positive_index(class_names, settings["positive_class"])
    except decisions.DecisionError as error:
        raise InputError(f"imaging.evaluate.positive_class: {error}") from None
    labels = data["y_test"]
    if len(labels) == 0:
        raise InputError(f"'{ctx.input.arrays}': the test split is empty; nothing to evaluate")
    from medflow.imaging import models

    models.configure_determinism(ctx.config["seed"], ctx.threads)
    probabilities, _ = models.model_probabilities(
        ctx.input.model, data["x_test"], settings["batch_size"]
    )
    threshold = settings["threshold"]
    scores = decisions.medmnist_metrics(labels, probabilities, class_names, positive, threshold)
    result = {"n_test": scores.pop("n"), "test_counts": scores.pop("counts"), **scores}
    if result["roc_auc"] is None:
        log.warning("ROC AUC is undefined: the test split lacks some classes")
    predicted = decisions.decide(probabilities, positive, threshold)
    table = decisions.prediction_table(
        data["files_test"], probabilities, predicted, class_names, labels
    )
    write_json(result, ctx.output.metrics)
    write_table(table, ctx.output.predictions)
    plots.plot_confusion(
        np.array(result["confusion_matrix"]), class_names, ctx.output.confusion_plot
    )
    plots.plot_roc(labels, probabilities, class_names, positive, ctx.output.roc_plot)
    log.info(
        "test: ACC %s, AUC %s, balanced accuracy %s",
        result["accuracy"],
        result["roc_auc"],
        result["balanced_accuracy"],
    )


if __name__ == "__main__":
    STEP.run(main, globals().get("snakemake"))
