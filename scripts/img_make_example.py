"""Make the embedded imaging example: seeded grey images of a simulated organ, with or without a lesion.

Each image shows an elliptical organ with a smooth texture on a darker background, small dark
"vessel" spots that every image has, and Gaussian noise. Images of the `lesion` class also hold
one round, darker lesion of random size and position inside the organ. Lesion size, contrast and
noise come from the config, so the task can be made easier or harder; with the defaults a good CNN
learns it well but not perfectly. Output: one subfolder per class of PNG files (the folder input
format), plus a folder of new, unlabelled cases and their hidden truth for the predict step.
"""

import argparse
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from img_io import write_table
from PIL import Image
from scipy.ndimage import gaussian_filter

from medflow_cli import add_common_args, progress, run_step

log = logging.getLogger("medflow.img_make_example")
CLASSES = ("healthy", "lesion")


def soft_disc(yy: np.ndarray, xx: np.ndarray, cy: float, cx: float, radius: float) -> np.ndarray:
    """A disc with a one-pixel soft edge (values 0..1)."""
    distance = np.hypot(yy - cy, xx - cx)
    return np.clip(radius + 0.5 - distance, 0.0, 1.0)


def simulate_organ(
    rng: np.random.Generator,
    size: int,
    lesion: bool,
    lesion_radius: tuple[float, float],
    lesion_contrast: float,
    noise: float,
) -> np.ndarray:
    """One simulated organ image as uint8 (size x size); `lesion` adds one dark round lesion."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    image = 0.12 + 0.05 * gaussian_filter(rng.standard_normal((size, size)), size / 8) * 4

    cy, cx = size / 2 + rng.uniform(-0.08, 0.08, 2) * size
    semi_a, semi_b = rng.uniform(0.28, 0.38) * size, rng.uniform(0.2, 0.28) * size
    angle = rng.uniform(0, np.pi)
    u = ((xx - cx) * np.cos(angle) + (yy - cy) * np.sin(angle)) / semi_a
    v = (-(xx - cx) * np.sin(angle) + (yy - cy) * np.cos(angle)) / semi_b
    radial = np.sqrt(u**2 + v**2)
    organ = 1.0 / (1.0 + np.exp((radial - 1.0) * size / 3))
    texture = gaussian_filter(rng.standard_normal((size, size)), size / 16) * 0.35
    image += organ * (rng.uniform(0.45, 0.6) + texture - 0.1 * radial**2)

    inside = np.argwhere(radial < 0.75)
    for _ in range(rng.integers(2, 6)):  # vessels: small dark spots in every image
        py, px = inside[rng.integers(len(inside))]
        image -= 0.8 * lesion_contrast * soft_disc(yy, xx, py, px, rng.uniform(0.8, 1.6))
    if lesion:
        radius = rng.uniform(*lesion_radius)
        safe = np.argwhere(radial < max(0.2, 0.75 - radius / min(semi_a, semi_b)))
        py, px = safe[rng.integers(len(safe))]
        depth = lesion_contrast * rng.uniform(0.7, 1.3)
        image -= depth * gaussian_filter(soft_disc(yy, xx, py, px, radius), 0.7)

    image += rng.normal(0.0, noise, image.shape)
    image = gaussian_filter(image, 0.5)
    return np.clip(np.round(image * 255), 0, 255).astype(np.uint8)


def make_dataset(
    seed: int,
    n_images: int,
    lesion_fraction: float,
    size: int,
    lesion_radius: tuple[float, float],
    lesion_contrast: float,
    noise: float,
    stream: int = 0,
) -> tuple[list[np.ndarray], list[str]]:
    """Images and their class names; `stream` separates training cases from new cases."""
    rng = np.random.default_rng([seed, stream])
    n_lesion = round(n_images * lesion_fraction)
    labels = np.array([1] * n_lesion + [0] * (n_images - n_lesion))
    rng.shuffle(labels)
    images = [
        simulate_organ(rng, size, bool(label), lesion_radius, lesion_contrast, noise)
        for label in progress(labels, total=n_images, desc="simulating")
    ]
    return images, [CLASSES[label] for label in labels]


def save_png(pixels: np.ndarray, path: Path) -> None:
    """Save a grey uint8 image as PNG (Pillow writes no timestamp, so the bytes are stable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, format="PNG", optimize=False)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--images-dir", required=True, help="output folder, one subfolder per class"
    )
    parser.add_argument("--new-dir", required=True, help="output folder of new, unlabelled cases")
    parser.add_argument("--new-truth", required=True, help="TSV of the new cases' true classes")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument("--n-images", type=int, default=600, help="labelled images (default 600)")
    parser.add_argument("--n-new", type=int, default=24, help="new cases to predict (default 24)")
    parser.add_argument("--lesion-fraction", type=float, default=0.5, help="share with a lesion")
    parser.add_argument("--image-size", type=int, default=64, help="image side in pixels")
    parser.add_argument("--lesion-radius-min", type=float, default=2.5, help="pixels")
    parser.add_argument("--lesion-radius-max", type=float, default=6.0, help="pixels")
    parser.add_argument("--lesion-contrast", type=float, default=0.2, help="darkening, 0..1")
    parser.add_argument("--noise", type=float, default=0.08, help="noise SD, 0..1 intensity")
    add_common_args(parser, threads=False)
    return parser


def from_snakemake(smk: Any) -> dict[str, Any]:
    p = smk.params.example
    return {
        "images_dir": smk.output.images,
        "new_dir": smk.output.new_images,
        "new_truth": smk.output.new_truth,
        "seed": smk.params.seed,
        "n_images": p["n_images"],
        "n_new": p["n_new"],
        "lesion_fraction": p["lesion_fraction"],
        "image_size": p["image_size"],
        "lesion_radius_min": p["lesion_radius_min"],
        "lesion_radius_max": p["lesion_radius_max"],
        "lesion_contrast": p["lesion_contrast"],
        "noise": p["noise"],
    }


def main(
    images_dir: str,
    new_dir: str,
    new_truth: str,
    seed: int,
    n_images: int,
    n_new: int,
    lesion_fraction: float,
    image_size: int,
    lesion_radius_min: float,
    lesion_radius_max: float,
    lesion_contrast: float,
    noise: float,
) -> None:
    settings = {
        "lesion_fraction": lesion_fraction,
        "size": image_size,
        "lesion_radius": (lesion_radius_min, lesion_radius_max),
        "lesion_contrast": lesion_contrast,
        "noise": noise,
    }
    images, labels = make_dataset(seed, n_images, **settings, stream=0)
    for index, (pixels, label) in enumerate(zip(images, labels, strict=True)):
        save_png(pixels, Path(images_dir) / label / f"case_{index:05d}.png")
    for label in CLASSES:
        (Path(images_dir) / label).mkdir(parents=True, exist_ok=True)
    log.info("wrote %d labelled images to %s", n_images, images_dir)

    new_images, new_labels = make_dataset(seed, n_new, **settings, stream=1)
    Path(new_dir).mkdir(parents=True, exist_ok=True)
    names = [f"new_{index:04d}.png" for index in range(n_new)]
    for pixels, name in zip(new_images, names, strict=True):
        save_png(pixels, Path(new_dir) / name)
    write_table(pd.DataFrame({"file": names, "class": new_labels}), new_truth)
    log.info("wrote %d new cases to %s (truth in %s)", n_new, new_dir, new_truth)


if __name__ == "__main__":
    run_step(main, build_parser, from_snakemake, globals().get("snakemake"))
