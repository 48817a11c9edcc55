"""The labelled inputs of the imaging branch, read into one checked, split data set.

Three formats: a folder with one subfolder per class of PNG/JPEG/TIFF images; a folder of DICOM
files with a labels table (file -> class); a MedMNIST-style .npz whose train/val/test splits are
kept. Every image goes through `medflow.imaging.io.prepare_pixels`; unusable images become rejects
rows (file, reason); problems with the input as a whole raise InputError with one clear message.
Folder and DICOM inputs get a stratified, seeded split.
"""

from __future__ import annotations

import json
import os
import posixpath
import unicodedata
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

from medflow.imaging.io import (
    IGNORED_FOLDERS,
    IMAGE_EXTENSIONS,
    SPLITS,
    UnreadableImage,
    decode_any,
    is_broken_link,
    is_colour,
    is_dicom_path,
    list_files,
    prepare_pixels,
    relative,
    require_file,
)
from medflow.step import InputError, first_non_utf8, log, not_utf8_text, progress

NPZ_KEYS = tuple(f"{split}_{kind}" for split in SPLITS for kind in ("images", "labels"))
NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a zip's first entry, or an empty zip
MIN_PER_CLASS = 3  # one image per split at the very least
DEFAULT_SIZE = 28  # height and width 0 (auto) on folder and DICOM input
MIN_SIZE = 4  # smallest side the networks take: small_cnn and seed_cnn pool twice / once
TOTALS_ROW = "all"  # the totals row of class_counts.tsv, so no class may be called this
# Names of split folders (any case): a class folder by one of these names that holds subfolders
# is a data set's own split, with the classes one level down (Kaggle's train/ test/, Training/
# Testing/, chest_xray's copy of itself beside them)
SPLIT_FOLDERS = {"train", "training", "val", "valid", "validation", "dev", "test", "testing"}


@dataclass
class Dataset:
    """Prepared images with their class, split and origin; rejects alongside."""

    files: list[str] = field(default_factory=list)
    classes: list[Any] = field(default_factory=list)
    splits: list[str] = field(default_factory=list)
    images: list[np.ndarray] = field(default_factory=list)
    shapes: list[tuple[int, ...]] = field(default_factory=list)
    colour: list[bool] = field(default_factory=list)
    rejects: list[tuple[str, str]] = field(default_factory=list)
    default_order: list[Any] | None = None  # class order without class_names (npz: numeric)

    def add(self, name: str, label: Any, image: np.ndarray, original: np.ndarray) -> None:
        self.add_prepared(name, label, image, np.atleast_3d(original).shape, is_colour(original))

    def add_prepared(
        self, name: str, label: Any, image: np.ndarray, shape: tuple, colour: bool
    ) -> None:
        """An image already prepared, with its original shape and whether it has colour."""
        self.files.append(name)
        self.classes.append(label)
        self.images.append(image)
        self.shapes.append(tuple(shape))
        self.colour.append(colour)


def resolve_settings(settings: dict[str, Any], size: tuple[int, int] | None) -> dict[str, Any]:
    """The preprocessing settings with 0 (auto) resolved: height and width from `size` (the
    .npz's own) or 28; channels 3 while reading (grey repeated), settled by `settle_channels`."""
    resolved = dict(settings)
    for key, own in zip(("height", "width"), size or (DEFAULT_SIZE, DEFAULT_SIZE), strict=True):
        if not resolved[key]:
            resolved[key] = int(own)
    height, width = resolved["height"], resolved["width"]
    if min(height, width) < MIN_SIZE:
        raise InputError(
            f"images would be prepared at {height}x{width} pixels, smaller than the networks "
            f"take ({MIN_SIZE}x{MIN_SIZE} at least: their pooling halves the size); set "
            f"imaging.preprocess.height and width to {MIN_SIZE} or more (e.g. {DEFAULT_SIZE}) "
            "to enlarge the images"
        )
    return resolved


def size_warning(settings: dict[str, Any]) -> str | None:
    """A warning when the working size makes training much slower than at MedMNIST's 28x28 (a
    network's work per image grows with its pixels): from 4x the pixels (56x56) on."""
    height, width = settings["height"], settings["width"]
    cost = height * width / DEFAULT_SIZE**2
    if cost < 4:
        return None
    return (
        f"images are prepared at {height}x{width}: each costs the network about {cost:.0f}x the "
        f"work of a {DEFAULT_SIZE}x{DEFAULT_SIZE} one, so training takes about that much longer "
        f"(the defaults' time figures are for {DEFAULT_SIZE}x{DEFAULT_SIZE}); set "
        "imaging.preprocess.height and width to train smaller"
    )


# Under dtype_range, a kept image whose values span less than this share of full scale looks like
# data of fewer bits in a wider file (12-bit values, at most 4095, in 16-bit PNGs or TIFFs span
# at most 0.0625) or signed values shifted to the middle of their scale (an MR image of 0..2000
# stored as signed 16-bit spans 0.03 about 0.5)
DIM_SHARE = 0.125


