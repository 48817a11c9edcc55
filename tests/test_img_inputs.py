"""Imaging preprocessing on broken or unusual inputs: each becomes a reject or one clear error."""

import os
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageOps
from test_img_preprocess import class_folder, grey, make_npz, run_preprocess, write_dicom, write_png

from medflow.config import ConfigError
from medflow.imaging import datasets
from medflow.imaging import io as img_io
from medflow.imaging.io import SPLITS
from medflow.step import InputError


def npz_of(path: Path, images: dict[str, np.ndarray], labels: dict[str, np.ndarray]) -> Path:
    np.savez(
        path,
        **{f"{s}_images": images[s] for s in images},
        **{f"{s}_labels": labels[s] for s in labels},
    )
    return path


def npz_with_images(path: Path, dtype, low: float, high: float) -> Path:
    """An .npz whose images hold values spread over low..high (of dtype), three classes."""
    rng = np.random.default_rng(1)
    images, labels = {}, {}
    for split, n in [("train", 30), ("val", 9), ("test", 9)]:
        images[split] = rng.uniform(low, high, (n, 8, 8)).astype(dtype)
        labels[split] = np.arange(n) % 3
    images["train"][0, 0, 0], images["train"][0, 0, 1] = low, high  # the extremes are present
    return npz_of(path, images, labels)


# ---------------------------------------------------------------- 1: full scale of an .npz


@pytest.mark.parametrize(
    ("dtype", "high", "full"),
    [
        (np.float32, 1.0, 1.0),
        (np.float64, 255.0, 255.0),
        (np.int16, 255, 255.0),
        (np.float32, 4000.0, 65535.0),
        (np.float32, 1023.0, 65535.0),  # 10-bit data
        (np.int64, 1, 1.0),
    ],
)
def test_npz_of_other_types_takes_the_full_scale_of_its_value_range(tmp_path, dtype, high, full):
    npz = npz_with_images(tmp_path / "x.npz", dtype, 0, high)
    result = run_preprocess(tmp_path, format="npz", source=str(npz), height=8, width=8)
    x = result["arrays"]["x_train"]
    assert x.max() == pytest.approx(float(np.asarray(high, dtype)) / full, rel=1e-6)
    assert x.min() == 0.0


def test_npz_whose_splits_are_on_different_scales_stops_naming_them(tmp_path):
    rng = np.random.default_rng(0)
    images = {"train": rng.random((9, 8, 8)).astype(np.float32)}  # 0..1
    images |= {s: rng.integers(0, 256, (9, 8, 8), dtype=np.uint8) for s in ("val", "test")}
    labels = {s: np.arange(9) % 3 for s in images}
    npz = npz_of(tmp_path / "mixed.npz", images, labels)
    with pytest.raises(InputError, match="different scales") as error:
        run_preprocess(tmp_path, format="npz", source=str(npz), height=8, width=8)
    assert "train_images 0" in str(error.value) and "(float32)" in str(error.value)
    assert "val_images 0 to 255 (uint8)" in str(error.value)


@pytest.mark.parametrize(
    ("highs", "split"),
    [((1.02,) * 3, "train"), ((1.0, 1.0001, 1.0), "val"), ((260.0,) * 3, "train")],
)
def test_npz_a_little_above_a_full_scale_stops_instead_of_going_dark(tmp_path, highs, split):
    # floats up to 1.02 were taken as 0..255 (the smallest scale holding them): images 250x darker
    rng = np.random.default_rng(0)
    images = {
        s: (rng.random((9, 8, 8)) * h).astype(np.float32)
        for s, h in zip(SPLITS, highs, strict=True)
    }
    for s, h in zip(SPLITS, highs, strict=True):
        images[s][0, 0, 0] = h
    npz = npz_of(tmp_path / "over.npz", images, {s: np.arange(9) % 3 for s in images})
    over = 255 if highs[0] > 2 else 1
    with pytest.raises(
        InputError, match=rf"key '{split}_images' holds values from .* a little above 0..{over}, "
    ):
        run_preprocess(tmp_path, format="npz", source=str(npz), height=8, width=8)


def test_npz_of_bool_images_scales_by_one(tmp_path):
    rng = np.random.default_rng(0)
    images = {s: rng.random((9, 8, 8)) > 0.5 for s in ("train", "val", "test")}
    labels = {s: np.arange(9) % 3 for s in images}
    npz = npz_of(tmp_path / "b.npz", images, labels)
    x = run_preprocess(tmp_path, format="npz", source=str(npz), height=8, width=8)["arrays"]
    assert set(np.unique(x["x_train"])) == {0.0, 1.0}


@pytest.mark.parametrize(("low", "high"), [(-2.5, 2.5), (0.0, 70000.0)])
def test_npz_values_beyond_every_full_scale_stop_the_run_naming_minmax(tmp_path, low, high):
    npz = npz_with_images(tmp_path / "z.npz", np.float32, low, high)
    with pytest.raises(InputError, match="train_images") as error:
        run_preprocess(tmp_path, format="npz", source=str(npz), height=8, width=8)
    assert "scaling: minmax" in str(error.value) and f"{high:g}" in str(error.value)
    # with minmax scaling the same file is read, each image to 0..1
    result = run_preprocess(
        tmp_path, format="npz", source=str(npz), height=8, width=8, scaling="minmax"
    )
    assert result["arrays"]["x_train"].max() == pytest.approx(1.0)


