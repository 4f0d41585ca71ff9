"""Training crops and augmentation (spec §1.6, Augmentations A and B).

Both crops use the one tracking crop (`ops.crop.crop_patch`) with the spec's s_z / s_x, so
training sees exactly what tracking sees. A random stretch and shift are applied by moving and
resizing the crop window; the label centre follows the target exactly, measured in the integer
window the crop really used (with A's ±4 px the difference from "labels stay centred" is below
one label cell). The target is (cx, cy, w, h) in search-crop pixels: the RPN trackers need the
size, the SiamFC labels use the centre.
"""
from dataclasses import dataclass

import cv2
import numpy as np

from siam_tracker_ros.ops.crop import crop_patch, crop_window, template_side

EXEMPLAR_SIZE = 127
INSTANCE_SIZE = 255
# ImageNet RGB PCA (0–255 units): the fallback when no training images are at hand.
IMAGENET_EIGVAL = np.array([0.2175, 0.0188, 0.0045]) * 255.0 ** 2
IMAGENET_EIGVEC = np.array([[-0.5675, 0.7192, 0.4009],
                            [-0.5808, -0.0045, -0.8140],
                            [-0.5836, -0.6948, 0.4203]])


@dataclass(frozen=True)
class AugmentConfig:
    """Augmentation settings; the defaults are Augmentation A (SiamFC)."""

    search_size: int = 239
    template_shift: float = 4.0
    template_scale: float = 0.05
    search_shift: float = 4.0
    search_scale: float = 0.05
    blur_prob: float = 0.0
    color_pca: float = 0.1
    gray_prob: float = 0.0


def rgb_pca(images, samples_per_image: int = 2000, seed: int = 0):
    """Eigenvalues/vectors of the RGB covariance of `images` (0–255 units)."""
    rng = np.random.default_rng(seed)
    pixels = []
    for image in images:
        flat = image.reshape(-1, 3)
        pixels.append(flat[rng.integers(0, len(flat), min(samples_per_image, len(flat)))])
    if not pixels:
        return IMAGENET_EIGVAL, IMAGENET_EIGVEC
    eigval, eigvec = np.linalg.eigh(np.cov(np.concatenate(pixels).astype(np.float64).T))
    return np.clip(eigval, 0, None), eigvec


def color_offset(rng, eigval, eigvec, strength: float) -> np.ndarray:
    """The PCA colour offset 0.1·eigvec·(√eigval·N(0, I₃)) (spec §1.6)."""
    return eigvec @ (np.sqrt(eigval) * rng.standard_normal(3) * strength)


def apply_color(patch: np.ndarray, offset: np.ndarray, gray: bool) -> np.ndarray:
    """Subtract the colour offset (and optionally make grey), clipped to uint8."""
    out = patch.astype(np.float32) - offset.astype(np.float32)
    if gray:
        out = np.repeat(out.mean(axis=2, keepdims=True), 3, axis=2)
    return np.clip(out, 0, 255).astype(np.uint8)


def line_kernel(length: int, angle: float) -> np.ndarray:
    """A normalised linear motion-blur kernel, `length` (odd) px long at `angle` degrees."""
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0 / length
    rotation = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), angle, 1.0)
    kernel = cv2.warpAffine(kernel, rotation, (length, length))
    return kernel / max(kernel.sum(), 1e-6)


def motion_blur(patch: np.ndarray, rng) -> np.ndarray:
    """Linear motion blur with an odd kernel of 5–45 px in a random direction."""
    size = int(rng.integers(2, 23)) * 2 + 1
    return cv2.filter2D(patch, -1, line_kernel(size, float(rng.uniform(0, 180))))


@dataclass(frozen=True)
class CropWindow:
    """The integer frame window (x0, y0, side) that a crop resized to `out_size` pixels."""

    x0: int
    y0: int
    side: int
    out_size: int

    @property
    def scale(self) -> float:
        """Crop pixels per frame pixel."""
        return self.out_size / self.side

    def box(self, box) -> tuple:
        """A frame `xywh` box as (cx, cy, w, h) in crop pixels (half-pixel-centre resize)."""
        x, y, w, h = box
        cx, cy = x + (w - 1) / 2, y + (h - 1) / 2
        scale = self.scale
        return (float((cx - self.x0 + 0.5) * scale - 0.5),
                float((cy - self.y0 + 0.5) * scale - 0.5), float(w * scale), float(h * scale))


def _jittered_crop(image, box, out_size, side_factor, shift, scale, rng):
    """Crop around the box centre, stretched and shifted; return the patch and its window."""
    x, y, w, h = box
    cx, cy = x + (w - 1) / 2, y + (h - 1) / 2
    side = template_side(w, h) * side_factor * (1 + rng.uniform(-scale, scale))
    dx, dy = rng.uniform(-shift, shift, 2)
    px_per_out = side / out_size
    center = (cx - dx * px_per_out, cy - dy * px_per_out)
    pad = image.reshape(-1, 3).mean(axis=0)
    patch = crop_patch(image, center, side, out_size, pad)
    return patch, CropWindow(*crop_window(center, side), out_size)   # the window really cropped


def crop_pair(image_z, box_z, image_x, box_x, rng, config: AugmentConfig,
              pca=(IMAGENET_EIGVAL, IMAGENET_EIGVEC)):
    """Template (127²) and search (search_size²) crops and the search crop's frame window.

    Args:
        image_z, image_x: RGB uint8 frames; box_z, box_x: 0-based `xywh` targets.
        rng: numpy Generator.
    Returns:
        (z uint8 127×127×3, x uint8 S×S×3, `CropWindow` of x in image_x).
    """
    z, _ = _jittered_crop(image_z, box_z, EXEMPLAR_SIZE, 1.0, config.template_shift,
                          config.template_scale, rng)
    x_factor = config.search_size / EXEMPLAR_SIZE
    x, window = _jittered_crop(image_x, box_x, config.search_size, x_factor,
                               config.search_shift, config.search_scale, rng)
    if config.blur_prob and rng.random() < config.blur_prob:
        x = motion_blur(x, rng)
    gray = bool(config.gray_prob and rng.random() < config.gray_prob)
    if config.color_pca:
        z = apply_color(z, color_offset(rng, *pca, config.color_pca), gray)
        x = apply_color(x, color_offset(rng, *pca, config.color_pca), gray)
    return z, x, window


def make_pair(image_z, box_z, image_x, box_x, rng, config: AugmentConfig,
              pca=(IMAGENET_EIGVAL, IMAGENET_EIGVEC)):
    """`crop_pair`, with the target as (cx, cy, w, h) in search-crop pixels."""
    z, x, window = crop_pair(image_z, box_z, image_x, box_x, rng, config, pca)
    return z, x, window.box(box_x)