def dim_warning(images: list[np.ndarray], files: list[str], scaling: str) -> str | None:
    """A warning when dtype_range scaling left kept images dim and flat: their values (largest
    minus smallest) span less than DIM_SHARE of full scale, in every image or in some beside
    others that do not (8-bit files beside 16-bit files of 12-bit data: those come out about 16x
    darker), naming a few."""
    if scaling != "dtype_range" or not images:
        return None
    spans = [float(np.max(image) - np.min(image)) for image in images]
    narrow = [name for name, span in zip(files, spans, strict=True) if span < DIM_SHARE]
    if not narrow:
        return None
    fix = "set imaging.preprocess.scaling: minmax (each image to 0..1) or zscore"
    if len(narrow) == len(images):
        return (
            f"the values of every one of the {len(images)} kept images span under "
            f"{DIM_SHARE} of the format's full scale (the widest {max(spans):.4f}; dtype_range "
            "scaling): the files may hold data of fewer bits than their format (12-bit values in "
            "16-bit files reach 0.0625) or signed values shifted to mid-scale, so the images are "
            f"dim and flat; {fix}"
        )
    return (
        f"{len(narrow)} of the {len(images)} kept images (e.g. {', '.join(narrow[:3])}) have "
        f"values spanning under {DIM_SHARE} of their format's full scale while the others do not "
        "(dtype_range scaling): mixed bit depths (8-bit files beside 16-bit files of 12-bit "
        "data, say) leave those images dark and flat beside the rest, or they are blank; if "
        f"they are images like the others, {fix}"
    )


def reading_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """What prepare_pixels gets: channels auto reads as 3 (a grey image repeated exactly)."""
    return {**settings, "channels": settings["channels"] or 3}


def settle_channels(data: Dataset, settings: dict[str, Any]) -> dict[str, Any]:
    """Channels auto: 3 when any kept image has colour, else 1 (the repeated grey kept once)."""
    if settings["channels"]:
        return settings
    channels = 3 if any(data.colour) else 1
    if channels == 1:
        data.images = [image[:, :, :1] for image in data.images]
    return {**settings, "channels": channels}


# ---------------------------------------------------------------- listing the labelled inputs


def scan_class_folder(root: Path) -> tuple[list[tuple[Path, str]], list[tuple[str, str]]]:
    """(image path, class) for every file in a class subfolder; rejects for files elsewhere."""
    root = require_file(root, "imaging.input.folder")
    if not root.is_dir():
        raise InputError(f"imaging.input.folder '{root}' is not a folder")
    class_dirs = class_folders(root)
    refuse_links_up(root, class_dirs)
    if not class_dirs:
        raise InputError(
            f"imaging.input.folder '{root}' has no class subfolders; put each class's images in "
            "a subfolder named after the class (e.g. normal/, pneumonia/), or, for images in one "
            "folder with a table of file and class (as ISIC and HAM10000 ship), set "
            "imaging.input.format: dicom with dicom_dir and labels: that route reads PNG, JPEG "
            "and TIFF files too"
        )
    refuse_split_folders(root, class_dirs)
    if all(folder.name.lower() in SPLIT_FOLDERS for folder in class_dirs):
        log.warning(
            "the class folders of '%s' are all named like splits of a data set (%s): each is "
            "taken as a class, and the model learns to tell them apart; if they are splits, "
            "put each class's images in a folder named after the class instead",
            root,
            ", ".join(folder.name for folder in class_dirs),
        )
    listed = [(class_dir, list_files(class_dir)) for class_dir in class_dirs]
    keeper = one_path_per_file(
        [f for _, files in listed for f in files if f.suffix.lower() in IMAGE_EXTENSIONS]
    )
    records, rejects = [], []
    for class_dir, files in listed:
        images, twice = [], []
        for f in [f for f in files if f.suffix.lower() in IMAGE_EXTENSIONS]:
            if keeper[os.path.realpath(f)] == f:
                images.append(f)
            else:  # one file reached twice through symbolic links: one record, one reject
                files.remove(f)
                first = relative(keeper[os.path.realpath(f)], root)
                twice.append(f"'{relative(f, root)}' is the same file as '{first}'")
                rejects.append((relative(f, root), f"the same file as '{first}'"))
        if not images and twice:
            raise InputError(
                f"class folder '{class_dir}' holds only images read already under another name "
                f"through a symbolic link ({twice[0]}); one image cannot belong to two classes: "
                "remove the link, or copy the images if they belong to both"
            )
        if not images:
            dicom = [f for f in files if is_dicom_path(f)]
            raise InputError(
                f"class folder '{class_dir}' holds DICOM files ({relative(dicom[0], root)}, ...), "
                "not PNG, JPEG or TIFF images: for DICOM input set imaging.input.format: dicom, "
                "with dicom_dir and a labels table of file and class"
                if dicom
                else f"class folder '{class_dir}' holds no PNG, JPEG or TIFF images; add images "
                "or remove the folder"
            )
        records += [(f, nfc(class_dir.name)) for f in images]
        rejects += [
            (
                relative(f, root),
                "broken symbolic link"
                if is_broken_link(f)
                else f"not a supported image file (extension '{f.suffix}'; expected PNG, "
                "JPEG or TIFF: convert it, for example to PNG)",
            )
            for f in files
            if f not in images
        ]
    in_classes = {path for path, _ in records} | {root / r for r, _ in rejects}
    rejects += [
        (
            relative(f, root),
            "broken symbolic link" if is_broken_link(f) else "not inside a class subfolder",
        )
        for f in list_files(root)
        if f not in in_classes
    ]
    return records, rejects


def nfc(text: str) -> str:
    """A name in Unicode's composed form (NFC): macOS writes file names decomposed (NFD: 'a' and a
    combining umlaut), tables and configs are written composed; both read as the same name."""
    return unicodedata.normalize("NFC", text)


def one_path_per_file(paths: list[Path]) -> dict[str, Path]:
    """For each real file (os.path.realpath) among `paths`, the path it is read under: the one
    that is no symbolic link itself nor inside a linked folder, else the first; the others are
    the same file again."""
    keeper: dict[str, Path] = {}
    for path in paths:
        real = os.path.realpath(path)
        held = keeper.get(real)
        if held is None or (not is_direct(held, real) and is_direct(path, real)):
            keeper[real] = path
    return keeper


