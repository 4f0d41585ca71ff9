"""Cut-out layers of the synthetic clips: their motion and how they are drawn into a frame.

A layer's box is the bounding box of its warped alpha mask (alpha > 0.5), so it is exact.
"""
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class Layer:
    """One cut-out moving on a linear + sinusoidal path with exponential scale change.

    With a `leader`, `start` is an offset in leader sides from the leader's centre at time
    `anchor` (None: at every t, so the layer moves with the leader) and `velocity` runs from there.
    """

    rgb: np.ndarray
    alpha: np.ndarray
    start: np.ndarray
    velocity: np.ndarray
    wobble: np.ndarray
    size: float
    growth: float
    spin: float
    category: str = ''
    leader: 'Layer' = None
    anchor: float = None

    def pose(self, t: float):
        """Centre (x, y), longest side in px and rotation in degrees at time t."""
        size = self.size * np.exp(self.growth * t)
        wobble = self.wobble[:2] * np.sin(self.wobble[2] * t)
        if self.leader is None:
            return self.start + self.velocity * t + wobble, size, self.spin * t
        at = t if self.anchor is None else self.anchor
        lead_centre, lead_size, _ = self.leader.pose(at)
        centre = lead_centre + self.start * lead_size + self.velocity * (t - at) + wobble
        return centre, size, self.spin * t


def unrotated_size(alpha: np.ndarray, side: float) -> tuple:
    """(w, h) of a cut-out scaled to longest side `side`."""
    h, w = alpha.shape
    return w * side / max(h, w), h * side / max(h, w)


def paste(canvas: np.ndarray, layer: Layer, t: float, blur: int = 0, camera=None,
          antialias: bool = False):
    """Alpha-blend `layer` at frame t into `canvas` (in place); return its `xywh` box or None.

    `blur` is a horizontal smear in px; with a `camera` the layer is seen through it and
    smeared along its own frame motion instead. `antialias` renders by area (`_warp_fine`)."""
    center, size, angle = layer.pose(t)
    kernel = np.full((1, blur), 1.0 / blur, np.float32) if blur > 1 else None
    if camera is not None:
        kernel = camera.blur_kernel(camera.frame_velocity(lambda s: layer.pose(s)[0], t))
        center, size = camera.project(center, t), size * camera.zoom(t)
    warp = _warp_fine if antialias else _warp
    warped = warp(layer.rgb, layer.alpha, center, size, angle, canvas.shape)
    if warped is None:
        return None
    x0, y0, rgb, a, box = warped
    if kernel is not None:
        rgb = cv2.filter2D(rgb * a[..., None], -1, kernel)
        a = cv2.filter2D(a, -1, kernel)
        rgb = rgb / np.maximum(a[..., None], 1e-3)
    y1, x1 = y0 + a.shape[0], x0 + a.shape[1]
    roi = canvas[y0:y1, x0:x1].astype(np.float32)
    canvas[y0:y1, x0:x1] = (roi * (1 - a[..., None]) + rgb * a[..., None]).clip(0, 255)
    return box


def _placement(alpha: np.ndarray, center, size: float, angle: float) -> np.ndarray:
    """2×3 matrix putting the cut-out's centre at `center`, longest side `size`, rotated."""
    h, w = alpha.shape
    matrix = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle, size / max(h, w))
    matrix[:, 2] += center - np.array([(w - 1) / 2, (h - 1) / 2])
    return matrix


def _warp(rgb, alpha, center, size, angle, shape):
    """Point-sampled warp (the original clips): (x0, y0, rgb, alpha) of the region around the
    layer (60 px margin for blur) and the box of alpha > 0.5, or None when out of view."""
    matrix = _placement(alpha, center, size, angle)
    out = (shape[1], shape[0])
    alpha = cv2.warpAffine(alpha, matrix, out, flags=cv2.INTER_LINEAR)
    ys, xs = np.nonzero(alpha > 0.5)
    if len(xs) == 0:
        return None
    x0, x1 = max(xs.min() - 60, 0), min(xs.max() + 61, out[0])
    y0, y1 = max(ys.min() - 60, 0), min(ys.max() + 61, out[1])
    matrix[:, 2] -= (x0, y0)
    rgb = cv2.warpAffine(rgb, matrix, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR)
    box = (float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1),
           float(ys.max() - ys.min() + 1))
    return x0, y0, rgb.astype(np.float32), alpha[y0:y1, x0:x1], box


def _warp_fine(rgb, alpha, center, size, angle, shape):
    """Like `_warp`, but by area: the cut-out is first shrunk (INTER_AREA) to at most 2× the
    sampling rate, and layers under 64 px are drawn on a 4×4 sub-pixel grid and averaged, so
    small targets neither alias nor lose their thin parts; the box counts a pixel when any
    sub-pixel is inside (alpha > 0.5)."""
    sub = 4 if size < 64 else 1
    shrink = 2 * sub * size / max(alpha.shape)
    if shrink < 1:
        dsize = (max(1, round(alpha.shape[1] * shrink)), max(1, round(alpha.shape[0] * shrink)))
        rgb = cv2.resize(rgb, dsize, interpolation=cv2.INTER_AREA)
        alpha = cv2.resize(alpha, dsize, interpolation=cv2.INTER_AREA)
    matrix = _placement(alpha, center, size, angle)
    h, w = alpha.shape
    corners = np.array([[-0.5, -0.5], [w - 0.5, -0.5], [-0.5, h - 0.5], [w - 0.5, h - 0.5]])
    corners = corners @ matrix[:, :2].T + matrix[:, 2]
    x0, y0 = np.maximum(np.floor(corners.min(axis=0)).astype(int) - 60, 0)
    x1 = min(int(np.ceil(corners[:, 0].max())) + 61, shape[1])
    y1 = min(int(np.ceil(corners[:, 1].max())) + 61, shape[0])
    if x1 <= x0 or y1 <= y0:
        return None
    fine = matrix * sub     # sub-pixel j of frame pixel i sits at i + (j + 0.5) / sub - 0.5
    fine[:, 2] = sub * (matrix[:, 2] - (x0, y0)) + (sub - 1) / 2
    fine_size = ((x1 - x0) * sub, (y1 - y0) * sub)
    alpha = cv2.warpAffine(alpha, fine, fine_size, flags=cv2.INTER_LINEAR)
    ys, xs = np.nonzero(alpha > 0.5)
    if len(xs) == 0:
        return None
    rgb = cv2.warpAffine(rgb, fine, fine_size, flags=cv2.INTER_LINEAR).astype(np.float32)
    area = (x1 - x0, y1 - y0)
    a = cv2.resize(alpha, area, interpolation=cv2.INTER_AREA)
    rgb = cv2.resize(rgb * alpha[..., None], area, interpolation=cv2.INTER_AREA)
    rgb = rgb / np.maximum(a[..., None], 1e-3)
    lo, hi = np.array([xs.min(), ys.min()]) // sub, np.array([xs.max(), ys.max()]) // sub
    box = (float(x0 + lo[0]), float(y0 + lo[1]), float(hi[0] - lo[0] + 1),
           float(hi[1] - lo[1] + 1))
    return x0, y0, rgb, a, box
