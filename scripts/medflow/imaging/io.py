"""Image files and arrays: decode, convert, resize, scale, and store byte-stably.

Every step that reads pixels (preprocessing, prediction) goes through `prepare_pixels`, so a new
image is treated exactly like a training image. Nothing here imports TensorFlow, so preprocessing
stays a light process.
"""

import io
import json
import os
import warnings
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from medflow.step import InputError, log

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".tif", ".tiff")
DICOM_EXTENSIONS = (".dcm", ".dicom")
RESIZE_METHODS = ("area", "bilinear", "bicubic", "lanczos", "nearest")
SCALINGS = ("dtype_range", "minmax", "zscore")
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
IGNORED_FILES = {".snakemake_timestamp"}  # written by Snakemake into directory() outputs
# macOS's zip tool adds __MACOSX/ (resource forks named like the images): never images
IGNORED_FOLDERS = {"__MACOSX"}
LUMA = np.array([0.299, 0.587, 0.114])


class UnreadableImage(Exception):
    """An image that cannot be used; its message is the reason written to a rejects table."""


def one_line(text: str) -> str:
    """A message on one line: newlines, tabs and runs of spaces become one space; a Python
    object's memory address ("<_io.BytesIO object at 0x7f68...>", which differs every run) is
    left out, so that reruns write the same bytes."""
    import re

    return " ".join(re.sub(r" at 0x[0-9a-fA-F]+>", ">", str(text)).split())


def reason_of(error: BaseException, path: Path) -> str:
    """A decoder's message as a rejects reason: one line, without the file's path (the rejects
    table names the file) nor memory addresses, so that equal problems read the same and reruns
    write the same bytes."""
    text = str(error)
    for spelling in (repr(path), repr(str(path)), str(path)):
        text = text.replace(spelling, "the file")
    # pydicom's advice names its own API; the file may be no DICOM at all, or one without the
    # preamble and meta header that DICOM files carry
    text = text.replace(
        "Use force=True to force reading.",
        "It is not a DICOM file, or one without the standard preamble and header (convert it, "
        "for example with dcmconv from DCMTK).",
    )
    return one_line(text).replace("cannot identify image file the file", "not an image file")


def too_large(error: BaseException) -> UnreadableImage:
    """Pillow's decompression-bomb refusal as a reject naming the image's pixel count."""
    import re

    found = re.search(r"\((\d+) pixels\)", str(error))
    pixels = f"{int(found.group(1)):,} pixels" if found else "more pixels than Pillow allows"
    return UnreadableImage(f"image too large: {pixels}")


def full_scale_of(dtype: np.dtype) -> float:
    """The nominal maximum of a pixel type: 255 for 8-bit and 65535 for 16-bit unsigned pixels.
    Every other type has none (1.0: its values must lie in 0..1, `check_full_scale`): floats,
    signed and 32-bit integers hold measurements (Hounsfield units, counts) rather than a
    brightness on a known scale, whichever decoder (tifffile or Pillow) reads the file."""
    dtype = np.dtype(dtype)
    if dtype.kind == "u" and dtype.itemsize in (1, 2):  # either byte order (TIFF's big-endian)
        return float(np.iinfo(dtype).max)
    return 1.0


def check_pixel_count(pixels: int) -> None:
    """Refuse (as a reject) an image of more pixels than Pillow's decompression-bomb limit, before
    it is decoded: TIFF and DICOM headers state their size, and a damaged or hostile one can
    claim billions of pixels in a file of a few hundred bytes."""
    from PIL import Image

    limit = Image.MAX_IMAGE_PIXELS
    if limit and pixels > limit:
        raise UnreadableImage(f"image too large: {pixels:,} pixels (at most {limit:,})")