def is_direct(path: Path, real: str) -> bool:
    """Whether `path` reaches its file without passing a symbolic link."""
    return os.path.abspath(path) == real


def refuse_split_folders(root: Path, class_dirs: list[Path]) -> None:
    """Stop when a "class" folder is a split folder holding folders of its own (train/NORMAL/...):
    its name would become a class and the real classes one level down would be lost."""
    splits = [p for p in class_dirs if p.name.lower() in SPLIT_FOLDERS and class_folders(p)]
    if not splits:
        return
    names = [p.name for p in splits]
    train = next((p for p in splits if p.name.lower() in ("train", "training")), splits[0])
    raise InputError(
        f"imaging.input.folder '{root}' holds split folders {names} with folders inside, not "
        "class folders: it must hold one subfolder per class (e.g. normal/, pneumonia/), and "
        f"medflow makes the split itself; point imaging.input.folder at one of them, e.g. "
        f"'{train}' (if it holds the class subfolders)"
    )


def class_folders(root: Path) -> list[Path]:
    """The class subfolders of a folder input, sorted: hidden folders and __MACOSX aside."""
    return sorted(
        p
        for p in root.iterdir()
        if p.is_dir() and not p.name.startswith(".") and p.name not in IGNORED_FOLDERS
    )


def classes_at_start(section: dict[str, Any]) -> list[str] | None:
    """The class names a run will have, as far as they are known before any image is read (the
    imaging.input section): `class_names` when given; else the class subfolders of a folder, the
    classes of a DICOM labels table, the label numbers of an .npz. None when only preprocessing
    can tell (an input that is missing or broken: preprocessing names the problem)."""
    if section["class_names"]:
        return [nfc(str(name)) for name in section["class_names"]]
    fmt = section["format"]
    if fmt == "folder":
        root = Path(section["folder"])
        if not root.is_dir():
            return None
        folders = class_folders(root)
        refuse_split_folders(root, folders)
        return [nfc(folder.name) for folder in folders]
    if fmt == "dicom":
        table = read_labels_table(
            Path(section["labels"]), section["labels_file_column"], section["labels_class_column"]
        )
        return sorted(set(table["class"]))
    try:
        path = Path(section["npz"])
        with np.load(path, allow_pickle=False) as archive:
            labels = np.concatenate(
                [one_label_each(archive[f"{s}_labels"], path, s, warn=False) for s in SPLITS]
            )
        return [str(k) for k in sorted({int(k) for k in labels})]
    except (OSError, ValueError, KeyError, EOFError, TypeError, zipfile.BadZipFile, InputError):
        return None


def refuse_links_up(root: Path, class_dirs: list[Path]) -> None:
    """Stop when a class folder is a symbolic link to the input folder or a folder above it: its
    "class" would hold every image again (a loop)."""
    real_root = Path(os.path.realpath(root))
    for folder in class_dirs:
        real = Path(os.path.realpath(folder))
        if real == real_root or real in real_root.parents:
            raise InputError(
                f"class folder '{folder}' is a symbolic link to '{real}', which holds "
                f"imaging.input.folder '{root}' itself, so its images would count twice, once in "
                "a class of that name; remove the link"
            )


def read_labels_table(path: Path, file_column: str, class_column: str) -> pd.DataFrame:
    """The labels table (CSV or TSV) with columns file and class; fails naming bad lines."""
    path = require_file(path, "imaging.input.labels")
    sep = "," if path.suffix.lower() == ".csv" else "\t"
    with open(path, "rb") as handle:
        problem = not_utf8_text(handle.read(1024))
    if problem:
        raise InputError(f"labels table '{path}': {problem}")
    found = first_non_utf8(path)
    if found:  # pandas would name a byte position within its read buffer, not a line
        raise InputError(
            f"labels table '{path}', line {found[0]}: byte {found[1]!r} is not UTF-8 (a Latin-1 "
            "or Windows-1252 accent, as Excel's plain 'CSV' saves them); save the table as UTF-8 "
            "(Excel: 'CSV UTF-8'; or iconv -f WINDOWS-1252 -t UTF-8 FILE > NEW)"
        )
    try:
        table = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError as error:
        raise InputError(
            f"labels table '{path}' is empty; it needs a header line naming its file and class "
            f"columns ('{file_column}', '{class_column}') and a row per image"
        ) from error
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise InputError(f"labels table '{path}' cannot be parsed: {error}") from error
    table.columns = [nfc(str(column).strip()) for column in table.columns]
    file_column, class_column = nfc(file_column.strip()), nfc(class_column.strip())
    missing = [c for c in (file_column, class_column) if c not in table.columns]
    if missing:
        header = str(table.columns[0]) if len(table.columns) == 1 else ""
        other = next((repr(c) for c in (";", "\t", ",") if c in header), None)
        raise InputError(
            f"labels table '{path}' lacks column(s) {missing}; it has {list(table.columns)} "
            + (
                f"(its header is separated by {other}, but a .csv file is read as comma-"
                "separated and any other as tab-separated: save it so, or rename it)"
                if other
                else "(set imaging.input.labels_file_column / labels_class_column)"
            )
        )
    if table.empty:
        raise InputError(
            f"labels table '{path}' has a header but no rows; add a row per image (its file "
            f"under '{file_column}', its class under '{class_column}')"
        )
    table = table[[file_column, class_column]].rename(
        columns={file_column: "file", class_column: "class"}
    )
    # one spelling per file (./a.dcm and a.dcm are the same file), so that duplicates show
    table["file"] = [
        posixpath.normpath(nfc(name).replace("\\", "/")) if name else name
        for name in table["file"].str.strip()
    ]
    table["class"] = [nfc(name) for name in table["class"].str.strip()]
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
    table["file"] = [within(name, root) for name in table["file"]]
    files = {nfc(relative(f, root)): f for f in list_files(root)}
    labels_path = Path(labels).resolve()
    files = {name: f for name, f in files.items() if f.resolve() != labels_path}
    labelled = dict(zip(table["file"], table["class"], strict=True))
    line_of = dict(zip(table["file"], table["line"], strict=True))
    again = same_files_again(files, labelled, line_of, labels)
    rejects = [(name, f"the same file as '{first}'") for name, first in again.items()]
    files = {name: f for name, f in files.items() if name not in again}
    records = [(files[name], labelled[name]) for name in sorted(files) if name in labelled]
    refuse_unmatched_table(labels, root, table, files)
    rejects += [
        (name, f"no entry in labels table '{labels}'") for name in files if name not in labelled
    ]
    real_names = {os.path.realpath(f): name for name, f in files.items()}
    rejects += [
        (
            name,
            f"listed in labels table (line {line_of[name]}) but "
            f"{not_found(name, root, real_names)}",
        )
        for name in labelled
        if name not in files and name not in again
    ]
    return records, rejects


