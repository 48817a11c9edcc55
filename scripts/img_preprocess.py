"""Preprocess labelled medical images into train/validation/test arrays (no TensorFlow here).

Inputs, one chosen by `format`: a folder with one subfolder per class of PNG/JPEG/TIFF images;
a folder of DICOM files with a labels table (file -> class); or a MedMNIST-style .npz whose
train/val/test splits are kept. Every image is decoded, converted to the configured channels,
resized and scaled; folder and DICOM inputs get a stratified, seeded split. Outputs: one .npz of
arrays (read by training and evaluation), a manifest (every kept image, its split and original
shape), class counts per split, and a rejects table (file, reason) for unusable images.
"""

import argparse
import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from img_io import (
    IMAGE_EXTENSIONS,
    RESIZE_METHODS,
    SCALINGS,
    UnreadableImage,
    decode_any,
    list_files,
    prepare_pixels,
    rejects_frame,
    relative,
    require_file,
    save_npz_stable,
    write_table,
)

from medflow_cli import InputError, add_common_args, progress, run_step

log = logging.getLogger("medflow.img_preprocess")
SPLITS = ("train", "val", "test")
NPZ_KEYS = tuple(f"{split}_{kind}" for split in SPLITS for kind in ("images", "labels"))
MIN_PER_CLASS = 3  # one image per split at the very least


@dataclass
class Dataset:
    """Prepared images with their class, split and origin; rejects alongside."""

    files: list[str] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)
    splits: list[str] = field(default_factory=list)
    images: list[np.ndarray] = field(default_factory=list)
    shapes: list[tuple[int, ...]] = field(default_factory=list)
    rejects: list[tuple[str, str]] = field(default_factory=list)


# ---------------------------------------------------------------- listing the labelled inputs


def scan_class_folder(root: Path) -> tuple[list[tuple[Path, str]], list[tuple[str, str]]]:
    """(image path, class) for every file in a class subfolder; rejects for files elsewhere."""
    root = require_file(root, "imaging.input.folder")
    if not root.is_dir():
        raise InputError(f"imaging.input.folder '{root}' is not a folder")
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_dirs:
        raise InputError(
            f"imaging.input.folder '{root}' has no class subfolders; put each class's images in "
            "a subfolder named after the class (e.g. normal/, pneumonia/)"
        )
    records, rejects = [], []
    for class_dir in class_dirs:
        files = list_files(class_dir)
        images = [f for f in files if f.suffix.lower() in IMAGE_EXTENSIONS]
        if not images:
            raise InputError(
                f"class folder '{class_dir}' holds no PNG, JPEG or TIFF images; add images or "
                "remove the folder"
            )
        records += [(f, class_dir.name) for f in images]
        rejects += [
            (relative(f, root), f"not an image file (extension '{f.suffix}')")
            for f in files
            if f not in images
        ]
    in_classes = {path for path, _ in records} | {root / r for r, _ in rejects}
    rejects += [
        (relative(f, root), "not inside a class subfolder")
        for f in list_files(root)
        if f not in in_classes
    ]
    return records, rejects


def read_labels_table(path: Path, file_column: str, class_column: str) -> pd.DataFrame:
    """The labels table (CSV or TSV) with columns file and class; fails naming bad lines."""
    path = require_file(path, "imaging.input.labels")
    sep = "," if path.suffix.lower() == ".csv" else "\t"
    try:
        table = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise InputError(f"labels table '{path}' cannot be parsed: {error}") from error
    missing = [c for c in (file_column, class_column) if c not in table.columns]
    if missing:
        raise InputError(
            f"labels table '{path}' lacks column(s) {missing}; it has {list(table.columns)} "
            "(set imaging.input.labels_file_column / labels_class_column)"
        )
    table = table[[file_column, class_column]].rename(
        columns={file_column: "file", class_column: "class"}
    )
    table["file"] = table["file"].str.strip().str.replace("\\", "/", regex=False)
    table["class"] = table["class"].str.strip()
    table["line"] = np.arange(len(table)) + 2  # header is line 1
    for column in ("file", "class"):
        empty = table.loc[table[column] == "", "line"].tolist()
        if empty:
            raise InputError(f"labels table '{path}': empty '{column}' on line(s) {empty[:10]}")
    duplicated = table[table["file"].duplicated(keep=False)]
    if len(duplicated):
        first = duplicated.iloc[0]["file"]
        lines = duplicated.loc[duplicated["file"] == first, "line"].tolist()
        raise InputError(
            f"labels table '{path}' names file '{first}' more than once (lines {lines}); "
            "give each file one class"
        )
    return table