@pytest.mark.parametrize("dtype", [np.float32, np.int16])
def test_tiff_of_float_or_signed_values_beyond_one_is_a_reject_unless_minmax(tmp_path, dtype):
    root = class_folder(tmp_path / "data", per_class=4)
    tifffile.imwrite(root / "a" / "wide.tif", (grey(5).astype(np.float64) * 10).astype(dtype))
    tifffile.imwrite(root / "b" / "unit.tif", (grey(6) / 255.0).astype(np.float32))
    result = run_preprocess(tmp_path, format="folder", source=str(root))
    rejects = result["rejects"].set_index("file")
    assert list(rejects.index) == ["a/wide.tif"]
    assert "minmax" in rejects.loc["a/wide.tif", "reason"]
    assert "b/unit.tif" in set(result["manifest"]["file"])
    kept = run_preprocess(tmp_path, format="folder", source=str(root), scaling="minmax")
    assert kept["rejects"].empty


def test_dtype_range_never_clips_silently():
    with pytest.raises(img_io.UnreadableImage, match="minmax"):
        img_io.prepare_pixels(np.full((8, 8), 2.0), 1.0, 8, 8, 1, "dtype_range", "area")


# ---------------------------------------------------------------- 2, 3: class names and labels


def test_repeated_class_names_stop_the_run(tmp_path):
    root = class_folder(tmp_path / "data", per_class=4)
    with pytest.raises(InputError, match=r"\['a'\] more than once"):
        run_preprocess(tmp_path, format="folder", source=str(root), class_names=["a", "a", "b"])


def test_npz_with_eleven_labels_keeps_numeric_order(tmp_path):
    rng = np.random.default_rng(0)
    images = {
        s: rng.integers(0, 256, (22, 8, 8)).astype(np.uint8) for s in ("train", "val", "test")
    }
    labels = {s: np.arange(22) % 11 for s in images}
    npz = npz_of(tmp_path / "eleven.npz", images, labels)
    arrays = run_preprocess(tmp_path, format="npz", source=str(npz), height=8, width=8)["arrays"]
    assert list(arrays["class_names"]) == [str(k) for k in range(11)]
    assert np.array_equal(arrays["y_train"], labels["train"])  # class k is label k


def test_npz_of_one_hot_labels_reads_each_row_as_its_class_and_says_so(tmp_path, caplog):
    rng = np.random.default_rng(0)
    images = {s: rng.integers(0, 256, (9, 8, 8)).astype(np.uint8) for s in ("train", "val", "test")}
    classes = np.arange(9) % 3
    npz = npz_of(
        tmp_path / "onehot.npz", images, {s: np.eye(3, dtype=np.uint8)[classes] for s in images}
    )
    arrays = run_preprocess(tmp_path, format="npz", source=str(npz), height=8, width=8)["arrays"]
    assert np.array_equal(arrays["y_train"], classes)
    assert list(arrays["class_names"]) == ["0", "1", "2"]
    assert "train_labels holds one-hot rows (9, 3)" in caplog.text


def test_classes_known_at_start_up_read_one_hot_rows_and_leave_multi_label_to_preprocessing(
    tmp_path,
):
    images = {s: np.zeros((6, 8, 8), dtype=np.uint8) for s in ("train", "val", "test")}
    one_hot = np.eye(4, dtype=np.uint8)[np.arange(6) % 4]
    section = {"class_names": [], "format": "npz", "npz": str(tmp_path / "onehot.npz")}
    npz_of(tmp_path / "onehot.npz", images, {s: one_hot for s in images})
    assert datasets.classes_at_start(section) == ["0", "1", "2", "3"]
    npz_of(tmp_path / "onehot.npz", images, {s: one_hot[:, :3] * 0 + 1 for s in images})
    assert datasets.classes_at_start(section) is None  # multi-label: preprocessing says why


def test_npz_of_multi_label_rows_stops_saying_how_to_train_for_one_finding(tmp_path):
    rng = np.random.default_rng(0)
    images = {s: rng.integers(0, 256, (9, 8, 8)).astype(np.uint8) for s in ("train", "val", "test")}
    findings = (rng.random((9, 14)) < 0.2).astype(np.uint8)  # ChestMNIST's shape: rows of 0..n 1s
    findings[0] = 0
    npz = npz_of(tmp_path / "chest.npz", images, {s: findings for s in images})
    with pytest.raises(InputError, match=r"shape \(9, 14\).*multi-label.*train_labels\[:, k\]"):
        run_preprocess(tmp_path, format="npz", source=str(npz), height=8, width=8)
    counts = {s: np.tile(np.arange(9)[:, None] % 3, (1, 2)) for s in images}  # (N, 2) of 0..2
    npz = npz_of(tmp_path / "two.npz", images, counts)
    with pytest.raises(InputError, match=r"shape \(9, 2\); expected \(N,\) or \(N, 1\)") as error:
        run_preprocess(tmp_path, format="npz", source=str(npz), height=8, width=8)
    assert "multi-label" not in str(error.value)


def test_npz_with_a_huge_label_builds_classes_from_the_labels_present(tmp_path):
    rng = np.random.default_rng(0)
    images = {s: rng.integers(0, 256, (6, 8, 8)).astype(np.uint8) for s in ("train", "val", "test")}
    labels = {s: np.array([0, 10**12] * 3) for s in images}
    npz = npz_of(tmp_path / "huge.npz", images, labels)
    arrays = run_preprocess(tmp_path, format="npz", source=str(npz), height=8, width=8)["arrays"]
    assert list(arrays["class_names"]) == ["0", str(10**12)]
    with pytest.raises(InputError, match="labels up to 1000000000000"):
        run_preprocess(
            tmp_path, format="npz", source=str(npz), height=8, width=8, class_names=["x", "y"]
        )


@pytest.mark.parametrize("fmt", ["folder", "npz"])
def test_a_class_named_all_collides_with_the_totals_row(tmp_path, fmt):
    if fmt == "folder":
        source, names = class_folder(tmp_path / "data", per_class=4, classes=("all", "b")), []
    else:
        source, names = make_npz(tmp_path / "m.npz"), ["x", "all", "z"]
    with pytest.raises(InputError, match="'all'"):
        run_preprocess(tmp_path, format=fmt, source=str(source), class_names=names)


