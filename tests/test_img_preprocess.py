"""Imaging preprocessing: pixel handling, splits, every input format and the bad-input cases."""

import hashlib
from pathlib import Path

import img_preprocess
import numpy as np
import pandas as pd
import pydicom
import pytest
import tifffile
from PIL import Image
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from medflow.imaging import datasets
from medflow.imaging import io as img_io
from medflow.step import InputError

SETTINGS = {"height": 16, "width": 16, "channels": 1, "scaling": "dtype_range"}
SETTINGS["resize_method"] = "area"


# ---------------------------------------------------------------- small files the tests make


def write_png(path: Path, pixels: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def grey(seed: int, size: tuple[int, int] = (20, 24), bright: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = 150 if bright else 60
    return np.clip(rng.normal(base, 20, size), 0, 255).astype(np.uint8)


def write_dicom(path: Path, pixels: np.ndarray, monochrome1: bool = False) -> Path:
    """A minimal valid DICOM written with pydicom's own API."""
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[str(path.name)])
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = pydicom.Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "OT"
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME1" if monochrome1 else "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
    ds.PixelRepresentation = 0
    ds.PixelData = pixels.astype(np.uint16).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def class_folder(root: Path, per_class: int = 10, classes=("a", "b")) -> Path:
    for k, name in enumerate(classes):
        for i in range(per_class):
            write_png(root / name / f"{i:03d}.png", grey(100 * k + i, bright=bool(k)))
    return root


INPUT_KEYS = ("format", "class_names", "labels_file_column", "labels_class_column")


def run_preprocess(tmp_path: Path, source: str, labels: str | None = None, **kwargs) -> dict:
    """img_preprocess's main() on a context built as a hand run would (schema defaults filled)."""
    out = tmp_path / "out"
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        name: str(out / f"{name}.{ext}")
        for name, ext in [
            ("arrays", "npz"),
            ("manifest", "tsv"),
            ("counts", "tsv"),
            ("rejects", "tsv"),
        ]
    }
    overrides = {}
    for key, value in {**SETTINGS, **kwargs}.items():
        section = "seed" if key == "seed" else "input" if key in INPUT_KEYS else "preprocess"
        overrides[key if section == "seed" else f"imaging.{section}.{key}"] = value
    ctx = img_preprocess.STEP.context(
        input={"source": source, "labels": labels}, output=paths, overrides=overrides
    )
    img_preprocess.main(ctx)
    result = {name: pd.read_csv(p, sep="\t") for name, p in paths.items() if name != "arrays"}
    with np.load(paths["arrays"]) as arrays:
        result["arrays"] = {k: arrays[k] for k in arrays.files}
    result["paths"] = paths
    return result


# ---------------------------------------------------------------- pixel handling


def test_prepare_pixels_gives_configured_size_channels_and_range():
    rgb = np.random.default_rng(0).integers(0, 256, (40, 30, 3)).astype(np.uint8)
    out = img_io.prepare_pixels(rgb, 255, 28, 20, 1, "dtype_range", "area")
    assert out.shape == (28, 20, 1) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    out3 = img_io.prepare_pixels(rgb[:, :, 0], 255, 8, 8, 3, "dtype_range", "bilinear")
    assert out3.shape == (8, 8, 3)
    assert np.array_equal(out3[:, :, 0], out3[:, :, 2])


def test_scalings():
    pixels = np.array([[0.0, 51.0], [102.0, 255.0]])[:, :, None]
    assert np.allclose(img_io.scale(pixels, "dtype_range", 255).ravel(), [0, 0.2, 0.4, 1.0])
    assert np.allclose(img_io.scale(pixels / 2 + 10, "minmax", 255).ravel(), [0, 0.2, 0.4, 1.0])
    z = img_io.scale(pixels, "zscore", 255)
    assert abs(z.mean()) < 1e-9 and abs(z.std() - 1) < 1e-9
    assert not img_io.scale(np.full((2, 2, 1), 7.0), "minmax", 255).any()  # constant image


def test_luminance_conversion_and_alpha_dropped():
    rgba = np.zeros((4, 4, 4))
    rgba[:, :, 1] = 200  # pure green, alpha channel ignored
    out = img_io.to_channels(img_io.as_hwc(rgba), 1)
    assert out.shape == (4, 4, 1) and np.allclose(out, 0.587 * 200)


