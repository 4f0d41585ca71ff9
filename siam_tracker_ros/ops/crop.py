"""The one crop used by tracking, training and evaluation (spec §1.2)."""
import math

import cv2
import numpy as np

CONTEXT_AMOUNT = 0.5


def template_side(w: float, h: float, context: float = CONTEXT_AMOUNT) -> float:
    """s_z = sqrt((w + p)(h + p)) with p = context * (w + h)."""
    p = context * (w + h)
    return math.sqrt((w + p) * (h + p))


def crop_window(center, size: float):
    """Integer window (x0, y0, S) of side S = max(1, floor(size + 0.5)) centred on `center`."""
    side = max(1, int(math.floor(size + 0.5)))
    x0 = int(math.floor(center[0] - (side - 1) / 2 + 0.5))
    y0 = int(math.floor(center[1] - (side - 1) / 2 + 0.5))
    return x0, y0, side


def crop_patch(image: np.ndarray, center, size: float, out_size: int, pad_color) -> np.ndarray:
    """Crop a square of side `size` around `center`, pad with `pad_color`, resize to `out_size`.

    Args:
        image: HxWx3 uint8.
        center: (cx, cy) in 0-based pixel-centre coordinates.
        size: side of the window in image pixels (rounded to an integer S >= 1).
        out_size: output side m; the S x S window is resized bilinearly (half-pixel centres).
        pad_color: per-channel colour for pixels outside the image.

    Returns:
        out_size x out_size x 3 uint8 patch.
    """
    x0, y0, side = crop_window(center, size)
    height, width = image.shape[:2]
    left, top = max(0, -x0), max(0, -y0)
    right, bottom = max(0, x0 + side - width), max(0, y0 + side - height)
    inner = image[max(y0, 0):min(y0 + side, height), max(x0, 0):min(x0 + side, width)]
    if inner.size == 0:
        patch = np.empty((side, side, 3), np.uint8)
        patch[:] = np.round(np.asarray(pad_color, np.float64)).astype(np.uint8)
    elif left or top or right or bottom:
        value = [float(v) for v in pad_color]
        patch = cv2.copyMakeBorder(inner, top, bottom, left, right, cv2.BORDER_CONSTANT,
                                   value=value)
    else:
        patch = inner
    if side != out_size:
        patch = cv2.resize(patch, (out_size, out_size), interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(patch)


def image_mean_color(image: np.ndarray) -> tuple:
    """Per-channel mean of an image, the padding colour fixed at `init`."""
    return tuple(float(v) for v in image.reshape(-1, image.shape[2]).mean(axis=0))