# ---------------------------------------------------------------- 4, 5, 6: decoding failures


@pytest.mark.parametrize(
    ("patch", "error"), [("ZZ", "NotImplementedError"), ("SQ", "BytesLengthException")]
)
def test_dicom_with_a_corrupt_header_is_a_reject(tmp_path, patch, error):
    path = write_dicom(tmp_path / "bad.dcm", grey(0).astype(np.uint16))
    raw = path.read_bytes()
    group = raw.index(b"\x02\x00\x00\x00UL\x04\x00")  # (0002,0000) meta group length, VR UL
    path.write_bytes(raw[: group + 4] + patch.encode() + raw[group + 6 :])  # pydicom fails reading
    with pytest.raises(img_io.UnreadableImage, match=f"not a readable DICOM file: {error}"):
        img_io.dicom_array(path)
    records = [(path, "a")]
    data = datasets.decode_records(records, tmp_path, datasets.resolve_settings(_settings(), None))
    assert data.rejects == [("bad.dcm", data.rejects[0][1])] and not data.files


def _settings() -> dict:
    return {"height": 8, "width": 8, "channels": 1, "scaling": "dtype_range"} | {
        "resize_method": "area"
    }


def test_decompression_bomb_is_a_reject_naming_the_pixels(tmp_path, monkeypatch):
    path = write_png(tmp_path / "big.png", grey(0, size=(40, 50)))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 500)  # 2000 pixels > 2 x the limit: an error
    with pytest.raises(img_io.UnreadableImage, match="image too large: 2,000 pixels"):
        img_io.decode_any(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1500)  # above the limit: Pillow's warning
    with pytest.raises(img_io.UnreadableImage, match="image too large: 2,000 pixels"):
        img_io.decode_any(path)


@pytest.mark.parametrize("compression", ["tiff_lzw", "jpeg", "group4"])
def test_tiff_that_tifffile_cannot_decode_is_read_by_pillow(tmp_path, compression):
    pixels = grey(3)
    image = Image.fromarray(pixels).convert("1" if compression == "group4" else "L")
    image.save(tmp_path / "c.tif", compression=compression)
    decoded, full = img_io.decode_any(tmp_path / "c.tif")
    assert decoded.shape == pixels.shape and full in (1.0, 255.0)


def test_tiff_that_neither_decoder_reads_is_a_reject_with_both_reasons(tmp_path):
    path = tmp_path / "junk.tif"
    path.write_bytes(b"not a TIFF at all")
    with pytest.raises(img_io.UnreadableImage, match=r"cannot decode TIFF: .*\(Pillow: "):
        img_io.decode_any(path)


# ---------------------------------------------------------------- 7: every split of every class


@pytest.mark.parametrize("seed", range(12))
def test_split_gives_every_class_of_three_or_more_an_image_in_each_split(seed):
    labels = np.array(["big"] * 40 + ["three"] * 3 + ["four"] * 4 + ["five"] * 5)
    splits = datasets.stratified_split(labels, 0.15, 0.15, seed)
    for label in set(labels):
        assert set(splits[labels == label]) == {"train", "val", "test"}
    assert np.array_equal(splits, datasets.stratified_split(labels, 0.15, 0.15, seed))


@pytest.mark.parametrize(("classes", "each"), [(10, 5), (2, 3), (7, 3)])
def test_split_of_many_small_classes_deals_each_class_to_every_split(classes, each):
    # scikit-learn's stratified split needs a test split of at least one image per class (10
    # classes of 5 images at 15% make a test split of 8): each class is dealt instead
    labels = np.repeat([f"c{k}" for k in range(classes)], each)
    splits = datasets.stratified_split(labels, 0.15, 0.15, seed=3)
    for label in set(labels):
        assert sorted(splits[labels == label]) == ["test"] + ["train"] * (each - 2) + ["val"]
    assert np.array_equal(splits, datasets.stratified_split(labels, 0.15, 0.15, seed=3))
    assert not all(
        np.array_equal(splits, datasets.stratified_split(labels, 0.15, 0.15, seed=s))
        for s in range(4, 8)
    )


def test_dealt_split_follows_the_fractions():
    labels = np.array(["a"] * 20 + ["b"] * 10)
    splits = datasets.dealt_split(labels, 0.2, 0.3, seed=0)
    assert (splits[:20] == "test").sum() == 6 and (splits[:20] == "val").sum() == 4
    assert (splits[20:] == "test").sum() == 3 and (splits[20:] == "val").sum() == 2


# ---------------------------------------------------------------- 8: hidden files, broken links


def test_hidden_paths_are_skipped_and_broken_links_are_rejects(tmp_path):
    root = class_folder(tmp_path / "data", per_class=4)
    write_png(root / "a" / ".ipynb_checkpoints" / "x-checkpoint.png", grey(9))
    write_png(root / "b" / "deep" / ".hidden" / "h.png", grey(9))
    write_png(root / ".cache" / "c.png", grey(9))
    (root / "a" / ".DS_Store").write_bytes(b"junk")
    os.symlink(tmp_path / "nowhere.png", root / "a" / "gone.png")
    os.symlink(tmp_path / "nowhere.txt", root / "b" / "gone.txt")
    result = run_preprocess(tmp_path, format="folder", source=str(root))
    assert not any("." + "ipynb" in f or "hidden" in f for f in result["manifest"]["file"])
    rejects = dict(zip(result["rejects"]["file"], result["rejects"]["reason"], strict=True))
    assert rejects == {"a/gone.png": "broken symbolic link", "b/gone.txt": "broken symbolic link"}
    assert len(result["manifest"]) == 8