def scan_dicom(
    root: Path, labels: Path, file_column: str, class_column: str
) -> tuple[list[tuple[Path, str]], list[tuple[str, str]]]:
    """(DICOM path, class) by the labels table; rejects for unlabelled and missing files."""
    root = require_file(root, "imaging.input.dicom_dir")
    table = read_labels_table(Path(labels), file_column, class_column)
    files = {relative(f, root): f for f in list_files(root)}
    labels_path = Path(labels).resolve()
    files = {name: f for name, f in files.items() if f.resolve() != labels_path}
    labelled = dict(zip(table["file"], table["class"], strict=True))
    line_of = dict(zip(table["file"], table["line"], strict=True))
    records = [(files[name], labelled[name]) for name in sorted(files) if name in labelled]
    rejects = [
        (name, f"no entry in labels table '{labels}'") for name in files if name not in labelled
    ]
    rejects += [
        (name, f"listed in labels table (line {line_of[name]}) but no such file in '{root}'")
        for name in labelled
        if name not in files
    ]
    return records, rejects


# ---------------------------------------------------------------- decoding and splitting


def decode_records(
    records: list[tuple[Path, str]], root: Path, settings: dict[str, Any]
) -> Dataset:
    """Decode and prepare every listed image; unreadable ones become rejects with the reason."""
    data = Dataset()
    for path, label in progress(records, total=len(records), desc="preprocessing"):
        name = relative(path, root)
        try:
            pixels, full = decode_any(path)
            image = prepare_pixels(pixels, full, **settings)
        except UnreadableImage as error:
            data.rejects.append((name, str(error)))
            continue
        data.files.append(name)
        data.classes.append(label)
        data.images.append(image)
        data.shapes.append(tuple(np.atleast_3d(pixels).shape))
    return data


def check_classes(
    data: Dataset, listed_classes: set, n_records: int, class_names: list[str] | None
) -> list[str]:
    """The class order; fails clearly on one class, a class left empty, or unexpected names."""
    counts = Counter(data.classes)
    listed = sorted(set(data.classes) | set(listed_classes) | {c for c in class_names or []})
    empty = [c for c in listed if counts[c] == 0]
    if empty:
        reasons = Counter(reason for _, reason in data.rejects)
        raise InputError(
            f"class(es) {empty} have no readable images ({len(data.rejects)} of {n_records} "
            f"images rejected; most common reasons: {reasons.most_common(3)})"
        )
    if class_names:
        unknown = sorted(set(data.classes) - set(class_names))
        if unknown:
            raise InputError(
                f"images of class(es) {unknown} are not in imaging.input.class_names "
                f"{class_names}; add them or remove the images"
            )
        order = list(class_names)
    else:
        order = sorted(counts)
    if len(order) < 2:
        raise InputError(
            f"only one class found ({order}); a classifier needs images of at least two classes"
        )
    return order


def stratified_split(
    labels: np.ndarray, val_fraction: float, test_fraction: float, seed: int
) -> np.ndarray:
    """Split names ('train', 'val', 'test') per image, stratified by class and seeded."""
    from sklearn.model_selection import train_test_split

    labels = np.asarray(labels)
    counts = Counter(labels.tolist())
    small = {k: v for k, v in counts.items() if v < MIN_PER_CLASS}
    if small:
        raise InputError(
            f"class(es) with fewer than {MIN_PER_CLASS} readable images cannot be split into "
            f"train/validation/test: {small}; add images to them"
        )
    index = np.arange(len(labels))
    try:
        rest, test = train_test_split(
            index, test_size=test_fraction, stratify=labels, random_state=seed
        )
        train, val = train_test_split(
            rest,
            test_size=val_fraction / (1.0 - test_fraction),
            stratify=labels[rest],
            random_state=seed,
        )
    except ValueError as error:
        raise InputError(
            f"cannot make a stratified split of {len(labels)} images with "
            f"val_fraction={val_fraction}, test_fraction={test_fraction}: {error}; "
            "add images or raise the fractions"
        ) from error
    splits = np.empty(len(labels), dtype=object)
    splits[train], splits[val], splits[test] = "train", "val", "test"
    return splits


# ---------------------------------------------------------------- MedMNIST .npz