def test_area_resize_averages_blocks():
    pixels = np.kron(np.array([[0.0, 1.0], [1.0, 0.0]]), np.ones((4, 4)))[:, :, None]
    small = img_io.resize(pixels, 2, 2, "area")
    assert np.allclose(small[:, :, 0], [[0, 1], [1, 0]])


def test_stratified_split_keeps_class_shares_and_is_seeded():
    labels = np.array(["a"] * 60 + ["b"] * 40)
    first = datasets.stratified_split(labels, 0.2, 0.2, seed=7)
    assert np.array_equal(first, datasets.stratified_split(labels, 0.2, 0.2, seed=7))
    assert not np.array_equal(first, datasets.stratified_split(labels, 0.2, 0.2, seed=8))
    for split, size in [("train", 60), ("val", 20), ("test", 20)]:
        chosen = labels[first == split]
        assert len(chosen) == size
        assert (chosen == "a").sum() == size * 0.6


def test_split_of_a_tiny_class_fails_clearly():
    with pytest.raises(InputError, match="fewer than 3"):
        datasets.stratified_split(np.array(["a"] * 10 + ["b"] * 2), 0.2, 0.2, 1)


def test_stable_npz_is_byte_identical_and_loads(tmp_path):
    arrays = {"x": np.arange(6, dtype=np.float32).reshape(2, 3), "names": np.array(["a", "bb"])}
    img_io.save_npz_stable(tmp_path / "one.npz", arrays)
    img_io.save_npz_stable(tmp_path / "two.npz", arrays)
    assert (tmp_path / "one.npz").read_bytes() == (tmp_path / "two.npz").read_bytes()
    with np.load(tmp_path / "one.npz") as loaded:
        assert np.array_equal(loaded["x"], arrays["x"]) and list(loaded["names"]) == ["a", "bb"]


# ---------------------------------------------------------------- input formats


def test_folder_of_png_jpeg_tiff(tmp_path):
    root = class_folder(tmp_path / "data", per_class=8)
    Image.fromarray(grey(1)).save(root / "a" / "extra.jpg", quality=95)
    tifffile.imwrite(root / "b" / "extra16.tif", (grey(2, bright=True).astype(np.uint16) * 257))
    result = run_preprocess(tmp_path, format="folder", source=str(root), seed=3)
    arrays = result["arrays"]
    assert list(arrays["class_names"]) == ["a", "b"]
    total = sum(len(arrays[f"x_{s}"]) for s in ("train", "val", "test"))
    assert total == 18 and result["rejects"].empty
    assert arrays["x_train"].shape[1:] == (16, 16, 1)
    counts = result["counts"].set_index("class")
    assert counts.loc["all", "total"] == 18 and counts.loc["a", "total"] == 9
    manifest = result["manifest"].set_index("file")
    assert manifest.loc["b/extra16.tif", "class"] == "b"
    assert set(manifest["split"]) == {"train", "val", "test"}
    # a 16-bit TIFF scales by 65535, so it lands in the same range as the 8-bit images
    assert arrays["x_train"].max() <= 1.0


def test_preprocessing_is_byte_identical_on_rerun(tmp_path):
    root = class_folder(tmp_path / "data", per_class=6)
    first = run_preprocess(tmp_path / "r1", format="folder", source=str(root), seed=3)
    second = run_preprocess(tmp_path / "r2", format="folder", source=str(root), seed=3)
    for name in ("arrays", "manifest", "counts", "rejects"):
        one, two = Path(first["paths"][name]), Path(second["paths"][name])
        assert (
            hashlib.sha256(one.read_bytes()).digest() == hashlib.sha256(two.read_bytes()).digest()
        )


def test_dicom_with_labels_table(tmp_path):
    root = tmp_path / "dicom"
    rows = []
    for i in range(12):
        label = "tumour" if i % 2 else "normal"
        pixels = grey(i, bright=bool(i % 2)).astype(np.uint16) * 16  # 12-bit values
        write_dicom(root / f"series{i % 3}" / f"img{i}.dcm", pixels, monochrome1=(i == 0))
        rows.append({"path": f"series{i % 3}/img{i}.dcm", "diagnosis": label})
    labels = tmp_path / "labels.csv"
    pd.DataFrame(rows).to_csv(labels, index=False)
    result = run_preprocess(
        tmp_path,
        format="dicom",
        source=str(root),
        labels=str(labels),
        labels_file_column="path",
        labels_class_column="diagnosis",
        seed=1,
    )
    assert result["rejects"].empty
    assert list(result["arrays"]["class_names"]) == ["normal", "tumour"]
    assert result["counts"].set_index("class").loc["all", "total"] == 12
    x = np.concatenate([result["arrays"][f"x_{s}"] for s in ("train", "val", "test")])
    assert x.min() >= 0.0 and x.max() <= 1.0 and x.max() > 0.3  # scaled by 2^12 - 1, not 65535