def _pil_array(path: Path) -> tuple[np.ndarray, float]:
    """Decode PNG/JPEG (and TIFF that tifffile rejects) with Pillow, fully, so truncation shows;
    turned upright by its EXIF orientation tag (a camera's or phone's photo stored sideways), as
    image viewers show it."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                image.load()
                ImageOps.exif_transpose(image, in_place=True)
                if image.mode == "P":
                    image = image.convert("RGBA" if "transparency" in image.info else "RGB")
                elif image.mode in ("1", "CMYK", "YCbCr", "LAB", "HSV"):
                    image = image.convert("L" if image.mode == "1" else "RGB")
                pixels = np.asarray(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise too_large(error) from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Warning) as error:
        raise UnreadableImage(f"cannot decode image: {reason_of(error, path)}") from error
    return pixels, full_scale_of(pixels.dtype)


def upright(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Rows and columns as a viewer shows them, by the TIFF/EXIF Orientation tag (1-8, 1 and
    unknown values: as stored), the same turns Pillow's ImageOps.exif_transpose makes."""
    turns = {
        2: lambda a: a[:, ::-1],  # mirrored left to right
        3: lambda a: a[::-1, ::-1],  # rotated 180 degrees
        4: lambda a: a[::-1],  # mirrored top to bottom
        5: lambda a: np.swapaxes(a, 0, 1),  # transposed
        6: lambda a: np.rot90(a, -1),  # stored turned 90 degrees counter-clockwise
        7: lambda a: np.swapaxes(a, 0, 1)[::-1, ::-1],  # transversed
        8: lambda a: np.rot90(a, 1),  # stored turned 90 degrees clockwise
    }
    turn = turns.get(int(orientation))
    return pixels if turn is None else np.ascontiguousarray(turn(pixels))


def _tiff_array(path: Path) -> tuple[np.ndarray, float]:
    """Decode a TIFF with tifffile (16-bit and float images included); first page only, turned
    upright by its Orientation tag as Pillow turns photos (upright). When tifffile cannot (LZW,
    JPEG or CCITT compression needs imagecodecs, which medflow does not install), Pillow tries;
    the image is rejected only when both fail."""
    import tifffile

    try:
        with tifffile.TiffFile(path) as tiff:
            page = tiff.pages[0]
            photometric = int(page.photometric)
            if photometric not in TIFFFILE_COLOURS:
                named = getattr(page.photometric, "name", str(photometric))
                return _pil_tiff(
                    path,
                    lambda error: (
                        f"TIFF with colour interpretation {named} that Pillow cannot "
                        f"convert ({error}); save it as RGB or grey"
                    ),
                )
            check_pixel_count(int(page.imagelength) * int(page.imagewidth))
            if len(tiff.pages) > 1:
                log.warning("%s: a TIFF of %d pages; its first page is used", path, len(tiff.pages))
            pixels = page.asarray()
            axes = page.axes
            tag = page.tags.get("Orientation")
        if pixels.ndim == 3 and axes.startswith("S"):
            pixels = np.moveaxis(pixels, 0, -1)  # planar (one plane per channel): rows first
        if photometric == MINISWHITE:
            pixels = white_is_zero(pixels)
        if tag is not None and pixels.ndim in (2, 3):
            pixels = upright(pixels, tag.value)
    except (MemoryError, UnreadableImage):
        raise
    except Exception as error:  # tifffile raises many types for damaged or compressed files
        why = reason_of(error, path)
        return _pil_tiff(path, lambda fallback: f"cannot decode TIFF: {why} (Pillow: {fallback})")
    return pixels, full_scale_of(pixels.dtype)


# TIFF PhotometricInterpretation values whose samples tifffile's array holds as grey or RGB
# values (white-is-zero after white_is_zero); palette, CMYK, YCbCr, CIELAB and the rest go to
# Pillow, which converts them as viewers show them.
MINISWHITE, MINISBLACK, RGB = 0, 1, 2
TIFFFILE_COLOURS = (MINISWHITE, MINISBLACK, RGB)


def white_is_zero(pixels: np.ndarray) -> np.ndarray:
    """A white-is-zero (MinIsWhite) TIFF's samples as black-is-zero: inverted on its full
    scale (8-bit 200 -> 55; floats 0..1 -> 1 - x), as image viewers show it."""
    if pixels.dtype == np.bool_:
        return ~pixels
    if pixels.dtype.kind == "u":
        return np.iinfo(pixels.dtype).max - pixels
    if pixels.dtype.kind == "f":
        return 1.0 - pixels
    raise UnreadableImage(
        f"a white-is-zero TIFF of signed {pixels.dtype} samples has no known scale; save it "
        "as an unsigned or black-is-zero image"
    )