def same_files_again(
    files: dict[str, Path], labelled: dict[str, str], line_of: dict[str, int], labels: Path
) -> dict[str, str]:
    """Names under dicom_dir that reach a file read under another name (symbolic links), each
    with the name it is read under: a labelled name first, a direct path before a link. Stops
    when the table gives one file two classes."""
    groups: dict[str, list[str]] = {}
    for name in sorted(files):
        groups.setdefault(os.path.realpath(files[name]), []).append(name)
    again = {}
    for real, names in groups.items():
        if len(names) < 2:
            continue
        classes = {labelled[n] for n in names if n in labelled}
        if len(classes) > 1:
            rows = [f"line {line_of[n]} '{n}': {labelled[n]}" for n in names if n in labelled]
            raise InputError(
                f"labels table '{labels}' gives one file two classes through a symbolic link "
                f"({'; '.join(rows)}); one image cannot belong to two classes: fix the table "
                "or remove the link"
            )
        first = min(names, key=lambda n: (n not in labelled, not is_direct(files[n], real), n))
        again.update({n: first for n in names if n != first})
    return again


def within(name: str, root: Path) -> str:
    """A labels-table path as relative to dicom_dir: an absolute path inside it made relative;
    anything else as written."""
    if not posixpath.isabs(name):
        return name
    try:
        return Path(name).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return name


def not_found(name: str, root: Path, real_names: dict[str, str] | None = None) -> str:
    """Why a labels-table path names no input file (`real_names`: the real path of each file
    that is read, with the name it is read under)."""
    if posixpath.isabs(name):
        return f"it is an absolute path outside dicom_dir '{root}' (the table's paths are relative to it)"
    if name == ".." or name.startswith("../"):
        return (
            f"it leads outside dicom_dir '{root}' ('..'); only files under dicom_dir are read: "
            "move the file there or point dicom_dir at a folder that holds it"
        )
    path = root / name
    if path.is_dir():
        return "it is a folder, not a file; name each image file in its own row"
    if path.exists():
        read_as = (real_names or {}).get(os.path.realpath(path))
        if read_as:
            return (
                f"it is the same file as '{read_as}', read under that name (its folder is "
                f"reached through a symbolic link); name it '{read_as}' in the table"
            )
        parts = PurePosixPath(name).parts
        if any(part.startswith(".") for part in parts):
            return "the file is hidden (a name starting with '.'), and hidden files are skipped"
        if any(part in IGNORED_FOLDERS for part in parts):
            return "it lies in a __MACOSX folder (macOS's zip metadata), which is skipped"
        return "the file is not read (a special file, or a folder reached twice through links)"
    return f"no such file in '{root}'"


def refuse_unmatched_table(
    labels: Path, root: Path, table: pd.DataFrame, files: dict[str, Path]
) -> None:
    """Stop when no row of the labels table names a file under dicom_dir, or when every row of
    a class does (that class would silently vanish from the model), giving an example of each."""
    found = table[table["file"].isin(files)]
    if found.empty:
        row = table.iloc[0]
        held = f"it holds for example '{sorted(files)[0]}'" if files else "it holds no files"
        raise InputError(
            f"labels table '{labels}': none of its {len(table)} files is under dicom_dir "
            f"'{root}' (line {row['line']} names '{row['file']}'; {held}); the table's paths "
            "are relative to dicom_dir, extension included"
        )
    lost = sorted(set(table["class"]) - set(found["class"]))
    if lost:
        rows = table[table["class"] == lost[0]]
        raise InputError(
            f"labels table '{labels}': no file of class(es) {lost} is under dicom_dir '{root}' "
            f"(class '{lost[0]}': lines {rows['line'].tolist()[:10]}, e.g. '{rows.iloc[0]['file']}'); "
            "fix those paths, or remove the rows if the class is not wanted"
        )


# ---------------------------------------------------------------- decoding and splitting


def decode_one(path: Path, settings: dict[str, Any]) -> tuple[np.ndarray, tuple, bool] | str:
    """One image file prepared, with its original shape and whether it has colour; the reason
    as a string when it cannot be read."""
    try:
        pixels, full = decode_any(path)
        image = prepare_pixels(pixels, full, **reading_settings(settings))
    except UnreadableImage as error:
        return str(error)
    return image, tuple(np.atleast_3d(pixels).shape), is_colour(pixels)