def test_linked_folders_are_read_once_and_a_link_back_up_is_refused(tmp_path):
    root = class_folder(tmp_path / "data", per_class=4)
    class_folder(tmp_path / "elsewhere", per_class=3, classes=("more",))
    os.symlink(tmp_path / "elsewhere" / "more", root / "a" / "more")  # 3 images through a link
    os.symlink(root / "a" / "more", root / "a" / "twice")  # the same folder again: walked once
    os.symlink(root / "a" / "000.png", root / "b" / "same.png")  # one image in two classes
    write_png(root / "__MACOSX" / "a" / "._000.png", grey(9))  # macOS zip residue: skipped
    result = run_preprocess(tmp_path, format="folder", source=str(root))
    files = set(result["manifest"]["file"])
    assert {f"a/more/{i:03d}.png" for i in range(3)} <= files and len(files) == 11
    rejects = dict(zip(result["rejects"]["file"], result["rejects"]["reason"], strict=True))
    assert rejects == {"b/same.png": "the same file as 'a/000.png'"}
    assert img_io.list_files(root / "a") == [root / "a" / f"{i:03d}.png" for i in range(4)] + [
        root / "a" / "more" / f"{i:03d}.png" for i in range(3)
    ]
    os.symlink(root, root / "loop")  # a "class" holding every image again
    with pytest.raises(InputError, match=r"class folder '.*/loop' is a symbolic link to"):
        run_preprocess(tmp_path, format="folder", source=str(root))


# ---------------------------------------------------------------- 9: too small for the networks


def test_working_size_below_the_networks_smallest_stops_the_run(tmp_path):
    rng = np.random.default_rng(0)
    images = {s: rng.integers(0, 256, (9, 3, 3)).astype(np.uint8) for s in ("train", "val", "test")}
    npz = npz_of(tmp_path / "tiny.npz", images, {s: np.arange(9) % 3 for s in images})
    with pytest.raises(InputError, match=f"{datasets.MIN_SIZE}x{datasets.MIN_SIZE} at least"):
        run_preprocess(tmp_path, format="npz", source=str(npz), height=0, width=0)
    with pytest.raises(InputError, match="3x3 pixels"):
        datasets.resolve_settings(_settings() | {"height": 3, "width": 3}, None)
    root = class_folder(tmp_path / "data", per_class=4)
    with pytest.raises(ConfigError, match=r"imaging\.preprocess\.height"):  # the schema's minimum
        run_preprocess(tmp_path, format="folder", source=str(root), height=3, width=3)
    result = run_preprocess(tmp_path, format="npz", source=str(npz), height=4, width=4)
    assert result["arrays"]["x_train"].shape[1:3] == (4, 4)


# ---------------------------------------------------------------- 10: reasons; Kaggle layout


def test_reasons_are_one_line_and_counted_without_the_path(tmp_path):
    assert img_io.rejects_frame([("f", "line one\nline\ttwo")])["reason"][0] == "line one line two"
    error = OSError("cannot identify image file <_io.BytesIO object at 0x7f6861d0b3d0>")
    said = img_io.reason_of(error, tmp_path / "x.dcm")  # no address: reruns write equal bytes
    assert said == "cannot identify image file <_io.BytesIO object>"
    root = tmp_path / "data"
    for name in ("a", "b"):
        for i in range(3):
            (root / name).mkdir(parents=True, exist_ok=True)
            (root / name / f"{i}.png").write_bytes(b"not a png")
    with pytest.raises(
        InputError, match=r"most common reasons: \[\('cannot decode image: [^']*', 6\)"
    ):
        run_preprocess(tmp_path, format="folder", source=str(root))


def test_a_folder_of_split_folders_points_at_train(tmp_path):
    for split in ("Train", "val", "test"):
        class_folder(tmp_path / "data" / split, per_class=3)
    with pytest.raises(InputError, match=r"one subfolder per class.*data/Train"):
        run_preprocess(tmp_path, format="folder", source=str(tmp_path / "data"))


@pytest.mark.parametrize(
    ("splits", "train"),
    [
        (("Training", "Testing"), "Training"),  # Kaggle's brain tumour MRI layout
        (("train", "val", "test", "chest_xray"), "train"),  # chest_xray.zip holds a copy of itself
    ],
)
def test_split_folders_among_other_folders_are_refused_too(tmp_path, splits, train):
    for split in splits:
        target = tmp_path / "data" / split
        class_folder(target / "chest_xray" if split == "chest_xray" else target, per_class=3)
    with pytest.raises(InputError, match=rf"split folders .* with folders inside.*data/{train}'"):
        run_preprocess(tmp_path, format="folder", source=str(tmp_path / "data"))


def test_a_class_named_like_a_split_that_holds_images_stays_a_class(tmp_path):
    class_folder(tmp_path / "data", per_class=3, classes=("test", "control"))
    assert run_preprocess(tmp_path, format="folder", source=str(tmp_path / "data"))


def test_dicom_files_in_class_folders_are_pointed_at_the_dicom_format(tmp_path):
    for name in ("normal", "tumour"):
        for i in range(3):
            write_dicom(tmp_path / "data" / name / f"{i}.dcm", grey(i))
    with pytest.raises(InputError, match=r"holds DICOM files .*imaging.input.format: dicom"):
        run_preprocess(tmp_path, format="folder", source=str(tmp_path / "data"))


def test_a_labels_table_in_windows_1252_names_its_line_and_the_fix(tmp_path):
    for i in range(6):
        write_dicom(tmp_path / "dcm" / f"{i}.dcm", grey(i))
    rows = "".join(f"{i}.dcm,{'maligné' if i % 2 else 'benign'}\n" for i in range(6))
    (tmp_path / "labels.csv").write_bytes(f"file,class\n{rows}".encode("cp1252"))
    with pytest.raises(InputError, match=r"labels.csv', line 3: byte b'\\xe9' is not UTF-8"):
        run_preprocess(
            tmp_path,
            format="dicom",
            source=str(tmp_path / "dcm"),
            labels=str(tmp_path / "labels.csv"),
        )