def load_npz(path: Path, settings: dict[str, Any], class_names: list[str] | None) -> Dataset:
    """A MedMNIST-style .npz, splits kept; each image through the same preparation."""
    path = require_file(path, "imaging.input.npz")
    try:
        archive = np.load(path, allow_pickle=False)
        keys = set(archive.files)
    except (OSError, ValueError) as error:
        raise InputError(f"'{path}' is not a readable .npz file: {error}") from error
    missing = [k for k in NPZ_KEYS if k not in keys]
    if missing:
        raise InputError(
            f"'{path}' lacks key(s) {missing} (has {sorted(keys)}); a MedMNIST-format .npz "
            f"needs {list(NPZ_KEYS)}"
        )
    data = Dataset()
    for split in SPLITS:
        images, labels = archive[f"{split}_images"], archive[f"{split}_labels"]
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]
        if labels.ndim != 1:
            raise InputError(
                f"'{path}': {split}_labels has shape {labels.shape}; expected (N,) or (N, 1) "
                "(multi-label data is not supported)"
            )
        if images.ndim not in (3, 4) or len(images) != len(labels):
            raise InputError(
                f"'{path}': {split}_images has shape {images.shape} but {split}_labels holds "
                f"{len(labels)} labels; expected (N, H, W) or (N, H, W, C) with the same N"
            )
        if len(labels) == 0:
            raise InputError(f"'{path}': the {split} split is empty")
        if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0:
            raise InputError(f"'{path}': {split}_labels must be non-negative integers")
        full = (
            255.0 if images.dtype == np.uint8 else (65535.0 if images.dtype == np.uint16 else 1.0)
        )
        for i in progress(range(len(images)), total=len(images), desc=f"preprocessing {split}"):
            name = f"{split}_images[{i}]"
            try:
                image = prepare_pixels(images[i], full, **settings)
            except UnreadableImage as error:
                data.rejects.append((name, str(error)))
                continue
            data.files.append(name)
            data.classes.append(int(labels[i]))
            data.splits.append(split)
            data.images.append(image)
            data.shapes.append(tuple(np.atleast_3d(images[i]).shape))
    n_classes = max(data.classes) + 1 if data.classes else 0
    names = list(class_names) if class_names else [str(k) for k in range(n_classes)]
    if len(names) < n_classes:
        raise InputError(
            f"'{path}' has labels up to {n_classes - 1} but imaging.input.class_names lists only "
            f"{len(names)} names"
        )
    data.classes = [names[k] for k in data.classes]
    train_classes = {c for c, s in zip(data.classes, data.splits, strict=True) if s == "train"}
    if len(train_classes) < 2:
        raise InputError(
            f"'{path}': the train split holds only class(es) {sorted(train_classes)}; a "
            "classifier needs at least two"
        )
    return data


# ---------------------------------------------------------------- outputs


def class_counts(classes: list[str], splits: list[str], order: list[str]) -> pd.DataFrame:
    """Images per class and split, with totals."""
    counts = Counter(zip(classes, splits, strict=True))
    rows = [
        {
            "class": c,
            **{s: counts[(c, s)] for s in SPLITS},
            "total": sum(counts[(c, s)] for s in SPLITS),
        }
        for c in order
    ]
    frame = pd.DataFrame(rows, columns=["class", *SPLITS, "total"])
    totals = {"class": "all", **{col: int(frame[col].sum()) for col in [*SPLITS, "total"]}}
    return pd.concat([frame, pd.DataFrame([totals])], ignore_index=True)


def arrays_by_split(
    data: Dataset, order: list[str], settings: dict[str, Any]
) -> dict[str, np.ndarray]:
    """x_/y_/files_ arrays per split, class_names and the preprocessing settings (JSON)."""
    index = {name: k for k, name in enumerate(order)}
    arrays: dict[str, np.ndarray] = {
        "class_names": np.array(order, dtype=str),
        "preprocess_settings": np.array(json.dumps(settings, sort_keys=True)),
    }
    splits = np.array(data.splits)
    images = np.stack(data.images).astype(np.float32)
    labels = np.array([index[c] for c in data.classes], dtype=np.int64)
    files = np.array(data.files, dtype=str)
    for split in SPLITS:
        chosen = np.flatnonzero(splits == split)
        arrays[f"x_{split}"] = images[chosen]
        arrays[f"y_{split}"] = labels[chosen]
        arrays[f"files_{split}"] = files[chosen]
    return arrays


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--format", required=True, choices=["folder", "dicom", "npz"])
    parser.add_argument("--source", required=True, help="class folder, DICOM folder or .npz file")
    parser.add_argument("--labels", default=None, help="labels table for DICOM (CSV or TSV)")
    parser.add_argument("--labels-file-column", default="file", help="labels table file column")
    parser.add_argument("--labels-class-column", default="class", help="labels table class column")
    parser.add_argument("--class-names", nargs="*", default=None, help="class order / npz names")
    parser.add_argument("--arrays", required=True, help="output .npz of arrays")
    parser.add_argument("--manifest", required=True, help="output TSV: kept images and splits")
    parser.add_argument("--counts", required=True, help="output TSV: class counts per split")
    parser.add_argument("--rejects", required=True, help="output TSV: rejected files and why")
    parser.add_argument("--height", type=int, default=28, help="output height (default 28)")
    parser.add_argument("--width", type=int, default=28, help="output width (default 28)")
    parser.add_argument("--channels", type=int, choices=[1, 3], default=1, help="1 grey, 3 RGB")
    parser.add_argument("--scaling", choices=SCALINGS, default="dtype_range")
    parser.add_argument("--resize-method", choices=RESIZE_METHODS, default="area")
    parser.add_argument("--val-fraction", type=float, default=0.15)
    parser.add_argument("--test-fraction", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=42)
    add_common_args(parser, threads=False)
    return parser