def _pil_tiff(path: Path, reason: Callable[[UnreadableImage], str]) -> tuple[np.ndarray, float]:
    """A TIFF read by Pillow (compression tifffile lacks, colour interpretations it leaves raw);
    when Pillow fails too, the reject's reason is `reason(Pillow's error)` (an image too large
    keeps Pillow's own reason)."""
    try:
        return _pil_array(path)
    except UnreadableImage as error:
        if str(error).startswith("image too large"):
            raise
        raise UnreadableImage(reason(error)) from error


def dicom_array(path: Path) -> tuple[np.ndarray, float]:
    """Stored DICOM pixel values (MONOCHROME1 inverted) and their full scale from BitsStored; of
    a CT image, its Hounsfield units on a fixed scale (ct_pixels).

    Any failure to read one file (a damaged header raises many kinds of error in pydicom, some
    only when an element is first used) makes that file a reject, never a crash of the run."""
    try:
        return _dicom_pixels(path)
    except (UnreadableImage, MemoryError):
        raise
    except Exception as error:  # pydicom raises many types for damaged or unsupported files
        raise UnreadableImage(
            f"not a readable DICOM file: {type(error).__name__}: {reason_of(error, path)}"
        ) from error


def _dicom_pixels(path: Path) -> tuple[np.ndarray, float]:
    import pydicom

    dataset = pydicom.dcmread(path)
    stored_as = next((key for key in PIXEL_DATA_KEYS if key in dataset), None)
    if stored_as is None:
        raise UnreadableImage(
            "DICOM file has no pixel data (a report or other non-image object, or a file cut "
            f"short: it holds {path.stat().st_size} bytes)"
        )
    frames = int(getattr(dataset, "NumberOfFrames", 1) or 1)
    samples = int(getattr(dataset, "SamplesPerPixel", 1) or 1)
    check_pixel_count(int(getattr(dataset, "Rows", 0)) * int(getattr(dataset, "Columns", 0)))
    if frames > 1:
        log.warning("%s: a multi-frame DICOM (%d frames); its first frame is used", path, frames)
        dataset.pixel_array_options(index=0)  # decode that frame alone, not the whole volume
    try:
        pixels = dataset.pixel_array
    except MemoryError:
        raise
    except Exception as error:  # pydicom raises many types for damaged or unsupported pixel data
        reason = f"cannot decode DICOM pixel data: {reason_of(error, path)}"
        if "Unable to decode" in reason or "Unable to decompress" in reason:
            reason += (
                "; decompress the file first (GDCM: gdcmconv --raw IN OUT; DCMTK: dcmdjpeg IN "
                "OUT, dcmdjpls for JPEG-LS)"
            )
        raise UnreadableImage(reason) from error
    if stored_as != "PixelData":  # parametric maps: measured values, no nominal scale
        return pixels.astype(np.float64), 1.0
    if samples == 1 and is_ct(dataset):
        return ct_pixels(pixels, dataset), CT_FULL
    if str(getattr(dataset, "PhotometricInterpretation", "")) == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut

        # indices into the file's red, green and blue tables; the tables' entries are 8 or 16 bits
        bits = int(dataset.RedPaletteColorLookupTableDescriptor[2])
        return apply_color_lut(pixels, dataset).astype(np.float64), 2.0**bits - 1
    bits = int(getattr(dataset, "BitsStored", 8 * pixels.dtype.itemsize))
    pixels = pixels.astype(np.float64)
    if int(getattr(dataset, "PixelRepresentation", 0)) == 1:
        pixels = pixels + 2.0 ** (bits - 1)
    full = 2.0**bits - 1
    if samples == 1 and str(getattr(dataset, "PhotometricInterpretation", "")) == "MONOCHROME1":
        pixels = full - pixels
    return pixels, full