def test_predict_skips_hidden_paths_and_rejects_broken_links_and_bad_dicom(tmp_path):
    import img_predict

    folder = tmp_path / "new"
    write_png(folder / "ok.png", grey(1))
    write_png(folder / ".hidden" / "h.png", grey(2))
    write_png(folder / "sub" / ".x.png", grey(3))
    os.symlink(tmp_path / "nowhere.png", folder / "gone.png")
    bad = write_dicom(folder / "bad.dcm", grey(0).astype(np.uint16))
    raw = bad.read_bytes()
    group = raw.index(b"\x02\x00\x00\x00UL\x04\x00")
    bad.write_bytes(raw[: group + 4] + b"SQ" + raw[group + 6 :])
    names, images, rejects = img_predict.load_folder(folder, _settings())
    assert names == ["ok.png"] and len(images) == 1
    assert dict(rejects)["gone.png"] == "broken symbolic link"
    assert dict(rejects)["bad.dcm"].startswith("not a readable DICOM file: BytesLengthException")


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_a_photo_stored_sideways_is_turned_upright_by_its_exif_orientation(tmp_path, suffix):
    """EXIF orientation 6 (stored rotated; shown turned 90 degrees clockwise): the decoded
    pixels are the upright image, as viewers show it; without the tag they are as stored."""
    stored = np.zeros((8, 16), dtype=np.uint8)
    stored[:, :8] = 255  # left half bright as stored
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(stored).save(tmp_path / f"turned{suffix}", exif=exif.tobytes(), quality=100)
    Image.fromarray(stored).save(tmp_path / f"plain{suffix}", quality=100)
    upright, _ = img_io.decode_any(tmp_path / f"turned{suffix}")
    plain, _ = img_io.decode_any(tmp_path / f"plain{suffix}")
    assert plain.shape == (8, 16) and upright.shape == (16, 8)
    # turned clockwise, the stored left half becomes the top half
    assert upright[:8].mean() > 200 and upright[8:].mean() < 50


@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_tiff_is_turned_upright_by_its_orientation_tag_as_pillow_turns_photos(
    tmp_path, orientation
):
    """tifffile's TIFFs get the turns Pillow's exif_transpose makes (compared on RGB, whose channels
    all hold the grey image: Pillow misreads grey TIFFs with orientations 5-8)."""
    grey_image = np.arange(35, dtype=np.uint8).reshape(5, 7)
    rgb = np.repeat(grey_image[..., None], 3, axis=2)
    tag = [(274, "H", 1, orientation, False)]
    tifffile.imwrite(tmp_path / "grey.tif", grey_image, photometric="minisblack", extratags=tag)
    tifffile.imwrite(tmp_path / "rgb.tif", rgb, photometric="rgb", extratags=tag)
    with Image.open(tmp_path / "rgb.tif") as image:
        image.load()
        expected = np.asarray(ImageOps.exif_transpose(image))
    decoded_rgb, _ = img_io.decode_any(tmp_path / "rgb.tif")
    decoded_grey, _ = img_io.decode_any(tmp_path / "grey.tif")
    assert np.array_equal(decoded_rgb, expected)
    assert np.array_equal(decoded_grey, expected[..., 0])
    assert decoded_grey.shape == ((5, 7) if orientation <= 4 else (7, 5))


@pytest.mark.parametrize("orientation", [1, 2, 3, 6, 8])
def test_a_planar_rgb_tiff_reads_as_its_contiguous_twin_in_every_orientation(tmp_path, orientation):
    # one plane per channel (planarconfig separate): the channel axis is moved before the turn
    rgb = (np.random.default_rng(0).random((12, 20, 3)) * 255).astype(np.uint8)
    tag = [(274, "H", 1, orientation, False)]
    planar, contiguous = tmp_path / "planar.tif", tmp_path / "contiguous.tif"
    tifffile.imwrite(
        planar, rgb.transpose(2, 0, 1), photometric="rgb", planarconfig="separate", extratags=tag
    )
    tifffile.imwrite(contiguous, rgb, photometric="rgb", extratags=tag)
    assert np.array_equal(img_io.decode_any(planar)[0], img_io.decode_any(contiguous)[0])


def test_tiff_colour_interpretations_read_as_viewers_show_them(tmp_path):
    """White-is-zero grey is inverted; palette and CMYK TIFFs become RGB (as Pillow converts
    them); the raw samples (palette indices, C/M/Y as R/G/B) were read as pixels before."""
    grey_image = np.zeros((16, 16), np.uint8)
    grey_image[:8] = 200
    tifffile.imwrite(tmp_path / "white_is_zero.tif", grey_image, photometric="miniswhite")
    decoded, full = img_io.decode_any(tmp_path / "white_is_zero.tif")
    assert full == 255 and decoded[0, 0] == 55 and decoded[-1, -1] == 255
    words = np.zeros((8, 8), bool)
    words[:4] = True
    tifffile.imwrite(tmp_path / "bilevel.tif", words, photometric="miniswhite")
    assert np.array_equal(img_io.decode_any(tmp_path / "bilevel.tif")[0], ~words)
    rgb = (np.random.default_rng(1).random((12, 20, 3)) * 255).astype(np.uint8)
    for mode in ("P", "CMYK"):
        image = Image.fromarray(rgb)
        image = image.quantize(4) if mode == "P" else image.convert("CMYK")
        image.save(tmp_path / f"{mode}.tif")
        expected = np.asarray(image.convert("RGB"))
        decoded, full = img_io.decode_any(tmp_path / f"{mode}.tif")
        assert decoded.shape == (12, 20, 3) and full == 255
        assert np.array_equal(decoded, expected), mode