def decode_records(
    records: list[tuple[Path, str]], root: Path, settings: dict[str, Any], threads: int = 1
) -> Dataset:
    """Decode and prepare every listed image, in `threads` threads (Pillow and NumPy release the
    GIL while they decode and resize; the results keep the records' order, so the arrays do not
    depend on the thread count); unreadable ones become rejects with the reason."""
    from concurrent.futures import ThreadPoolExecutor

    data = Dataset()
    with ThreadPoolExecutor(max(1, threads)) as pool:
        done = pool.map(lambda record: decode_one(record[0], settings), records)
        for (path, label), result in zip(
            records, progress(done, total=len(records), desc="preprocessing"), strict=True
        ):
            name = relative(path, root)
            if isinstance(result, str):
                data.rejects.append((name, result))
                continue
            data.add_prepared(name, label, *result)
    return data


def check_class_names(class_names: list[str]) -> None:
    """imaging.input.class_names without repeats (a repeat would merge two classes)."""
    repeated = sorted(name for name, n in Counter(class_names).items() if n > 1)
    if repeated:
        raise InputError(
            f"imaging.input.class_names {class_names} names {repeated} more than once; give each "
            "class one distinct name"
        )


def check_classes(
    data: Dataset,
    listed_classes: set,
    n_records: int,
    class_names: list[str] | None,
    default_order: list[str] | None = None,
    class_of: dict[str, Any] | None = None,
) -> list[str]:
    """The class order (class_names, else `default_order`, else sorted); fails clearly on one
    class, a class left empty (naming some of its rejected files, by `class_of`: each input's
    class), unexpected names or a class called like the totals row."""
    if class_names:
        class_names = [nfc(c) if isinstance(c, str) else c for c in class_names]
    counts = Counter(data.classes)
    found = set(data.classes) | set(listed_classes)
    unheld = sorted(set(class_names or []) - found)
    if unheld:
        raise InputError(
            f"imaging.input.class_names names class(es) {unheld} that the input does not hold "
            f"(its classes: {sorted(str(c) for c in found)}); the names must match the class "
            "folders, the labels table's classes or, for an .npz, list a name per label number"
        )
    listed = sorted(found)
    empty = [c for c in listed if counts[c] == 0]
    if empty:
        reasons = Counter(reason for _, reason in data.rejects)
        of_empty = [(n, r) for n, r in data.rejects if (class_of or {}).get(n) in empty]
        examples = "; ".join(f"'{n}': {r}" for n, r in (of_empty or data.rejects)[:3])
        raise InputError(
            f"class(es) {empty} have no readable images ({len(data.rejects)} of {n_records} "
            f"images rejected; most common reasons: {reasons.most_common(3)}; for example "
            f"{examples}); replace or convert those files, or remove the class"
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
        order = list(default_order) if default_order else sorted(counts)
    if TOTALS_ROW in order:
        raise InputError(
            f"a class is named '{TOTALS_ROW}', the name of the totals row of class_counts.tsv; "
            "rename that class (its folder, its labels-table entries or its class_names entry)"
        )
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
    except ValueError as error:  # a split smaller than the class count (few images, many classes)
        log.warning(
            "scikit-learn cannot split %d images of %d classes with val_fraction=%g and "
            "test_fraction=%g (%s); each class's images are dealt to the splits instead",
            len(labels),
            len(counts),
            val_fraction,
            test_fraction,
            error,
        )
        return dealt_split(labels, val_fraction, test_fraction, seed)
    splits = np.empty(len(labels), dtype=object)
    splits[train], splits[val], splits[test] = "train", "val", "test"
    return fill_every_split(labels, splits, seed)


def dealt_split(
    labels: np.ndarray, val_fraction: float, test_fraction: float, seed: int
) -> np.ndarray:
    """Split names per image for data too small for scikit-learn's stratified split (which needs
    each split to hold at least one image per class): each class's images, in a seeded order, go
    round(test_fraction x n) to test and round(val_fraction x n) to validation, each at least
    one, and the rest (at least one) to train. Needs MIN_PER_CLASS (3) images per class."""
    rng = np.random.default_rng(seed)
    splits = np.empty(len(labels), dtype=object)
    for label in sorted(set(labels.tolist()), key=str):
        rows = rng.permutation(np.flatnonzero(labels == label))
        n_test = min(max(1, round(test_fraction * rows.size)), rows.size - 2)
        n_val = min(max(1, round(val_fraction * rows.size)), rows.size - 1 - n_test)
        splits[rows[:n_test]] = "test"
        splits[rows[n_test : n_test + n_val]] = "val"
        splits[rows[n_test + n_val :]] = "train"
    return splits


def fill_every_split(labels: np.ndarray, splits: np.ndarray, seed: int) -> np.ndarray:
    """Give every class at least one image in each split: a split the stratified rounding left
    without a class gets one image, drawn by the seed, from that class's largest split."""
    rng = np.random.default_rng(seed)
    splits = splits.copy()
    for label in sorted(set(labels.tolist()), key=str):
        for split in SPLITS:
            mine = labels == label
            if np.any(mine & (splits == split)):
                continue
            donor = max(SPLITS, key=lambda s: int(np.sum(mine & (splits == s))))
            candidates = np.flatnonzero(mine & (splits == donor))
            splits[rng.choice(candidates)] = split
    return splits


# ---------------------------------------------------------------- MedMNIST .npz


def npz_array(archive: Any, path: Path, key: str) -> np.ndarray:
    """One array of the .npz; object arrays (pickles) are refused with the reason, never loaded."""
    try:
        array = archive[key]
    except ValueError as error:
        if "allow_pickle" in str(error) or "Object arrays" in str(error):
            raise InputError(
                f"'{path}': key '{key}' holds an array of Python objects (dtype object). medflow "
                "does not load object arrays, because reading one means unpickling it, and "
                f"unpickling a file can run any code it contains. Save '{key}' as a plain numeric "
                "array instead: images as uint8 (or uint16/float) of shape (N, H, W) or (N, H, W, 3) "
                "with every image the same size, labels as integers of shape (N,) or (N, 1)."
            ) from None
        raise InputError(f"'{path}': key '{key}' cannot be read: {error}") from error
    except (OSError, EOFError, zipfile.BadZipFile) as error:
        raise InputError(
            f"'{path}': key '{key}' cannot be read ({error}); is the file complete?"
        ) from error
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise InputError(
            f"'{path}': key '{key}' has dtype {array.dtype}; medflow needs numbers (images as "
            "uint8, uint16 or float; labels as integers)"
        )
    return array


def npz_split(archive: Any, path: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """One split's images and labels (N,), checked for shape and values."""
    images = npz_array(archive, path, f"{split}_images")
    labels = one_label_each(npz_array(archive, path, f"{split}_labels"), path, split)
    if images.ndim not in (3, 4):
        raise InputError(
            f"'{path}': {split}_images has shape {images.shape}; expected (N, H, W) or "
            f"(N, H, W, C){flat_hint(images.shape, split)}"
        )
    if len(images) != len(labels):
        raise InputError(
            f"'{path}': {split}_images has shape {images.shape} but {split}_labels holds "
            f"{len(labels)} labels; expected (N, H, W) or (N, H, W, C) with the same N"
        )
    if images.ndim == 4 and images.shape[3] not in (1, 3, 4):
        hint = ""
        if images.shape[1] == images.shape[2] == images.shape[3]:
            hint = (
                ": it looks like 3D volumes (depth x height x width, as MedMNIST's 3D sets store "
                "them); the imaging branch classifies 2D images, so give one 2D slice or "
                "projection per image (for example the middle slice, volumes[:, d // 2])"
            )
        elif images.shape[1] in (1, 3, 4):
            hint = (
                f": it looks channels-first; save np.moveaxis({split}_images, 1, -1) "
                "(channels last, as MedMNIST stores them)"
            )
        raise InputError(
            f"'{path}': {split}_images has shape {images.shape}, whose last axis "
            f"({images.shape[3]}) is not a channel count (1 grey, 3 RGB or 4 RGBA){hint}"
        )
    if len(labels) == 0:
        raise InputError(f"'{path}': the {split} split is empty; every split needs images")
    return images, integer_labels(labels, path, split)


def one_label_each(labels: np.ndarray, path: Path, split: str, warn: bool = True) -> np.ndarray:
    """One label per image, (N,): labels given as (N,) or (N, 1), or one-hot rows (N, K) (every
    value 0 or 1, one 1 per row: read as the column of the 1, with a warning if `warn`). InputError
    otherwise, saying what the shape looks like: 0/1 rows with any number of 1s are multi-label
    data (ChestMNIST's 14 findings), which the branch does not classify."""
    if labels.ndim == 1:
        return labels
    if labels.ndim == 2 and (labels.shape[1] == 1 or labels.shape[0] == 0):
        return labels.reshape(-1)[: labels.shape[0]]  # (N, 1), or an empty split (told below)
    hint = ""
    if labels.ndim == 2 and labels.size:
        values = labels.astype(np.float64)
        zero_one = bool(np.isin(values, (0.0, 1.0)).all())
        if zero_one and bool((values.sum(axis=1) == 1).all()):
            if warn:
                log.warning(
                    "'%s': %s_labels holds one-hot rows %s; each is read as the class number "
                    "of its column of 1 (0..%d)",
                    path,
                    split,
                    labels.shape,
                    labels.shape[1] - 1,
                )
            return values.argmax(axis=1)
        if zero_one:
            hint = (
                f": 0/1 rows with any number of 1s are multi-label data (each image marked for "
                f"each of {labels.shape[1]} findings, as ChestMNIST stores them), which the "
                "imaging branch does not classify: it gives each image one class. To train a "
                f"detector of one finding, save its column as the labels ({split}_labels[:, k] "
                "for finding k, in every split) and name them with imaging.input.class_names: "
                "[absent, present]"
            )
    raise InputError(
        f"'{path}': {split}_labels has shape {labels.shape}; expected (N,) or (N, 1), or "
        f"one-hot rows (N, classes){hint}"
    )


def flat_hint(shape: tuple[int, ...], split: str) -> str:
    """A hint for images stored as flat rows (N, H*W), as CSV exports and scikit-learn keep them:
    the reshape that gives square grey images, when the row length is a square."""
    side = round(shape[1] ** 0.5) if len(shape) == 2 else 0
    if side < 2 or side * side != shape[1]:
        return ""
    return (
        f": each image is a flat row of {shape[1]} pixels; save "
        f"{split}_images.reshape(-1, {side}, {side}) (grey {side}x{side} images)"
    )


def integer_labels(labels: np.ndarray, path: Path, split: str) -> np.ndarray:
    """The labels: non-negative integers as given, or floats (or booleans) that are whole numbers
    (0.0, 1.0: as pandas or MATLAB often store them) as int64; InputError naming the first bad
    label otherwise."""
    if labels.dtype.kind not in "iufb":
        raise InputError(
            f"'{path}': {split}_labels must be non-negative integers, not {labels.dtype} values"
        )
    values = labels.astype(np.float64)
    ok = np.isfinite(values) & (values >= 0) & (values == np.floor(values))
    if not ok.all():
        first = int(np.flatnonzero(~ok)[0])
        raise InputError(
            f"'{path}': {split}_labels must be non-negative integers; label {first} of the "
            f"split is {labels[first].item()!r}"
        )
    return labels if labels.dtype.kind in "iu" else labels.astype(np.int64)


def load_npz(
    path: Path, settings: dict[str, Any], class_names: list[str] | None
) -> tuple[Dataset, dict[str, Any]]:
    """A MedMNIST-style .npz, splits kept; each image through the same preparation.

    Returns the data set and the settings with auto values resolved from the arrays.
    """
    path = require_file(path, "imaging.input.npz")
    with open(path, "rb") as handle:
        start = handle.read(6)
    if start == NPY_MAGIC:
        raise InputError(
            f"'{path}' holds one NumPy array (.npy), not an .npz archive of named arrays; a "
            f"MedMNIST-format file needs {list(NPZ_KEYS)}: save them with "
            "numpy.savez(path, train_images=..., train_labels=..., ...)"
        )
    if not start.startswith(ZIP_MAGIC):
        raise InputError(
            f"'{path}' is not an .npz file (a zip archive of NumPy arrays, as numpy.savez "
            f"writes); it starts with {start!r}. A MedMNIST-format file needs {list(NPZ_KEYS)}"
        )
    try:
        archive = np.load(path, allow_pickle=False)
        keys = set(archive.files)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise InputError(f"'{path}' is not a readable .npz file: {error}") from error
    missing = [k for k in NPZ_KEYS if k not in keys]
    if missing:
        raise InputError(
            f"'{path}' lacks key(s) {missing} (has {sorted(keys)}); a MedMNIST-format .npz "
            f"needs {list(NPZ_KEYS)}"
        )
    data = Dataset()
    with archive:
        arrays = {split: npz_split(archive, path, split) for split in SPLITS}
    resolved = resolve_settings(settings, arrays["train"][0].shape[1:3])
    full = 1.0
    if resolved["scaling"] == "dtype_range":
        full = npz_full_scale({split: images for split, (images, _) in arrays.items()}, path)
    reading = reading_settings(resolved)
    for split in SPLITS:
        images, labels = arrays.pop(split)
        for i in progress(range(len(images)), total=len(images), desc=f"reading {split}"):
            name = f"{split}_images[{i}]"
            try:
                image = prepare_pixels(images[i], full, **reading)
            except UnreadableImage as error:
                data.rejects.append((name, str(error)))
                continue
            data.add(name, int(labels[i]), image, images[i])
            data.splits.append(split)
    check_npz_splits(path, data)
    labels = sorted(set(data.classes))
    if class_names:
        if labels[-1] >= len(class_names):
            raise InputError(
                f"'{path}' has labels up to {labels[-1]} but imaging.input.class_names lists only "
                f"{len(class_names)} names (of labels 0 to {len(class_names) - 1})"
            )
        names = dict(enumerate(class_names))
    else:  # the label numbers, in numeric order (10 after 9), from the labels present only
        names = {k: str(k) for k in labels}
    data.classes = [names[k] for k in data.classes]
    data.default_order = [names[k] for k in labels]
    return data, settle_channels(data, resolved)


NOMINAL_FULL_SCALES = (1.0, 255.0, 65535.0)


def npz_full_scale(arrays: dict[str, np.ndarray], path: Path) -> float:
    """The full scale of the .npz's images under dtype_range scaling: 255 for uint8, 65535 for
    uint16; for any other type (float, signed integers, bool) the smallest of 1, 255 and 65535
    that holds every finite value of every split, chosen once for the whole file so all images
    are scaled alike; InputError when the values fit none of them (they would be clipped), or
    when a split's largest value lies a little above 1 or 255 (scale_just_below: floats up to
    1.02 were divided by 255)."""
    fixed = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}
    ranges = {}
    for split, images in arrays.items():
        key = f"{split}_images"
        if images.dtype in fixed:
            ranges[key] = (0.0, fixed[images.dtype])
            continue
        values = images[np.isfinite(images)] if images.dtype.kind == "f" else images
        if values.size:
            ranges[key] = (float(values.min()), float(values.max()))
    if not ranges:
        return 1.0
    low = min(lo for lo, _ in ranges.values())
    high = max(hi for _, hi in ranges.values())
    for key, (lo, hi) in ranges.items():
        over = scale_just_below(hi)
        if lo >= 0 and over is not None:
            raise InputError(
                f"'{path}': key '{key}' holds values from {lo:g} to {hi:g}, a little above "
                f"0..{over:g}, so dtype_range scaling could not tell their full scale (it would "
                f"take {next(f for f in NOMINAL_FULL_SCALES if hi <= f):g}, leaving them nearly "
                f"black); clip the images to 0..{over:g} before saving them, or set "
                "imaging.preprocess.scaling: minmax (each image to 0..1)"
            )
    if low >= 0:
        full = next((f for f in NOMINAL_FULL_SCALES if high <= f), None)
        if full is not None:
            refuse_mixed_scales(ranges, arrays, path)
            log.info("'%s': images hold %g to %g, so %g is their full scale", path, low, high, full)
            return full
    key, (lo, hi) = next(
        (k, r) for k, r in ranges.items() if r[0] < 0 or r[1] > NOMINAL_FULL_SCALES[-1]
    )
    raise InputError(
        f"'{path}': key '{key}' holds values from {lo:g} to {hi:g}, outside 0..1, 0..255 and "
        "0..65535, so dtype_range scaling cannot tell their full scale and would clip them; set "
        "imaging.preprocess.scaling: minmax (each image to 0..1), or store the images as uint8 "
        "or uint16"
    )


OVERSHOOT = 1.1  # values up to 10% above a nominal full scale are that scale, overshot


def scale_just_below(high: float) -> float | None:
    """The nominal full scale (1, 255) that a largest value lies a little above (at most 10%:
    1.02, 260), as an interpolation's or a normalisation's overshoot leaves it; None otherwise
    (1023 or 4000: 10- or 12-bit data, whose full scale is 65535)."""
    return next((f for f in NOMINAL_FULL_SCALES[:-1] if f < high <= f * OVERSHOOT), None)


def refuse_mixed_scales(
    ranges: dict[str, tuple[float, float]], arrays: dict[str, np.ndarray], path: Path
) -> None:
    """InputError when the splits' images are on different scales (say train as floats in 0..1,
    val and test as uint8): one full scale for the whole file would leave one of them nearly
    black. A split's own scale is its dtype's (uint8, uint16) or the smallest of 1, 255 and 65535
    that holds its values; an all-zero split fits any."""
    own = {key: next(f for f in NOMINAL_FULL_SCALES if hi <= f) for key, (_, hi) in ranges.items()}
    own = {key: f for key, f in own.items() if ranges[key][1] > 0}
    if len(set(own.values())) > 1:
        described = ", ".join(
            f"{key} {ranges[key][0]:g} to {ranges[key][1]:g} ({arrays[key[: -len('_images')]].dtype})"
            for key in own
        )
        raise InputError(
            f"'{path}': the splits' images are on different scales ({described}); save every "
            "split on one scale (all uint8 0..255, say), or set imaging.preprocess.scaling: "
            "minmax (each image to 0..1)"
        )


def check_npz_splits(path: Path, data: Dataset) -> None:
    """Every split keeps images; train has two classes; val and test hold no unseen label."""
    kept = Counter(data.splits)
    for split in SPLITS:
        if kept[split] == 0:
            reasons = Counter(r for name, r in data.rejects if name.startswith(f"{split}_"))
            raise InputError(
                f"'{path}': no image of the {split} split is usable (all "
                f"{sum(reasons.values())} rejected; most common reasons: "
                f"{reasons.most_common(3)}); fix the {split}_images array"
            )
    by_split = {
        s: {c for c, t in zip(data.classes, data.splits, strict=True) if t == s} for s in SPLITS
    }
    if len(by_split["train"]) < 2:
        raise InputError(
            f"'{path}': the train split holds only class(es) {sorted(by_split['train'])}; a "
            "classifier needs at least two"
        )
    for split in ("val", "test"):
        unseen = sorted(by_split[split] - by_split["train"])
        if unseen:
            raise InputError(
                f"'{path}': label(s) {unseen} appear in the {split} split but not in the train "
                f"split (after rejects), so the model could never predict them; move some of "
                "those images to train_images/train_labels or drop them"
            )


def read_inputs(
    fmt: str,
    source: str,
    labels: list[str],
    section: dict[str, Any],
    preprocess: dict[str, Any],
    seed: int,
    threads: int = 1,
) -> tuple[Dataset, list[str], dict[str, Any], int]:
    """Read the labelled input of `fmt`: the data set (split), the class order, the resolved
    preprocessing settings and the number of input records (kept plus rejected).

    `section` is imaging.input and `preprocess` imaging.preprocess, as plain values; image files
    are decoded in `threads` threads.
    """
    settings = {
        k: preprocess[k] for k in ("height", "width", "channels", "scaling", "resize_method")
    }
    class_names = list(section["class_names"]) or None
    check_class_names(class_names or [])
    if fmt == "npz":
        data, settings = load_npz(Path(source), settings, class_names)
        n_records = len(data.files) + len(data.rejects)
        order = check_classes(data, set(data.classes), n_records, class_names, data.default_order)
        return data, order, settings, n_records
    if fmt == "folder":
        records, listing_rejects = scan_class_folder(Path(source))
    elif fmt == "dicom":
        records, listing_rejects = scan_dicom(
            Path(source),
            Path(labels[0]),
            section["labels_file_column"],
            section["labels_class_column"],
        )
    else:
        raise InputError(f"unknown imaging.input.format '{fmt}'")
    settings = resolve_settings(settings, None)
    data = decode_records(records, Path(source), settings, threads)
    settings = settle_channels(data, settings)
    data.rejects = [*listing_rejects, *data.rejects]
    n_records = len(records) + len(listing_rejects)
    class_of = {relative(path, Path(source)): label for path, label in records}
    order = check_classes(data, {c for _, c in records}, n_records, class_names, None, class_of)
    data.splits = list(
        stratified_split(
            np.array(data.classes), preprocess["val_fraction"], preprocess["test_fraction"], seed
        )
    )
    return data, order, settings, n_records


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


def manifest(data: Dataset) -> pd.DataFrame:
    """Every kept image: file, class, split and original height, width and channels."""
    return pd.DataFrame(
        {
            "file": data.files,
            "class": data.classes,
            "split": data.splits,
            "original_height": [s[0] for s in data.shapes],
            "original_width": [s[1] for s in data.shapes],
            "original_channels": [s[2] for s in data.shapes],
        }
    ).sort_values("file", kind="stable")
