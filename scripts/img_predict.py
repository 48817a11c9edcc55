"""Apply a trained model to a folder of new images and write a diagnosis table.

Each image (PNG, JPEG, TIFF or DICOM, in any subfolder) is prepared with the preprocessing settings
stored inside the model file, so it matches what the model was trained on, and decided as in
evaluation. Output: one row per image with the predicted class and the probability of every class;
files that cannot be read go to a rejects table with the reason.

Inputs:
    model: trained .keras model (made by medflow)
    images: folder of new images
Outputs:
    diagnoses: TSV: predicted class and probabilities per image
    rejects: TSV: unreadable files and why
"""

from pathlib import Path

import numpy as np

from medflow.imaging import decisions
from medflow.imaging.io import (
    PREDICT_SCALING_ADVICE,
    SCALING_ADVICE,
    UnreadableImage,
    list_files,
    prepare_image,
    rejects_frame,
    relative,
    require_file,
    write_table,
)
from medflow.step import Context, InputError, Step, log, progress

STEP = Step(__file__, settings=("seed", "imaging.evaluate"), threads=True)
SETTING_KEYS = ("height", "width", "channels", "scaling", "resize_method")


def load_folder(folder: Path, settings: dict, threads: int = 1) -> tuple[list[str], list, list]:
    """Prepared images of every file under folder, with their names; rejects with reasons. Files
    are decoded in `threads` threads; the results keep the files' order."""
    from concurrent.futures import ThreadPoolExecutor

    def prepared(path: Path) -> np.ndarray | str:
        try:
            return prepare_image(path, **settings)[0]
        except UnreadableImage as error:
            return str(error).replace(SCALING_ADVICE, PREDICT_SCALING_ADVICE)

    names, images, rejects = [], [], []
    files = list_files(folder)
    with ThreadPoolExecutor(max(1, threads)) as pool:
        done = progress(pool.map(prepared, files), total=len(files), desc="reading")
        for path, result in zip(files, done, strict=True):
            name = relative(path, folder)
            if isinstance(result, str):
                rejects.append((name, result))
                continue
            names.append(name)
            images.append(result)
    return names, images, rejects


def main(ctx: Context) -> None:
    settings = ctx.config["imaging"]["evaluate"]
    folder = require_file(ctx.input.images, "imaging.predict.images")
    if not folder.is_dir():
        raise InputError(f"imaging.predict.images '{folder}' is not a folder")
    from medflow.imaging import models

    try:
        stored = models.read_medflow_config(ctx.input.model)
    except KeyError as error:
        raise InputError(str(error)) from error
    class_names = stored["class_names"]
    try:
        positive = decisions.positive_index(class_names, settings["positive_class"])
    except decisions.DecisionError as error:
        raise InputError(f"imaging.evaluate.positive_class: {error}") from None
    preprocess = {key: stored["preprocess"][key] for key in SETTING_KEYS}
    names, prepared, rejected = load_folder(folder, preprocess, ctx.threads)
    if not names and not rejected:
        log.warning("imaging.predict.images '%s' holds no image files: nothing to diagnose", folder)
    models.configure_determinism(ctx.config["seed"], ctx.threads)
    stack = np.stack(prepared) if prepared else np.zeros((0, *stored["input_shape"]), np.float32)
    probabilities, _ = models.model_probabilities(ctx.input.model, stack, settings["batch_size"])
    predicted = decisions.decide(probabilities, positive, settings["threshold"])
    table = decisions.prediction_table(names, probabilities, predicted, class_names)
    write_table(table, ctx.output.diagnoses)
    write_table(rejects_frame(rejected), ctx.output.rejects)
    counts = table["predicted_class"].value_counts().to_dict()
    log.info("diagnosed %d images (%s); %d rejected", len(table), counts, len(rejected))


if __name__ == "__main__":
    STEP.run(main, globals().get("snakemake"))