# ---------------------------------------------------------------- large images, read quickly


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("have", [1, 3])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("method", ["area", "bilinear", "lanczos"])
@pytest.mark.parametrize("scaling", ["dtype_range", "zscore"])
def test_resizing_before_converting_channels_gives_the_same_bytes(
    dtype, have, channels, method, scaling
):
    # prepare_pixels resizes the stored planes first where the conversion allows it (grey, or
    # colour kept); the reference order, convert at full size then resize, gives the same bytes
    rng = np.random.default_rng(have * 10 + channels)
    full = 1.0 if dtype == np.float32 else float(np.iinfo(dtype).max)
    pixels = (rng.random((67, 83, have)) * full).astype(dtype)
    reference = img_io.scale(
        img_io.resize(img_io.to_channels(img_io.as_hwc(pixels), channels), 16, 12, method),
        scaling,
        full,
    ).astype(np.float32)
    prepared = img_io.prepare_pixels(pixels, full, 16, 12, channels, scaling, method)
    assert prepared.tobytes() == reference.tobytes()


def test_decoding_in_threads_gives_what_one_thread_does(tmp_path):
    root = class_folder(tmp_path / "data", per_class=9)
    (root / "a" / "broken.png").write_bytes(b"\x89PNG broken")
    records, _ = datasets.scan_class_folder(root)
    settings = datasets.resolve_settings(_settings(), None)
    one = datasets.decode_records(records, root, settings, threads=1)
    three = datasets.decode_records(records, root, settings, threads=3)
    assert one.files == three.files and one.rejects == three.rejects == [
        ("a/broken.png", one.rejects[0][1])
    ]
    assert np.stack(one.images).tobytes() == np.stack(three.images).tobytes()
    assert (one.shapes, one.colour, one.classes) == (three.shapes, three.colour, three.classes)


def test_a_grey_and_alpha_image_a_few_pixels_tall_stays_grey():
    # (4, 40, 2) read as channels first became a 40x2 colour image of grey and alpha values
    pixels = np.stack([np.arange(160).reshape(4, 40), np.full((4, 40), 255)], axis=-1)
    assert np.array_equal(img_io.as_hwc(pixels.astype(np.uint8)), pixels[:, :, :1].astype(np.uint8))
    assert img_io.as_hwc(np.zeros((3, 28, 28))).shape == (28, 28, 3)  # channels first still turns


def test_a_model_path_that_is_no_keras_file_is_named(tmp_path):
    from medflow.imaging import models

    (tmp_path / "model.keras").write_text("not a model")
    with pytest.raises(KeyError, match=r"model.keras is not a Keras model file"):
        models.read_medflow_config(str(tmp_path / "model.keras"))


def test_ct_reads_as_hounsfield_units_however_the_scanner_stores_them(tmp_path):
    import pydicom

    hu = np.full((8, 8), -1000)  # air
    hu[2:6, 2:6], hu[0, :], hu[7, :] = 40, 1000, -2000  # soft tissue, bone, padding outside
    arrays = []
    for name, signed, bits, intercept in (("s", True, 16, 0), ("u", False, 12, -1024)):
        path = write_dicom(tmp_path / f"{name}.dcm", np.zeros((8, 8)))
        ds = pydicom.dcmread(path)
        ds.Modality, ds.RescaleSlope, ds.RescaleIntercept = "CT", 1, intercept
        ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits - 1, int(signed)
        stored = np.maximum(hu - intercept, 0) if not signed else hu
        ds.PixelData = stored.astype(np.int16 if signed else np.uint16).tobytes()
        ds.save_as(path)
        arrays.append(img_io.dicom_array(path))
    (signed, full), (unsigned, _) = arrays
    assert full == 4095 and np.array_equal(signed, unsigned)
    assert signed[3, 3] == 40 + 1024 and signed[0, 0] == 1000 + 1024 and signed[7, 0] == 0


def test_a_palette_colour_dicom_reads_as_its_colours():
    from pydicom.data import get_testdata_files

    found = get_testdata_files("examples_palette.dcm")  # shipped with pydicom
    if not found:
        pytest.skip("pydicom's examples_palette.dcm is not installed")
    import pydicom
    from pydicom.pixels import apply_color_lut

    pixels, full = img_io.dicom_array(Path(found[0]))
    expected = apply_color_lut(pydicom.dcmread(found[0]).pixel_array, pydicom.dcmread(found[0]))
    assert pixels.shape == expected.shape and pixels.shape[-1] == 3 and full == 65535
    assert np.array_equal(pixels, expected)


def test_decoder_advice_is_put_in_medflow_terms(tmp_path):
    from pydicom.errors import InvalidDicomError

    error = InvalidDicomError(
        "File is missing DICOM File Meta Information header or the 'DICM' prefix is missing "
        "from the header. Use force=True to force reading."
    )
    said = img_io.reason_of(error, tmp_path / "a.dcm")
    assert "force=True" not in said and "not a DICOM file, or one without" in said
    unknown = OSError(f"cannot identify image file {str(tmp_path / 'a.png')!r}")
    assert img_io.reason_of(unknown, tmp_path / "a.png") == "not an image file"


def test_jfif_files_are_jpegs(tmp_path):
    for name in ("a", "b"):
        for i in range(3):
            path = tmp_path / "data" / name / f"{i}.jfif"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(grey(i)).save(path, format="JPEG")
    assert run_preprocess(tmp_path, format="folder", source=str(tmp_path / "data"))


def test_the_table_route_reads_photos_kept_in_one_folder(tmp_path):
    # ISIC / HAM10000 ship images in one folder and a CSV of image and diagnosis
    rows = ["file,class"]
    for i in range(6):
        colour = np.full((12, 12, 3), (40 * i, 200, 90), np.uint8)  # dermoscopy is colour
        Image.fromarray(colour).save(tmp_path / f"ISIC_{i}.jpg")
        rows.append(f"ISIC_{i}.jpg,{'mel' if i % 2 else 'nev'}")
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    run_preprocess(
        tmp_path,
        format="dicom",
        source=str(tmp_path),
        labels=str(tmp_path / "labels.csv"),
        channels=0,  # follow the data
    )
    arrays = np.load(tmp_path / "out" / "arrays.npz")
    kept = sum(len(arrays[f"y_{split}"]) for split in SPLITS)
    assert kept == 6 and arrays["x_train"].shape[-1] == 3