# Where a DICOM file keeps its pixels: integers (any image) or floats (parametric maps)
PIXEL_DATA_KEYS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")

# CT in Hounsfield units: -1024..3071, the 12-bit range CT scanners store (air -1000, water 0,
# bone up to about 3000), as 0..CT_FULL. Below -1024 (the padding outside a scanner's field of view,
# -2000 or -3024) reads as air, above 3071 (metal) as the top.
CT_LOWEST_HU = -1024
CT_FULL = 4095.0


def is_ct(dataset) -> bool:
    """A CT image (Modality CT, or a rescale to Hounsfield units)."""
    return (
        str(getattr(dataset, "Modality", "")).upper() == "CT"
        or str(getattr(dataset, "RescaleType", "")).upper() == "HU"
    )


def ct_pixels(stored: np.ndarray, dataset) -> np.ndarray:
    """A CT image's stored values in Hounsfield units (RescaleSlope and RescaleIntercept, the
    modality LUT), shifted to 0..CT_FULL: the same tissue gives the same value whether a scanner
    stores signed values or unsigned ones with an intercept of -1024."""
    slope = float(getattr(dataset, "RescaleSlope", 1) or 1)
    intercept = float(getattr(dataset, "RescaleIntercept", 0) or 0)
    hu = stored.astype(np.float64) * slope + intercept
    return np.clip(hu - CT_LOWEST_HU, 0.0, CT_FULL)


def is_dicom_path(path: Path) -> bool:
    """A DICOM file by extension, or by the 'DICM' marker after the 128-byte preamble."""
    if path.suffix.lower() in DICOM_EXTENSIONS:
        return True
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        return False
    try:
        with open(path, "rb") as handle:
            handle.seek(128)
            return handle.read(4) == b"DICM"
    except OSError:
        return False


def decode_any(path: Path) -> tuple[np.ndarray, float]:
    """Decode an image file of any supported format to (pixels HxW or HxWxC, full scale)."""
    if is_broken_link(path):
        raise UnreadableImage("broken symbolic link")
    if path.stat().st_size == 0:
        raise UnreadableImage("empty file (0 bytes)")
    suffix = path.suffix.lower()
    try:
        if suffix in (".tif", ".tiff"):
            return _tiff_array(path)
        if suffix in IMAGE_EXTENSIONS:
            return _pil_array(path)
        if is_dicom_path(path):
            return dicom_array(path)
    except MemoryError as error:
        raise InputError(
            f"{path}: not enough memory to decode this image ({error}); give the step more "
            "memory (the rule's mem_mb, or a larger machine), or remove the file"
        ) from error
    raise UnreadableImage(
        f"not a supported image file (extension '{suffix}'; expected PNG, JPEG, TIFF or DICOM)"
    )


def as_hwc(pixels: np.ndarray) -> np.ndarray:
    """Pixels as height x width x channels, alpha dropped; fails on shapes that are not images."""
    pixels = np.asarray(pixels)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    if pixels.ndim == 3 and pixels.shape[0] in (1, 3, 4) and pixels.shape[2] not in (1, 2, 3, 4):
        pixels = np.moveaxis(pixels, 0, -1)  # channels first (an .npz saved for PyTorch)
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 2, 3, 4):
        raise UnreadableImage(
            f"unsupported pixel array shape {tuple(pixels.shape)}: an image is grey or RGB (with "
            "or without alpha), height x width (x 1, 2, 3 or 4 channels); save it so (a stack "
            "or a multispectral image: one slice or three bands as RGB)"
        )
    if pixels.shape[0] < 2 or pixels.shape[1] < 2:
        raise UnreadableImage(f"image too small ({pixels.shape[0]}x{pixels.shape[1]} pixels)")
    if pixels.shape[2] in (2, 4):
        pixels = pixels[:, :, :-1]  # drop alpha (grey+alpha, RGBA)
    return pixels


