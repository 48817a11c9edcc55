"""Train the imaging model on the train and validation splits, make every choice on held-out images.

The recipe (medflow.imaging.training): an ensemble of seeded networks, each trained with AdamW, a
cosine learning-rate decay, label smoothing and augmentation, keeping its best held-out epoch; for
two classes the decision threshold with the best held-out accuracy. By default the networks are
cross-fitted (imaging.train.folds): train and validation are pooled into stratified folds, each
network trains on all folds but one and is judged on that one, and the out-of-fold predictions are
the held-out images; with folds 0 they train on the train split and are judged on the validation
split. The test split is not read.
Seeds, op determinism and the thread count make a rerun give identical weights. Outputs: the model
in the .keras format (with the medflow config that made it stored inside and beside it), the
training history as a table and a plot of its curves.

Inputs:
    arrays: preprocessed arrays .npz from img_preprocess
Outputs:
    model: the trained model (.keras)
    model_config: JSON: how the model was made (also stored inside the .keras)
    history: TSV: per member and epoch, training loss and validation scores
    history_plot: PNG: training curves
"""

import json
from pathlib import Path

from medflow.imaging import plots, training
from medflow.imaging.io import load_arrays, write_json, write_table
from medflow.step import Context, InputError, Step, console

STEP = Step(__file__, settings=("seed", "imaging.train"), threads=True)


def main(ctx: Context) -> None:
    settings = ctx.config["imaging"]["train"]
    seed = ctx.config["seed"]
    data = load_arrays(ctx.input.arrays, splits=("train", "val"))
    if len(data["x_train"]) == 0 or len(data["x_val"]) == 0:
        raise InputError(
            f"'{ctx.input.arrays}': training needs images in both the train and the validation "
            "split"
        )
    import keras
    import tensorflow as tf

    from medflow.imaging import models

    try:
        terminal = console() if ctx.log else None  # the log file holds stderr under Snakemake
        model, history, summary = training.train(data, settings, seed, ctx.threads, terminal)
    except training.FoldError as error:
        raise InputError(f"'{ctx.input.arrays}': {error}") from None
    config = {
        "model": settings["model"],
        "class_names": [str(c) for c in data["class_names"]],
        "input_shape": list(data["x_train"].shape[1:]),
        "seed": seed,
        "threads": ctx.threads,
        "train": settings,
        "decision": {"threshold": summary["threshold"], "tta": settings["tta"]},
        "preprocess": json.loads(str(data["preprocess_settings"])),
        "result": {
            "members": [
                {k: v for k, v in member.items() if k != "seconds"} for member in summary["members"]
            ],
            "folds": summary["folds"],
            "validation": summary["validation"],
            "val_auc": summary["val_auc"],
            "val_accuracy": summary["val_accuracy"],
            "parameters": summary["parameters"],
            "train_images": summary["train_images"],
        },
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__},
    }
    Path(ctx.output.model).parent.mkdir(parents=True, exist_ok=True)
    models.save_model_stable(model, ctx.output.model, config)
    write_json(config, ctx.output.model_config)
    write_table(history, ctx.output.history)
    plots.plot_history(history, ctx.output.history_plot)


if __name__ == "__main__":
    STEP.run(main, globals().get("snakemake"))