# ---------------------------------------------------------------- messy collections (audit)


def tiff_claiming_size(path: Path, side: int) -> Path:
    """A valid 16x16 TIFF whose header is then made to claim side x side pixels."""
    import struct

    tifffile.imwrite(path, np.zeros((16, 16), np.uint8), photometric="minisblack")
    with tifffile.TiffFile(path) as tiff:
        offsets = [tiff.pages[0].tags[k].valueoffset for k in ("ImageWidth", "ImageLength")]
    data = bytearray(path.read_bytes())
    for offset in offsets:
        data[offset : offset + 4] = struct.pack("<I", side)
    path.write_bytes(bytes(data))
    return path


def test_a_tiff_claiming_billions_of_pixels_is_a_reject_not_a_crash(tmp_path):
    """512 bytes claiming 200,000 x 200,000 pixels: refused by its header before any decoding
    (it used to try to allocate 37 GiB and stop the run with a MemoryError naming no file)."""
    path = tiff_claiming_size(tmp_path / "liar.tif", 200_000)
    with pytest.raises(img_io.UnreadableImage, match=r"image too large: 40,000,000,000 pixels"):
        img_io.decode_any(path)


def test_tiff_and_dicom_keep_the_pixel_limit_png_keeps(tmp_path, monkeypatch):
    from PIL import Image as PILImage

    monkeypatch.setattr(PILImage, "MAX_IMAGE_PIXELS", 1000)
    pixels = (np.arange(40 * 40) % 251).astype(np.uint8).reshape(40, 40)
    tifffile.imwrite(tmp_path / "big.tif", pixels, photometric="minisblack")
    write_png(tmp_path / "big.png", pixels)
    write_dicom(tmp_path / "big.dcm", pixels)
    for name in ("big.tif", "big.png", "big.dcm"):
        with pytest.raises(img_io.UnreadableImage, match="image too large: 1,600 pixels"):
            img_io.decode_any(tmp_path / name)
    tifffile.imwrite(tmp_path / "small.tif", pixels[:20, :20], photometric="minisblack")
    assert img_io.decode_any(tmp_path / "small.tif")[0].shape == (20, 20)


def test_32_bit_integer_tiffs_are_refused_alike_by_either_decoder(tmp_path):
    """uint32 through tifffile and int32 through Pillow (LZW, which tifffile leaves to it) have no
    nominal full scale: both are rejects naming minmax (they used to come out all black)."""
    values = (np.random.default_rng(0).random((28, 28)) * 60000).astype(np.uint32)
    tifffile.imwrite(tmp_path / "u32.tif", values, photometric="minisblack")
    Image.fromarray(values.astype(np.int32), "I").save(tmp_path / "i32.tif", compression="tiff_lzw")
    for name in ("u32.tif", "i32.tif"):
        pixels, full = img_io.decode_any(tmp_path / name)
        assert full == 1.0 and pixels.max() > 1000
        with pytest.raises(img_io.UnreadableImage, match="scaling: minmax"):
            img_io.prepare_pixels(pixels, full, 28, 28, 1, "dtype_range", "area")
    assert img_io.full_scale_of(np.uint8) == 255 and img_io.full_scale_of(np.uint16) == 65535
    assert img_io.full_scale_of(np.dtype(">u2")) == 65535  # a big-endian 16-bit TIFF
    assert img_io.full_scale_of(np.int16) == img_io.full_scale_of(np.uint32) == 1.0


def test_compressed_dicom_is_decoded_as_its_uncompressed_twin():
    """JPEG Lossless (process 14) and JPEG-LS, the syntaxes PACS exports use most, decode through
    GDCM exactly as the same image stored uncompressed or RLE (pydicom's own test files)."""
    from pydicom.data import get_testdata_file

    pairs = [
        ("SC_rgb_jpeg_gdcm.dcm", "SC_rgb_rle.dcm"),
        ("MR_small_jpeg_ls_lossless.dcm", "MR_small.dcm"),
    ]
    for compressed, plain in pairs:
        pixels, full = img_io.decode_any(Path(get_testdata_file(compressed)))
        expected, expected_full = img_io.decode_any(Path(get_testdata_file(plain)))
        assert full == expected_full and np.array_equal(pixels, expected), compressed


def test_labels_table_empty_or_header_only_or_padded_header(tmp_path):
    write_dicom(tmp_path / "dcm" / "a.dcm", grey(0).astype(np.uint16))
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "header.csv").write_text("file,class\n")
    (tmp_path / "padded.csv").write_text("file , class \r\na.dcm,x\r\n")
    with pytest.raises(InputError, match=r"empty.csv' is empty; it needs a header line"):
        datasets.read_labels_table(tmp_path / "empty.csv", "file", "class")
    with pytest.raises(InputError, match=r"header.csv' has a header but no rows"):
        datasets.read_labels_table(tmp_path / "header.csv", "file", "class")
    table = datasets.read_labels_table(tmp_path / "padded.csv", "file", "class")
    assert table[["file", "class"]].values.tolist() == [["a.dcm", "x"]]


def dicom_tree(root: Path, per_class: int = 4) -> Path:
    for k, name in enumerate(("a", "b")):
        for i in range(per_class):
            write_dicom(
                root / name / f"{name}{i}.dcm", grey(10 * k + i, bright=bool(k)).astype(np.uint16)
            )
    return root