def from_snakemake(smk: Any) -> dict[str, Any]:
    inp, pre = smk.params.input, smk.params.preprocess
    return {
        "format": inp["format"],
        "source": smk.input.source,
        "labels": inp["labels"],
        "labels_file_column": inp["labels_file_column"],
        "labels_class_column": inp["labels_class_column"],
        "class_names": inp["class_names"],
        "arrays": smk.output.arrays,
        "manifest": smk.output.manifest,
        "counts": smk.output.counts,
        "rejects": smk.output.rejects,
        "height": pre["height"],
        "width": pre["width"],
        "channels": pre["channels"],
        "scaling": pre["scaling"],
        "resize_method": pre["resize_method"],
        "val_fraction": pre["val_fraction"],
        "test_fraction": pre["test_fraction"],
        "seed": smk.params.seed,
    }


def main(
    format: str,
    source: str,
    arrays: str,
    manifest: str,
    counts: str,
    rejects: str,
    labels: str | None = None,
    labels_file_column: str = "file",
    labels_class_column: str = "class",
    class_names: list[str] | None = None,
    height: int = 28,
    width: int = 28,
    channels: int = 1,
    scaling: str = "dtype_range",
    resize_method: str = "area",
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 42,
) -> None:
    settings = {
        "height": height,
        "width": width,
        "channels": channels,
        "scaling": scaling,
        "resize_method": resize_method,
    }
    class_names = list(class_names) if class_names else None
    if format == "npz":
        data = load_npz(Path(source), settings, class_names)
        n_records = len(data.files) + len(data.rejects)
        order = check_classes(data, set(data.classes), n_records, class_names)
        listing_rejects: list[tuple[str, str]] = []
    else:
        if format == "folder":
            records, listing_rejects = scan_class_folder(Path(source))
        elif format == "dicom":
            if not labels:
                raise InputError("imaging.input.labels must name the labels table for DICOM input")
            records, listing_rejects = scan_dicom(
                Path(source), Path(labels), labels_file_column, labels_class_column
            )
        else:
            raise InputError(f"unknown imaging.input.format '{format}'")
        data = decode_records(records, Path(source), settings)
        n_records = len(records) + len(listing_rejects)
        order = check_classes(data, {c for _, c in records}, n_records, class_names)
        data.splits = list(
            stratified_split(np.array(data.classes), val_fraction, test_fraction, seed)
        )
    all_rejects = rejects_frame([*listing_rejects, *data.rejects])
    assert len(data.files) + len(all_rejects) == n_records, "every input is kept or rejected"

    save_npz_stable(arrays, arrays_by_split(data, order, settings))
    table = pd.DataFrame(
        {
            "file": data.files,
            "class": data.classes,
            "split": data.splits,
            "original_height": [s[0] for s in data.shapes],
            "original_width": [s[1] for s in data.shapes],
            "original_channels": [s[2] if len(s) > 2 else 1 for s in data.shapes],
        }
    ).sort_values("file", kind="stable")
    write_table(table, manifest)
    write_table(class_counts(data.classes, data.splits, order), counts)
    write_table(all_rejects, rejects)
    mixed = table[["original_height", "original_width", "original_channels"]].drop_duplicates()
    if len(mixed) > 1:
        log.info(
            "inputs came in %d different sizes/channel counts; all converted to %dx%dx%d",
            len(mixed),
            height,
            width,
            channels,
        )
    log.info(
        "%d inputs: %d kept (%s), %d rejected",
        n_records,
        len(data.files),
        ", ".join(f"{s} {data.splits.count(s)}" for s in SPLITS),
        len(all_rejects),
    )


if __name__ == "__main__":
    run_step(main, build_parser, from_snakemake, globals().get("snakemake"))