def test_dicom_monochrome1_is_inverted(tmp_path):
    pixels = np.full((8, 8), 1000, dtype=np.uint16)
    plain, full = img_io.dicom_array(write_dicom(tmp_path / "m2.dcm", pixels))
    inverted, _ = img_io.dicom_array(write_dicom(tmp_path / "m1.dcm", pixels, monochrome1=True))
    assert full == 4095 and plain[0, 0] == 1000 and inverted[0, 0] == 4095 - 1000


def test_a_multi_frame_dicom_gives_its_first_frame_and_says_so(tmp_path, caplog):
    frames = np.stack([np.full((8, 8), 100 * (k + 1), dtype=np.uint16) for k in range(3)])
    path = write_dicom(tmp_path / "cine.dcm", frames[0])
    dataset = pydicom.dcmread(path)
    dataset.NumberOfFrames = 3
    dataset.PixelData = frames.tobytes()
    dataset.save_as(path, enforce_file_format=True)
    pixels, _ = img_io.dicom_array(path)
    assert pixels.shape == (8, 8) and pixels[0, 0] == 100
    assert "cine.dcm: a multi-frame DICOM (3 frames); its first frame is used" in caplog.text


def make_npz(path: Path, rgb: bool = False, drop: str | None = None, label_shape=(-1, 1)):
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in [("train", 30), ("val", 10), ("test", 12)]:
        shape = (n, 28, 28, 3) if rgb else (n, 28, 28)
        arrays[f"{split}_images"] = rng.integers(0, 256, shape).astype(np.uint8)
        arrays[f"{split}_labels"] = (np.arange(n) % 3).reshape(label_shape).astype(np.uint8)
    if drop:
        del arrays[drop]
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("rgb", [False, True])
def test_medmnist_npz_keeps_its_splits(tmp_path, rgb):
    npz = make_npz(tmp_path / "medmnist.npz", rgb=rgb)
    result = run_preprocess(
        tmp_path, format="npz", source=str(npz), height=28, width=28, class_names=["x", "y", "z"]
    )
    arrays = result["arrays"]
    assert [len(arrays[f"y_{s}"]) for s in ("train", "val", "test")] == [30, 10, 12]
    assert list(arrays["class_names"]) == ["x", "y", "z"]
    assert np.array_equal(arrays["y_val"], np.arange(10) % 3)
    assert arrays["files_test"][0] == "test_images[0]"
    with np.load(npz) as raw:  # /255 scaling, grey kept or RGB converted to luminance
        expected = raw["train_images"][0].astype(np.float64)
        if rgb:
            expected = expected @ img_io.LUMA
        assert np.allclose(arrays["x_train"][0, :, :, 0], expected / 255, atol=1e-6)


def test_npz_labels_of_shape_n_work_too(tmp_path):
    npz = make_npz(tmp_path / "flat.npz", label_shape=(-1,))
    result = run_preprocess(tmp_path, format="npz", source=str(npz), height=28, width=28)
    assert list(result["arrays"]["class_names"]) == ["0", "1", "2"]


# ---------------------------------------------------------------- bad input


def test_class_names_the_input_does_not_hold_are_named(tmp_path):
    root = class_folder(tmp_path / "data", per_class=3)  # folders a/ and b/
    with pytest.raises(
        InputError,
        match=r"class_names names class\(es\) \['A', 'B'\] that the input does not hold \(its classes: \['a', 'b'\]\)",
    ):
        run_preprocess(tmp_path, format="folder", source=str(root), class_names=["A", "B"])
    npz = make_npz(tmp_path / "three.npz")  # labels 0, 1, 2
    with pytest.raises(InputError, match=r"\['w'\] that the input does not hold"):
        run_preprocess(tmp_path, format="npz", source=str(npz), class_names=["x", "y", "z", "w"])