def test_dicom_reached_twice_through_a_link_is_one_record_or_a_clear_conflict(tmp_path):
    root = dicom_tree(tmp_path / "dcm")
    os.symlink("../a/a0.dcm", root / "b" / "again.dcm")
    rows = [f"{c}/{c}{i}.dcm,{c}" for c in "ab" for i in range(4)]
    (tmp_path / "same.csv").write_text("file,class\n" + "\n".join([*rows, "b/again.dcm,a"]) + "\n")
    records, rejects = datasets.scan_dicom(root, tmp_path / "same.csv", "file", "class")
    assert len(records) == 8 and ("b/again.dcm", "the same file as 'a/a0.dcm'") in rejects
    (tmp_path / "clash.csv").write_text("file,class\n" + "\n".join([*rows, "b/again.dcm,b"]) + "\n")
    with pytest.raises(
        InputError, match=r"one file two classes .*line 2 'a/a0.dcm': a; line 10 'b/again.dcm': b"
    ):
        datasets.scan_dicom(root, tmp_path / "clash.csv", "file", "class")


def test_labels_rows_that_name_no_file_say_why(tmp_path):
    root = dicom_tree(tmp_path / "dcm")
    write_dicom(tmp_path / "outside.dcm", grey(9).astype(np.uint16))
    os.symlink("a", root / "alink")
    rows = [f"{c}/{c}{i}.dcm,{c}" for c in "ab" for i in range(1, 4)]
    extra = ["../outside.dcm,a", "b,b", "alink/a0.dcm,a", "b/b0.dcm,b"]
    (tmp_path / "t.csv").write_text("file,class\n" + "\n".join([*rows, *extra]) + "\n")
    _, rejects = datasets.scan_dicom(root, tmp_path / "t.csv", "file", "class")
    reasons = dict(rejects)
    assert "leads outside dicom_dir" in reasons["../outside.dcm"]
    assert "it is a folder, not a file" in reasons["b"]
    assert "the same file as 'a/a0.dcm'" in reasons["alink/a0.dcm"]
    assert not any("hidden" in reason for reason in reasons.values())


def test_a_class_folder_linked_to_another_class_stops_naming_the_link(tmp_path):
    root = class_folder(tmp_path / "data", per_class=4)
    os.symlink("a", root / "c")
    with pytest.raises(
        InputError,
        match=r"folder '.*/c' holds only images read already .*'c/000.png' is the same file as 'a/000.png'",
    ):
        datasets.scan_class_folder(root)


def test_a_link_inside_one_class_to_another_keeps_the_real_files_in_their_class(tmp_path):
    root = class_folder(tmp_path / "data", per_class=4)
    (root / "a" / "sub").mkdir()
    os.symlink("../../b", root / "a" / "sub" / "blink")
    os.symlink("/nonexistent/folder", root / "c")
    records, rejects = datasets.scan_class_folder(root)
    assert sorted((p.parent.name, c) for p, c in records) == [("a", "a")] * 4 + [("b", "b")] * 4
    reasons = dict(rejects)
    assert reasons["a/sub/blink/000.png"] == "the same file as 'b/000.png'"
    assert reasons["c"] == "broken symbolic link"


def test_decomposed_unicode_names_match_composed_ones(tmp_path):
    """macOS writes 'läsion' decomposed (NFD); configs and tables are composed (NFC)."""
    import unicodedata

    decomposed = unicodedata.normalize("NFD", "läsion")
    root = class_folder(tmp_path / "data", per_class=4, classes=("a", decomposed))
    result = run_preprocess(
        tmp_path, format="folder", source=str(root), class_names=["a", "läsion"]
    )
    assert set(result["manifest"]["class"]) == {"a", "läsion"}
    dcm = tmp_path / "dcm"
    for i in range(4):
        write_dicom(dcm / f"{decomposed}{i}.dcm", grey(i).astype(np.uint16))
        write_dicom(dcm / f"plain{i}.dcm", grey(50 + i, bright=True).astype(np.uint16))
    rows = [f"läsion{i}.dcm,x" for i in range(4)] + [f"plain{i}.dcm,y" for i in range(4)]
    (tmp_path / "t.csv").write_text("file,class\n" + "\n".join(rows) + "\n")
    records, rejects = datasets.scan_dicom(dcm, tmp_path / "t.csv", "file", "class")
    assert len(records) == 8 and rejects == []


def test_a_class_with_no_readable_image_names_some_of_its_files(tmp_path):
    root = class_folder(tmp_path / "data", per_class=4)
    for i in range(3):
        (root / "bad" / f"{i}.png").parent.mkdir(exist_ok=True)
        (root / "bad" / f"{i}.png").write_text("not an image")
    with pytest.raises(
        InputError,
        match=r"\['bad'\] have no readable images .*for example 'bad/0.png': cannot decode",
    ):
        run_preprocess(tmp_path, format="folder", source=str(root))


def test_class_folders_named_only_like_splits_warn(tmp_path, caplog):
    root = class_folder(tmp_path / "data", per_class=4, classes=("test", "train"))
    run_preprocess(tmp_path, format="folder", source=str(root))
    assert "all named like splits of a data set (test, train)" in caplog.text


def test_prediction_rejects_advise_what_prediction_can_change(tmp_path):
    import img_predict

    (tmp_path / "new").mkdir()
    hounsfield = np.full((8, 8), 900, np.int16)
    tifffile.imwrite(tmp_path / "new" / "hu.tif", hounsfield, photometric="minisblack")
    settings = {
        "height": 8,
        "width": 8,
        "channels": 1,
        "scaling": "dtype_range",
        "resize_method": "area",
    }
    _, _, rejects = img_predict.load_folder(tmp_path / "new", settings)
    (reason,) = [r for _, r in rejects]
    assert "the model was trained with dtype_range scaling" in reason
    assert "set imaging.preprocess.scaling" not in reason
