"""Preprocess labelled medical images into train/validation/test arrays (no TensorFlow here).

Inputs, one chosen by imaging.input.format: a folder with one subfolder per class of PNG/JPEG/TIFF
images; a folder of DICOM files with a labels table (file -> class); or a MedMNIST-style .npz whose
train/val/test splits are kept. Every image is decoded, converted to the configured channels,
resized and scaled (0 = follow the data); folder and DICOM inputs get a stratified, seeded split.
Outputs: one .npz of arrays (read by training and evaluation), a manifest (every kept image, its
split and original shape), class counts per split, and a rejects table (file, reason).

Inputs:
    source: class folder, DICOM folder or .npz file (imaging.input.format says which)
    labels (optional): labels table of DICOM input (CSV or TSV)
Outputs:
    arrays: arrays .npz (x_/y_/files_ per split)
    manifest: TSV: every kept image, its split and original shape
    counts: TSV: class counts per split
    rejects: TSV: rejected inputs and why
"""

from collections import Counter

from medflow.imaging import datasets
from medflow.imaging.io import SPLITS, rejects_frame, save_npz_stable, write_table
from medflow.step import Context, InputError, Step, log

STEP = Step(__file__, settings=("seed", "imaging.input", "imaging.preprocess"), threads=True)


def main(ctx: Context) -> None:
    section = ctx.config["imaging"]["input"]
    if section["format"] == "dicom" and not ctx.input.labels:
        raise InputError("DICOM input needs its labels table (imaging.input.labels)")
    data, order, settings, n_records = datasets.read_inputs(
        section["format"],
        ctx.input.source,
        ctx.input.labels,
        section,
        ctx.config["imaging"]["preprocess"],
        ctx.config["seed"],
        ctx.threads,
    )
    rejects = rejects_frame(data.rejects)
    if len(data.files) + len(rejects) != n_records:
        raise RuntimeError(
            f"{n_records} inputs but {len(data.files)} kept and {len(rejects)} rejected"
        )
    save_npz_stable(ctx.output.arrays, datasets.arrays_by_split(data, order, settings))
    table = datasets.manifest(data)
    write_table(table, ctx.output.manifest)
    write_table(datasets.class_counts(data.classes, data.splits, order), ctx.output.counts)
    write_table(rejects, ctx.output.rejects)
    sizes = table[["original_height", "original_width", "original_channels"]].drop_duplicates()
    split_counts = Counter(data.splits)
    log.info(
        "%d inputs: %d kept (%s), %d rejected; %d input size(s), all made %dx%dx%d",
        n_records,
        len(data.files),
        ", ".join(f"{s} {split_counts[s]}" for s in SPLITS),
        len(rejects),
        len(sizes),
        settings["height"],
        settings["width"],
        settings["channels"],
    )
    scaling = ctx.config["imaging"]["preprocess"]["scaling"]
    for warning in (
        datasets.size_warning(settings),
        datasets.dim_warning(data.images, data.files, scaling),
    ):
        if warning:
            log.warning(warning)


if __name__ == "__main__":
    STEP.run(main, globals().get("snakemake"))
