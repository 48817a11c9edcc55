"""Apply a trained model to a folder of new images and write a diagnosis table.

Each image (PNG, JPEG, TIFF or DICOM, in any subfolder) is prepared with the preprocessing
settings stored inside the model file, so it matches what the model was trained on. Output: one
row per image with the predicted class and the probability of every class; files that cannot be
read go to a rejects table with the reason.
"""

import argparse
import logging
from pathlib import Path
from typing import Any

import numpy as np
from img_io import (
    UnreadableImage,
    add_decision_args,
    decide,
    decision_settings,
    list_files,
    positive_index,
    prediction_table,
    prepare_image,
    rejects_frame,
    relative,
    require_file,
    write_table,
)

from medflow_cli import InputError, add_common_args, progress, run_step

log = logging.getLogger("medflow.img_predict")
SETTING_KEYS = ("height", "width", "channels", "scaling", "resize_method")


def load_folder(folder: Path, settings: dict[str, Any]) -> tuple[list[str], list, list]:
    """Prepared images of every file under folder, with their names; rejects with reasons."""
    names, images, rejects = [], [], []
    files = list_files(folder)
    for path in progress(files, total=len(files), desc="reading"):
        name = relative(path, folder)
        try:
            image, _ = prepare_image(path, **settings)
        except UnreadableImage as error:
            rejects.append((name, str(error)))
            continue
        names.append(name)
        images.append(image)
    return names, images, rejects


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="trained .keras model (made by medflow)")
    parser.add_argument("--images", required=True, help="folder of new images")
    parser.add_argument("--diagnoses", required=True, help="output TSV of predictions")
    parser.add_argument("--rejects", required=True, help="output TSV of unreadable files")
    add_decision_args(parser)
    add_common_args(parser)
    return parser


def from_snakemake(smk: Any) -> dict[str, Any]:
    return {
        "model": smk.input.model,
        "images": smk.input.images if isinstance(smk.input.images, str) else smk.input.images[0],
        "diagnoses": smk.output.diagnoses,
        "rejects": smk.output.rejects,
        **decision_settings(smk),
    }


def main(
    model: str,
    images: str,
    diagnoses: str,
    rejects: str,
    positive_class: str | None = None,
    threshold: float = 0.5,
    batch_size: int = 256,
    seed: int = 42,
    threads: int = 1,
) -> None:
    folder = require_file(images, "imaging.predict.images")
    if not folder.is_dir():
        raise InputError(f"imaging.predict.images '{folder}' is not a folder")
    import img_models
    import keras

    try:
        stored = img_models.read_medflow_config(model)
    except KeyError as error:
        raise InputError(str(error)) from error
    class_names = stored["class_names"]
    settings = {key: stored["preprocess"][key] for key in SETTING_KEYS}
    names, prepared, rejected = load_folder(Path(folder), settings)
    img_models.configure_determinism(seed, threads)
    network = keras.models.load_model(model)
    stack = np.stack(prepared) if prepared else np.zeros((0, *stored["input_shape"]), np.float32)
    probabilities = img_models.class_probabilities(network, stack, batch_size)
    positive = positive_index(class_names, positive_class)
    table = prediction_table(
        names, probabilities, decide(probabilities, positive, threshold), class_names
    )
    n_files = len(list_files(Path(folder)))
    assert len(table) + len(rejected) == n_files, "every new image is diagnosed or rejected"
    write_table(table, diagnoses)
    write_table(rejects_frame(rejected), rejects)
    counts = table["predicted_class"].value_counts().to_dict()
    log.info("diagnosed %d images (%s); %d rejected", len(table), counts, len(rejected))


if __name__ == "__main__":
    run_step(main, build_parser, from_snakemake, globals().get("snakemake"))