def is_colour(pixels: np.ndarray) -> bool:
    """True for an image with colour: three channels that are not all the same."""
    pixels = as_hwc(pixels)
    if pixels.shape[2] < 3:
        return False
    return not (
        np.array_equal(pixels[..., 0], pixels[..., 1])
        and np.array_equal(pixels[..., 0], pixels[..., 2])
    )


def to_channels(pixels: np.ndarray, channels: int) -> np.ndarray:
    """Convert HxWxC to 1 channel (ITU-R 601 luminance) or 3 channels (grey repeated)."""
    pixels = np.asarray(pixels, dtype=np.float64)
    have = pixels.shape[2]
    if have == channels:
        return pixels
    if channels == 1:
        return (pixels[:, :, :3] @ LUMA)[:, :, None]
    if channels == 3 and have == 1:
        return np.repeat(pixels, 3, axis=2)
    raise ValueError(f"cannot convert {have} channels to {channels}")


def resize(pixels: np.ndarray, height: int, width: int, method: str) -> np.ndarray:
    """Resize each channel in floating point with Pillow ('area' averages, so no aliasing)."""
    from PIL import Image

    if pixels.shape[:2] == (height, width):
        return pixels.astype(np.float64)
    resample = {
        "area": Image.Resampling.BOX,
        "bilinear": Image.Resampling.BILINEAR,
        "bicubic": Image.Resampling.BICUBIC,
        "lanczos": Image.Resampling.LANCZOS,
        "nearest": Image.Resampling.NEAREST,
    }[method]
    planes = [
        np.asarray(
            Image.fromarray(np.ascontiguousarray(pixels[:, :, c], dtype=np.float32)).resize(
                (width, height), resample=resample
            ),
            dtype=np.float64,
        )
        for c in range(pixels.shape[2])
    ]
    return np.stack(planes, axis=2)


def check_full_scale(pixels: np.ndarray, full_scale: float) -> None:
    """Refuse (as a reject) pixels outside 0..full scale: dtype_range scaling would clip them."""
    low, high = float(pixels.min()), float(pixels.max())
    if low < 0 or high > full_scale:
        raise UnreadableImage(
            f"pixel values {low:g} to {high:g} lie outside 0 to {full_scale:g}, the range that "
            "dtype_range scaling maps to 0..1 (float and signed-integer images must hold 0..1), "
            f"so it would clip them; {SCALING_ADVICE}"
        )


# What a pixel-range reject advises: in preprocessing, another scaling; a trained model's new images
# are prepared as its training images were (the model file keeps the scaling)
SCALING_ADVICE = "set imaging.preprocess.scaling: minmax (each image to 0..1)"
PREDICT_SCALING_ADVICE = (
    "the model was trained with dtype_range scaling, which prediction keeps: save the image as "
    "8- or 16-bit unsigned, or as floats of 0..1, or train the model again with "
    "imaging.preprocess.scaling: minmax"
)


def scale(pixels: np.ndarray, method: str, full_scale: float) -> np.ndarray:
    """Scale intensities: by the format's full scale to [0, 1], per-image min-max, or z-score.

    dtype_range clips only a resampling filter's overshoot: pixels outside the full scale are
    refused before resizing (`check_full_scale`)."""
    if method == "dtype_range":
        return np.clip(pixels / full_scale, 0.0, 1.0)
    if method == "minmax":
        low, high = float(pixels.min()), float(pixels.max())
        return (pixels - low) / (high - low) if high > low else np.zeros_like(pixels)
    if method == "zscore":
        std = float(pixels.std())
        return (pixels - pixels.mean()) / std if std > 0 else np.zeros_like(pixels)
    raise ValueError(f"unknown scaling '{method}' (choose from {', '.join(SCALINGS)})")