def test_corrupt_and_truncated_images_are_rejected_with_reason(tmp_path):
    root = class_folder(tmp_path / "data", per_class=6)
    (root / "a" / "corrupt.png").write_bytes(b"this is not a png")
    good = (root / "b" / "000.png").read_bytes()
    (root / "b" / "truncated.png").write_bytes(good[: len(good) // 2])
    (root / "b" / "notes.txt").write_text("not an image")
    (root / "b" / "moving.gif").write_bytes(b"GIF89a")
    (root / "a" / "empty.jpg").write_bytes(b"")
    (root / "stray.png").write_bytes(good)
    result = run_preprocess(tmp_path, format="folder", source=str(root))
    rejects = result["rejects"].set_index("file")["reason"]
    assert set(rejects.index) == {
        "a/corrupt.png",
        "a/empty.jpg",
        "b/truncated.png",
        "b/notes.txt",
        "b/moving.gif",
        "stray.png",
    }
    assert "cannot decode" in rejects["a/corrupt.png"]
    assert rejects["a/empty.jpg"] == "empty file (0 bytes)"
    assert "cannot decode" in rejects["b/truncated.png"]
    assert "not a supported image file (extension '.txt'" in rejects["b/notes.txt"]
    assert "extension '.gif'; expected PNG, JPEG or TIFF" in rejects["b/moving.gif"]
    assert "not inside a class subfolder" in rejects["stray.png"]
    assert result["counts"].set_index("class").loc["all", "total"] + len(rejects) == 18


def test_empty_class_folder_fails_naming_it(tmp_path):
    root = class_folder(tmp_path / "data", per_class=5)
    (root / "c").mkdir()
    with pytest.raises(InputError, match=r"class folder .*c' holds no"):
        run_preprocess(tmp_path, format="folder", source=str(root))


def test_single_class_fails(tmp_path):
    root = class_folder(tmp_path / "data", per_class=5, classes=("only",))
    with pytest.raises(InputError, match="only one class"):
        run_preprocess(tmp_path, format="folder", source=str(root))


def test_class_with_only_unreadable_images_fails_with_reasons(tmp_path):
    root = class_folder(tmp_path / "data", per_class=5, classes=("a",))
    write_png(root / "b" / "x.png", grey(1)).write_bytes(b"broken")
    with pytest.raises(InputError, match=r"\['b'\] have no readable images"):
        run_preprocess(tmp_path, format="folder", source=str(root))


def test_mixed_sizes_and_channels_are_converted_and_recorded(tmp_path):
    root = class_folder(tmp_path / "data", per_class=5)
    rgb = np.random.default_rng(1).integers(0, 256, (50, 40, 3)).astype(np.uint8)
    write_png(root / "a" / "colour.png", rgb)
    rgba = np.dstack([rgb, np.full((50, 40), 255, np.uint8)])
    write_png(root / "b" / "alpha.png", rgba)
    result = run_preprocess(tmp_path, format="folder", source=str(root))
    manifest = result["manifest"].set_index("file")
    assert manifest.loc["a/colour.png", "original_channels"] == 3
    assert manifest.loc["b/alpha.png", "original_channels"] == 4
    assert manifest.loc["a/000.png", "original_height"] == 20
    assert result["arrays"]["x_train"].shape[1:] == (16, 16, 1)


def test_labels_table_missing_files_and_unknown_names_become_rejects(tmp_path):
    root = tmp_path / "dicom"
    for i in range(10):
        write_dicom(root / f"{i}.dcm", grey(i, bright=bool(i % 2)).astype(np.uint16))
    (root / "broken.dcm").write_bytes(b"\0" * 128 + b"DICM" + b"garbage")
    table = pd.DataFrame(
        {
            "file": [f"{i}.dcm" for i in range(9)] + ["ghost.dcm", "broken.dcm"],
            "class": ["n", "t"] * 4 + ["n", "t", "t"],
        }
    )
    table.to_csv(tmp_path / "labels.tsv", sep="\t", index=False)
    result = run_preprocess(
        tmp_path, format="dicom", source=str(root), labels=str(tmp_path / "labels.tsv")
    )
    rejects = result["rejects"].set_index("file")["reason"]
    assert "no entry in labels table" in rejects["9.dcm"]
    assert "line 11" in rejects["ghost.dcm"] and "no such file" in rejects["ghost.dcm"]
    assert "DICOM" in rejects["broken.dcm"]
    assert result["counts"].set_index("class").loc["all", "total"] == 9


def test_labels_table_with_duplicates_or_wrong_columns_fails(tmp_path):
    root = tmp_path / "dicom"
    write_dicom(root / "0.dcm", grey(0).astype(np.uint16))
    (tmp_path / "dup.csv").write_text("file,class\n0.dcm,a\n0.dcm,b\n")
    with pytest.raises(InputError, match=r"more than once \(lines \[2, 3\]\)"):
        datasets.scan_dicom(root, tmp_path / "dup.csv", "file", "class")
    (tmp_path / "twice.csv").write_text("file,class\n0.dcm,a\n./0.dcm,b\n")
    with pytest.raises(InputError, match=r"names file '0.dcm' more than once \(lines \[2, 3\]\)"):
        datasets.scan_dicom(root, tmp_path / "twice.csv", "file", "class")
    (tmp_path / "dot.csv").write_text("file,class\n./0.dcm,a\n")
    assert len(datasets.scan_dicom(root, tmp_path / "dot.csv", "file", "class")[0]) == 1
    (tmp_path / "cols.csv").write_text("name,label\n0.dcm,a\n")
    with pytest.raises(InputError, match="lacks column"):
        datasets.scan_dicom(root, tmp_path / "cols.csv", "file", "class")
    (tmp_path / "wide.csv").write_text("file,class\n0.dcm,a\n", encoding="utf-16")
    with pytest.raises(InputError, match=r"wide.csv': the file is UTF-16 text"):
        datasets.scan_dicom(root, tmp_path / "wide.csv", "file", "class")
    (tmp_path / "bom.csv").write_text("file,class\n0.dcm,a\n", encoding="utf-8-sig")
    assert len(datasets.scan_dicom(root, tmp_path / "bom.csv", "file", "class")[0]) == 1
    (tmp_path / "semi.csv").write_text("file;class\n0.dcm;a\n")
    with pytest.raises(InputError, match=r"header is separated by ';', but a .csv file is read"):
        datasets.scan_dicom(root, tmp_path / "semi.csv", "file", "class")


def test_labels_table_paths_absolute_inside_dicom_dir_are_read_and_hidden_ones_named(tmp_path):
    root = tmp_path / "dicom"
    for name in ("a0", "b0", ".c0"):
        write_dicom(root / f"{name}.dcm", grey(0).astype(np.uint16))
    rows = f"{root / 'a0.dcm'},a\nb0.dcm,b\n.c0.dcm,b\n{tmp_path / 'x.dcm'},a\n"
    (tmp_path / "abs.csv").write_text("file,class\n" + rows)
    records, rejects = datasets.scan_dicom(root, tmp_path / "abs.csv", "file", "class")
    assert [(p.name, c) for p, c in records] == [("a0.dcm", "a"), ("b0.dcm", "b")]
    reasons = dict(rejects)
    assert "line 4) but the file is hidden" in reasons[".c0.dcm"]
    assert (
        "line 5) but it is an absolute path outside dicom_dir" in reasons[str(tmp_path / "x.dcm")]
    )


def test_labels_table_that_matches_no_file_or_loses_a_class_stops(tmp_path):
    root = tmp_path / "dicom"
    for name in ("a0", "a1", "b0", "b1"):
        write_dicom(root / f"{name}.dcm", grey(0).astype(np.uint16))
    (tmp_path / "bare.csv").write_text("file,class\na0,a\nb0,b\n")  # no extension
    with pytest.raises(
        InputError,
        match=r"none of its 2 files is under dicom_dir .*line 2 names 'a0'; it holds for example 'a0.dcm'",
    ):
        datasets.scan_dicom(root, tmp_path / "bare.csv", "file", "class")
    rows = "".join(f"{n}.dcm,{n[0]}\n" for n in ("a0", "a1", "b0", "b1"))
    (tmp_path / "lost.csv").write_text("file,class\n" + rows + "sub/c0.dcm,c\nsub/c1.dcm,c\n")
    with pytest.raises(InputError, match=r"no file of class\(es\) \['c'\] .*lines \[6, 7\]"):
        datasets.scan_dicom(root, tmp_path / "lost.csv", "file", "class")


def test_npz_with_missing_keys_fails_naming_them(tmp_path):
    npz = make_npz(tmp_path / "partial.npz", drop="val_labels")
    with pytest.raises(InputError, match=r"lacks key\(s\) \['val_labels'\]"):
        run_preprocess(tmp_path, format="npz", source=str(npz))


def test_npz_labels_stored_as_whole_floats_are_read_as_integers(tmp_path):
    npz = make_npz(tmp_path / "floats.npz")
    with np.load(npz) as raw:
        arrays = {key: raw[key] for key in raw.files}
    for split in ("train", "val", "test"):
        arrays[f"{split}_labels"] = arrays[f"{split}_labels"].astype(np.float32)
    np.savez(npz, **arrays)
    result = run_preprocess(tmp_path, format="npz", source=str(npz), height=28, width=28)
    assert np.array_equal(result["arrays"]["y_val"], np.arange(10) % 3)
    arrays["val_labels"][4] = 1.5
    np.savez(npz, **arrays)
    with pytest.raises(InputError, match="val_labels must be non-negative integers; label 4 of"):
        run_preprocess(tmp_path, format="npz", source=str(npz))


def test_channels_first_npz_fails_saying_how_to_fix_it(tmp_path):
    npz = make_npz(tmp_path / "chw.npz", rgb=True)
    with np.load(npz) as raw:
        arrays = {key: raw[key] for key in raw.files}
    arrays["train_images"] = np.moveaxis(arrays["train_images"], -1, 1)  # (N, 3, 28, 28)
    np.savez(npz, **arrays)
    with pytest.raises(InputError, match=r"looks channels-first; save np\.moveaxis"):
        run_preprocess(tmp_path, format="npz", source=str(npz))


def test_3d_volumes_npz_fails_saying_the_branch_is_2d(tmp_path):
    """MedMNIST's 3D sets store (N, 28, 28, 28) volumes: refused with the reason, not read as
    28-channel images."""
    npz = make_npz(tmp_path / "vol.npz")
    with np.load(npz) as raw:
        arrays = {key: raw[key] for key in raw.files}
    for split in ("train", "val", "test"):
        n = len(arrays[f"{split}_labels"])
        arrays[f"{split}_images"] = np.zeros((n, 28, 28, 28), dtype=np.uint8)
    np.savez(npz, **arrays)
    with pytest.raises(InputError, match=r"looks like 3D volumes .* middle slice"):
        run_preprocess(tmp_path, format="npz", source=str(npz))


def test_flat_row_images_npz_fails_saying_how_to_reshape(tmp_path):
    """Images kept as flat rows (N, 784), as CSV exports store them: the message names the
    shape and the reshape, not a label count that does match."""
    npz = make_npz(tmp_path / "flat.npz")
    with np.load(npz) as raw:
        arrays = {key: raw[key] for key in raw.files}
    arrays["train_images"] = arrays["train_images"].reshape(30, 784)
    np.savez(npz, **arrays)
    with pytest.raises(InputError, match=r"\(30, 784\); .*\.reshape\(-1, 28, 28\)") as error:
        run_preprocess(tmp_path, format="npz", source=str(npz))
    assert "labels" not in str(error.value)


def test_npz_that_is_not_an_npz_fails(tmp_path):
    (tmp_path / "bad.npz").write_text("nope")
    with pytest.raises(InputError, match=r"is not an \.npz file .* starts with b'nope'") as error:
        run_preprocess(tmp_path, format="npz", source=str(tmp_path / "bad.npz"))
    assert "pickle" not in str(error.value)
    np.save(tmp_path / "one.npy", np.zeros((5, 28, 28), dtype=np.uint8))
    (tmp_path / "one.npy").rename(tmp_path / "one.npz")
    with pytest.raises(InputError, match=r"holds one NumPy array \(\.npy\), not an \.npz"):
        run_preprocess(tmp_path, format="npz", source=str(tmp_path / "one.npz"))
    npz = make_npz(tmp_path / "cut.npz")
    npz.write_bytes(npz.read_bytes()[:200])  # a zip cut short
    with pytest.raises(InputError, match=r"not a readable \.npz|cannot be read"):
        run_preprocess(tmp_path, format="npz", source=str(npz))


def test_missing_folder_fails_naming_the_key(tmp_path):
    with pytest.raises(InputError, match=r"imaging.input.folder .* does not exist"):
        run_preprocess(tmp_path, format="folder", source=str(tmp_path / "nowhere"))


# ---------------------------------------------------------------- sizes and channels follow the data


def test_channels_and_size_follow_an_npz_by_default(tmp_path):
    npz = make_npz(tmp_path / "rgb.npz", rgb=True)
    auto = {"height": 0, "width": 0, "channels": 0}
    result = run_preprocess(tmp_path / "rgb", source=str(npz), format="npz", **auto)
    x = result["arrays"]["x_train"]
    with np.load(npz) as raw:
        assert x.shape[1:] == (28, 28, 3)
        assert np.allclose(x[0], raw["train_images"][0] / 255, atol=1e-6)  # colour kept
    grey_npz = make_npz(tmp_path / "grey.npz", rgb=False)
    result = run_preprocess(tmp_path / "grey", source=str(grey_npz), format="npz", **auto)
    assert result["arrays"]["x_train"].shape[1:] == (28, 28, 1)


def test_grey_images_stored_as_rgb_stay_grey_and_colour_makes_three(tmp_path):
    root = class_folder(tmp_path / "data", per_class=5)
    write_png(root / "a" / "grey_as_rgb.png", np.repeat(grey(7)[:, :, None], 3, axis=2))
    auto = {"height": 16, "width": 16, "channels": 0}
    result = run_preprocess(tmp_path / "r1", source=str(root), format="folder", **auto)
    assert result["arrays"]["x_train"].shape[1:] == (16, 16, 1)
    one = run_preprocess(tmp_path / "r2", source=str(root), format="folder", channels=1)
    assert np.allclose(result["arrays"]["x_train"], one["arrays"]["x_train"], atol=1e-6)
    colour = np.random.default_rng(3).integers(0, 256, (20, 24, 3)).astype(np.uint8)
    write_png(root / "b" / "colour.png", colour)
    result = run_preprocess(tmp_path / "r3", source=str(root), format="folder", **auto)
    assert result["arrays"]["x_train"].shape[1:] == (16, 16, 3)


# ---------------------------------------------------------------- bad npz contents (issue #14)


def npz_arrays(n=(30, 10, 12), classes=3, seed=0) -> dict:
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, count in zip(("train", "val", "test"), n, strict=True):
        arrays[f"{split}_images"] = rng.integers(0, 256, (count, 28, 28)).astype(np.uint8)
        arrays[f"{split}_labels"] = (np.arange(count) % classes).reshape(-1, 1)
    return arrays


class Trap:
    """Unpickling this touches a file: proof that medflow never unpickles."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_pickled_object_array_is_refused_naming_file_key_and_why(tmp_path):
    marker = tmp_path / "unpickled"
    arrays = npz_arrays()
    arrays["val_images"] = np.array([Trap(marker)] * 10, dtype=object)
    np.savez(tmp_path / "pickled.npz", **arrays)
    with pytest.raises(InputError) as caught:
        run_preprocess(tmp_path, source=str(tmp_path / "pickled.npz"), format="npz")
    message = str(caught.value)
    assert "pickled.npz" in message and "'val_images'" in message
    assert "objects" in message and "unpickling" in message and "uint8" in message
    assert not marker.exists()


def test_non_finite_pixels_become_rejects_rows(tmp_path):
    arrays = npz_arrays()
    for split in ("train", "val", "test"):  # every split on one scale (0..1)
        arrays[f"{split}_images"] = arrays[f"{split}_images"].astype(np.float32) / 255
    images = arrays["train_images"]
    images[3, 5, 5], images[7, 0, 0] = np.nan, np.inf
    np.savez(tmp_path / "nan.npz", **arrays)
    result = run_preprocess(tmp_path, source=str(tmp_path / "nan.npz"), format="npz")
    rejects = result["rejects"].set_index("file")["reason"]
    assert list(rejects.index) == ["train_images[3]", "train_images[7]"]
    assert all("non-finite" in reason for reason in rejects)
    assert len(result["arrays"]["y_train"]) == 28


def test_a_split_left_empty_after_rejects_fails_clearly(tmp_path):
    arrays = npz_arrays()
    arrays["val_images"] = np.full((10, 28, 28), np.nan, dtype=np.float32)
    np.savez(tmp_path / "nanval.npz", **arrays)
    with pytest.raises(InputError, match=r"no image of the val split is usable \(all 10 rejected"):
        run_preprocess(tmp_path, source=str(tmp_path / "nanval.npz"), format="npz")


def test_a_label_only_in_test_fails_clearly(tmp_path):
    arrays = npz_arrays()
    arrays["test_labels"][0] = 3  # never seen in train
    np.savez(tmp_path / "unseen.npz", **arrays)
    with pytest.raises(InputError, match=r"label\(s\) \[3\] appear in the test split but not"):
        run_preprocess(tmp_path, source=str(tmp_path / "unseen.npz"), format="npz")


def test_new_images_folder_with_corrupt_files_gives_rejects_rows(tmp_path):
    import img_predict

    folder = tmp_path / "new"
    write_png(folder / "good.png", grey(1))
    (folder / "sub").mkdir()
    (folder / "sub" / "broken.png").write_bytes(b"\x89PNG broken")
    (folder / "notes.txt").write_text("hello")
    names, images, rejects = img_predict.load_folder(folder, SETTINGS)
    assert names == ["good.png"] and images[0].shape == (16, 16, 1)
    reasons = dict(rejects)
    assert set(reasons) == {"notes.txt", "sub/broken.png"}
    assert "cannot decode" in reasons["sub/broken.png"]
    assert "not a supported image file" in reasons["notes.txt"]


def test_a_large_working_size_warns_of_the_training_cost():
    assert datasets.size_warning({"height": 28, "width": 28}) is None
    assert datasets.size_warning({"height": 48, "width": 48}) is None  # under 4x the pixels
    warning = datasets.size_warning({"height": 224, "width": 224})
    assert "224x224" in warning and "about 64x the work" in warning
    assert "imaging.preprocess.height and width" in warning


def test_16_bit_files_of_12_bit_data_warn_that_the_images_are_dim(tmp_path, caplog):
    """A folder of 16-bit PNGs holding 12-bit values (at most 4095, as exported scanners write
    them): dtype_range leaves every image below 0.0625, which the step says, naming the fix."""
    root = tmp_path / "data"
    for k, name in enumerate(("a", "b")):
        for i in range(6):
            pixels = grey(10 * k + i, bright=bool(k)).astype(np.uint16) * 16  # 12-bit values
            write_png(root / name / f"{i}.png", pixels)
    result = run_preprocess(tmp_path, format="folder", source=str(root), seed=3)
    x = np.concatenate([result["arrays"][f"x_{s}"] for s in ("train", "val", "test")])
    assert x.max() < 0.0625
    assert "every one of the 12 kept images span under 0.125" in caplog.text
    assert "imaging.preprocess.scaling: minmax" in caplog.text
    names = [f"x{i}" for i in range(len(x))]
    assert datasets.dim_warning(list(x), names, "minmax") is None
    assert datasets.dim_warning([], [], "dtype_range") is None
    full_range = np.linspace(0, 1, 16, dtype=np.float32).reshape(4, 4, 1)
    assert datasets.dim_warning([full_range], ["ok"], "dtype_range") is None
    # a flat image (one value) spans nothing, however bright
    assert "every one of the 1 kept" in datasets.dim_warning(
        [np.full((4, 4, 1), 0.6, np.float32)], ["flat"], "dtype_range"
    )


def test_12_bit_files_beside_8_bit_ones_are_named_as_dim(tmp_path, caplog):
    """8-bit PNGs beside 16-bit PNGs of 12-bit data: the 16-bit ones come out about 16x darker;
    the warning counts and names them (the brightest image of all no longer hides them)."""
    root = tmp_path / "data"
    for k, name in enumerate(("a", "b")):
        for i in range(6):
            write_png(root / name / f"{i}_8bit.png", grey(10 * k + i, bright=bool(k)))
            twelve = grey(20 * k + i, bright=bool(k)).astype(np.uint16) * 16
            write_png(root / name / f"{i}_12bit.png", twelve)
    run_preprocess(tmp_path, format="folder", source=str(root), seed=3)
    assert "12 of the 24 kept images (e.g. a/0_12bit.png" in caplog.text
    assert "minmax" in caplog.text


def test_dicom_cut_short_is_a_reject_that_says_so(tmp_path):
    path = tmp_path / "cut.dcm"
    write_dicom(path, grey(0).astype(np.uint16))
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(img_io.UnreadableImage, match=r"no pixel data .* cut short: it holds 300"):
        img_io.decode_any(path)
