"""The embedded example: seeded grey images of a simulated organ, with or without a lesion.

Each image shows an elliptical organ with a smooth texture on a darker background, small dark
"vessel" spots that every image has, and Gaussian noise. Images of the `lesion` class also hold
one round, darker lesion of random size and position inside the organ.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter

from medflow.step import progress

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