def prepare_pixels(
    pixels: np.ndarray,
    full_scale: float,
    height: int,
    width: int,
    channels: int,
    scaling: str,
    resize_method: str,
) -> np.ndarray:
    """Decoded pixels -> float32 height x width x channels, scaled: the one preprocessing path."""
    pixels = as_hwc(pixels)
    if not np.all(np.isfinite(pixels)):
        raise UnreadableImage("image holds non-finite pixel values (NaN or infinity)")
    if scaling == "dtype_range":
        check_full_scale(pixels, full_scale)
    if pixels.shape[2] in (1, channels):
        # grey to 1 or 3 channels, or colour kept: resize the planes as stored (resize works in
        # float32 either way), then convert: the same bytes as converting the full-size image
        # first, at a fraction of the work for a large photograph (luminance is computed before
        # resizing, as it always was)
        pixels = to_channels(resize(pixels, height, width, resize_method), channels)
    else:
        pixels = resize(to_channels(pixels, channels), height, width, resize_method)
    return scale(pixels, scaling, full_scale).astype(np.float32)


def prepare_image(path: Path, **settings) -> tuple[np.ndarray, tuple[int, int, int]]:
    """Decode and prepare one image file; also return its original (height, width, channels)."""
    pixels, full = decode_any(Path(path))
    original = as_hwc(pixels).shape
    return prepare_pixels(pixels, full, **settings), original


def is_broken_link(path: Path) -> bool:
    """A symbolic link whose target does not exist."""
    return path.is_symlink() and not path.exists()


def list_files(root: Path) -> list[Path]:
    """Every regular file under root, recursively, sorted, and every broken symbolic link (so
    it becomes a reject, not a silent gap); hidden files and folders (a part of the path
    starting with '.'), macOS's __MACOSX folders and Snakemake's folder marker are skipped. Folders reached through a
    symbolic link are walked too, each real folder once, in name order (a second link to a
    folder already walked, or a link back up the tree, a loop, is not walked again)."""
    root = Path(root)
    found, walked = [], set()
    for here, folders, files in os.walk(root, followlinks=True):
        real = os.path.realpath(here)
        if real in walked:
            folders[:] = []
            continue
        walked.add(real)
        folders[:] = sorted(n for n in folders if n[0] != "." and n not in IGNORED_FOLDERS)
        for name in files:
            path = Path(here) / name
            if name.startswith(".") or name in IGNORED_FILES:
                continue
            if path.is_file() or is_broken_link(path):
                found.append(path)
    return sorted(found, key=lambda p: p.as_posix())


def relative(path: Path, root: Path) -> str:
    """Path relative to root, with forward slashes, as written in tables."""
    return PurePosixPath(Path(path).relative_to(root).as_posix()).as_posix()


def save_npz_stable(path: str | Path, arrays: dict[str, np.ndarray]) -> None:
    """Write an .npz like numpy.savez but byte-stable (fixed zip timestamps, sorted entries)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in sorted(arrays):
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=FIXED_ZIP_TIME)
            info.external_attr = 0o644 << 16
            archive.writestr(info, buffer.getvalue())


def write_table(frame: pd.DataFrame, path: str | Path) -> None:
    """Write a tab-separated table the same way every time."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, sep="\t", index=False, lineterminator="\n", float_format="%.6g")


def write_json(data: dict, path: str | Path) -> None:
    """Write JSON with sorted keys and a final newline (byte-stable)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def rejects_frame(rows: Iterable[tuple[str, str]]) -> pd.DataFrame:
    """Rejects as a table with columns file and reason, sorted by file."""
    frame = pd.DataFrame(
        [(name, one_line(reason)) for name, reason in rows], columns=["file", "reason"]
    )
    return frame.sort_values("file", kind="stable").reset_index(drop=True)


def require_file(path: str | Path, what: str) -> Path:
    """The path, or a clear InputError saying which input is missing."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{what} '{path}' does not exist; fix the path in the imaging config")
    return path


SPLITS = ("train", "val", "test")


def load_arrays(path: str | Path, splits: Iterable[str] = SPLITS) -> dict[str, np.ndarray]:
    """The preprocessed arrays of the named splits (x_/y_/files_), class_names and settings.

    Training asks for train and val only: the test split is read by evaluation alone.
    """
    wanted = {"class_names", "preprocess_settings"}
    wanted |= {f"{kind}_{split}" for split in splits for kind in ("x", "y", "files")}
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files if name in wanted}
