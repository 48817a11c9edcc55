"""Make the embedded imaging example: seeded grey images of a simulated organ, with or without a lesion.

Lesion size, contrast and noise come from imaging.example, so the task can be made easier or
harder; with the defaults a good CNN learns it well but not perfectly. Output: one subfolder per
class of PNG files (the folder input format), plus a folder of new, unlabelled cases and their
hidden truth for the predict step.

Outputs:
    images: output folder, one subfolder per class
    new_images: output folder of new, unlabelled cases
    new_truth: TSV of the new cases' true classes
"""

from pathlib import Path

import pandas as pd

from medflow.imaging.example import CLASSES, make_dataset, save_png
from medflow.imaging.io import write_table
from medflow.step import Context, InputError, Step, log

STEP = Step(__file__, settings=("seed", "imaging.example"))


def main(ctx: Context) -> None:
    example = ctx.config["imaging"]["example"]
    if example["lesion_radius_min"] > example["lesion_radius_max"]:
        raise InputError(
            f"imaging.example.lesion_radius_min ({example['lesion_radius_min']}) is above "
            f"lesion_radius_max ({example['lesion_radius_max']}); swap them"
        )
    settings = {
        "lesion_fraction": example["lesion_fraction"],
        "size": example["image_size"],
        "lesion_radius": (example["lesion_radius_min"], example["lesion_radius_max"]),
        "lesion_contrast": example["lesion_contrast"],
        "noise": example["noise"],
    }
    seed, images_dir = ctx.config["seed"], Path(ctx.output.images)
    images, labels = make_dataset(seed, example["n_images"], **settings, stream=0)
    for index, (pixels, label) in enumerate(zip(images, labels, strict=True)):
        save_png(pixels, images_dir / label / f"case_{index:05d}.png")
    for label in CLASSES:
        (images_dir / label).mkdir(parents=True, exist_ok=True)
    log.info("wrote %d labelled images to %s", len(images), images_dir)

    new_images, new_labels = make_dataset(seed, example["n_new"], **settings, stream=1)
    Path(ctx.output.new_images).mkdir(parents=True, exist_ok=True)
    names = [f"new_{index:04d}.png" for index in range(len(new_images))]
    for pixels, name in zip(new_images, names, strict=True):
        save_png(pixels, Path(ctx.output.new_images) / name)
    write_table(pd.DataFrame({"file": names, "class": new_labels}), ctx.output.new_truth)
    log.info("wrote %d new cases to %s", len(names), ctx.output.new_images)


if __name__ == "__main__":
    STEP.run(main, globals().get("snakemake"))
