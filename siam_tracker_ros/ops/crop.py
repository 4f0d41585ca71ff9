"""The one crop used by tracking, training and evaluation (spec §1.2)."""
import math

import cv2
import numpy as np

CONTEXT_AMOUNT = 0.5
# A padded window larger than this many times the image (or the output) in area is resampled
# straight from the image instead, so memory stays bounded by the image and the output size.
MAX_WINDOW_AREA_RATIO = 16


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
        out_size x out_size x 3 uint8 patch. A window more than MAX_WINDOW_AREA_RATIO times the
        image and the output in area is resampled directly: same sampling, OpenCV's warp
        rounding (within one grey level of padding and resizing, test_ops.py).
    """
    x0, y0, side = crop_window(center, size)
    height, width = image.shape[:2]
    left, top = max(0, -x0), max(0, -y0)
    right, bottom = max(0, x0 + side - width), max(0, y0 + side - height)
    # Stops clamped at 0: a window wholly above or left of the image is all padding (a negative
    # stop would count from the image's far end).
    inner = image[max(y0, 0):max(0, min(y0 + side, height)),
                  max(x0, 0):max(0, min(x0 + side, width))]
    if inner.size == 0:  # all padding: the resized window is that colour, at any size
        patch = np.empty((out_size, out_size, 3), np.uint8)
        patch[:] = np.round(np.asarray(pad_color, np.float64)).astype(np.uint8)
        return patch
    if side * side > MAX_WINDOW_AREA_RATIO * max(height * width, out_size * out_size):
        return _resample_window(image, x0, y0, side, out_size, pad_color)
    if left or top or right or bottom:
        value = [float(v) for v in pad_color]
        patch = cv2.copyMakeBorder(inner, top, bottom, left, right, cv2.BORDER_CONSTANT,
                                   value=value)
    else:
        patch = inner
    if side != out_size:
        patch = cv2.resize(patch, (out_size, out_size), interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(patch)


def _resample_window(image, x0: int, y0: int, side: int, out_size: int, pad_color):
    """The S x S window at (x0, y0), padded and resized to `out_size`, without building it:
    output pixel u samples window coordinate (u + 0.5) S / m - 0.5, as cv2.resize does."""
    scale = side / out_size
    matrix = np.array([[scale, 0.0, x0 + 0.5 * scale - 0.5],
                       [0.0, scale, y0 + 0.5 * scale - 0.5]])
    return cv2.warpAffine(image, matrix, (out_size, out_size),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT,
                          borderValue=[float(v) for v in pad_color])


def image_mean_color(image: np.ndarray) -> tuple:
    """Per-channel mean of an image, the padding colour fixed at `init`."""
    return tuple(float(v) for v in image.reshape(-1, image.shape[2]).mean(axis=0))
