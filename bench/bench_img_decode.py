"""Reading a folder of large images: the imaging branch's preprocessing against Pillow alone.

Real folder data sets hold full-size files (chest X-rays of about 2000x1600 grey pixels, fundus
photos of about 1500x1500 RGB), while the network sees 28x28: decoding and shrinking them is the
preprocessing step's work. This bench writes seeded JPEGs of those sizes into class folders and
times medflow's reading of them (`medflow.imaging.datasets.decode_records`: decode, EXIF
orientation, checks, area resize in float, scaling; channels and size at their defaults) on 2
threads, as the rule runs it with the default `imaging.train.threads`, against the least a script
could do with Pillow alone on one thread (open, decode, BOX-resize to 28x28, as an array). Each
figure is the median of REPEATS runs; the two alternate.

    python bench/bench_img_decode.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent / "scripts")]
from run_all import print_rows  # noqa: E402

from medflow.imaging import datasets  # noqa: E402

THREADS = 2
REPEATS = 3
SETTINGS = {"height": 0, "width": 0, "channels": 0, "scaling": "dtype_range"}
SETS = {  # name: (images, height, width, channels)
    "grey X-ray-sized JPEGs": (120, 1600, 2000, 1),
    "RGB fundus-sized JPEGs": (60, 1500, 1500, 3),
}


def write_jpegs(folder: Path, n: int, height: int, width: int, channels: int) -> list:
    """n seeded JPEGs (smooth structure plus noise, as photographs are) in two class folders;
    the (path, class) records the preprocessing step lists."""
    from PIL import Image

    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[0:height, 0:width]
    records = []
    for i in range(n):
        label = ("normal", "abnormal")[i % 2]
        base = 120 + 50 * np.sin(cols / (90 + i)) + 40 * np.cos(rows / (70 + i))
        planes = [base + rng.normal(0, 12, (height, width)) for _ in range(channels)]
        pixels = np.clip(np.stack(planes, axis=2), 0, 255).astype(np.uint8)
        path = folder / label / f"{i:04d}.jpeg"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels[:, :, 0] if channels == 1 else pixels).save(path, quality=90)
        records.append((path, label))
    return records


def pillow_alone(records: list) -> list:
    """The baseline: each file opened, decoded and BOX-resized to 28x28 by Pillow, one thread."""
    from PIL import Image

    images = []
    for path, _ in records:
        with Image.open(path) as image:
            small = image.resize((28, 28), Image.Resampling.BOX)
            images.append(np.asarray(small, dtype=np.float32) / 255)
    return images


def seconds(function, *args) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


def run(quick: bool = False) -> list[dict]:
    rows = []
    for name, (n, height, width, channels) in SETS.items():
        if quick:
            n, height, width = 6, height // 8, width // 8
        with tempfile.TemporaryDirectory() as tmp:
            records = write_jpegs(Path(tmp), n, height, width, channels)
            settings = datasets.resolve_settings({**SETTINGS, "resize_method": "area"}, None)
            repeats = 1 if quick else REPEATS
            ours, theirs = [], []
            for _ in range(repeats):
                ours.append(seconds(datasets.decode_records, records, Path(tmp), settings, THREADS))
                theirs.append(seconds(pillow_alone, records))
        rows.append(
            {
                "benchmark": f"preprocess {n} {name} ({height}x{width}) to 28x28",
                "unit": "s",
                "workflow": round(statistics.median(ours), 3),
                "baseline": round(statistics.median(theirs), 3),
                "baseline_name": "Pillow alone, one thread: open, decode, BOX-resize to 28x28",
                "notes": (
                    f"medflow on {THREADS} threads, median of {repeats}; "
                    f"{1000 * statistics.median(ours) / n:.0f} ms per image"
                ),
            }
        )
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny images, one run (smoke test)")
    print_rows(run(parser.parse_args().quick))
