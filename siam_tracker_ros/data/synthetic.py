"""Synthetic tracking clips: real photo cut-outs (exact alpha) on real backgrounds/video frames.

A clip is a random scene: a panning background, a target cut-out on a smooth trajectory with
scale change and rotation, distractor cut-outs (sometimes the same object), an occluder crossing
the scene, and motion blur on fast motion. Any frame index can be rendered on its own, so a
training pair costs two renders. Boxes come from the warped alpha mask (exact, 0-based `xywh`).
"""
from dataclasses import dataclass

import cv2
import numpy as np

CANVAS = (640, 480)


@dataclass
class Layer:
    """One cut-out moving on a linear + sinusoidal path with exponential scale change."""

    rgb: np.ndarray
    alpha: np.ndarray
    start: np.ndarray
    velocity: np.ndarray
    wobble: np.ndarray
    size: float
    growth: float
    spin: float

    def pose(self, t: float):
        """Centre (x, y), longest side in px and rotation in degrees at frame t."""
        center = self.start + self.velocity * t + self.wobble[:2] * np.sin(self.wobble[2] * t)
        return center, self.size * np.exp(self.growth * t), self.spin * t


def _random_layer(cutout, rng, size_range, speed, canvas=CANVAS) -> Layer:
    rgb, alpha = cutout
    start = rng.uniform([0.2 * canvas[0], 0.2 * canvas[1]], [0.8 * canvas[0], 0.8 * canvas[1]])
    angle = rng.uniform(0, 2 * np.pi)
    velocity = np.array([np.cos(angle), np.sin(angle)]) * rng.uniform(0, speed)
    wobble = np.array([*rng.uniform(-20, 20, 2), rng.uniform(0.05, 0.3)])
    return Layer(rgb, alpha, start, velocity, wobble, rng.uniform(*size_range),
                 rng.uniform(-0.01, 0.01), rng.uniform(-1.0, 1.0))


def paste(canvas: np.ndarray, layer: Layer, t: float, blur: int = 0):
    """Alpha-blend `layer` at frame t into `canvas` (in place); return its `xywh` box or None."""
    center, size, angle = layer.pose(t)
    h, w = layer.alpha.shape
    scale = size / max(h, w)
    matrix = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle, scale)
    matrix[:, 2] += center - np.array([(w - 1) / 2, (h - 1) / 2])
    out = (canvas.shape[1], canvas.shape[0])
    alpha = cv2.warpAffine(layer.alpha, matrix, out, flags=cv2.INTER_LINEAR)
    ys, xs = np.nonzero(alpha > 0.5)
    if len(xs) == 0:
        return None
    x0, x1 = max(xs.min() - 60, 0), min(xs.max() + 61, out[0])
    y0, y1 = max(ys.min() - 60, 0), min(ys.max() + 61, out[1])
    matrix[:, 2] -= (x0, y0)
    size_roi = (x1 - x0, y1 - y0)
    rgb = cv2.warpAffine(layer.rgb, matrix, size_roi, flags=cv2.INTER_LINEAR).astype(np.float32)
    a = alpha[y0:y1, x0:x1]
    if blur > 1:
        kernel = np.full((1, blur), 1.0 / blur, np.float32)
        rgb = cv2.filter2D(rgb * a[..., None], -1, kernel)
        a = cv2.filter2D(a, -1, kernel)
        rgb = rgb / np.maximum(a[..., None], 1e-3)
    roi = canvas[y0:y1, x0:x1].astype(np.float32)
    canvas[y0:y1, x0:x1] = (roi * (1 - a[..., None]) + rgb * a[..., None]).clip(0, 255)
    return (float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1),
            float(ys.max() - ys.min() + 1))


class SyntheticScene:
    """A random clip; `render(t)` gives (RGB uint8 frame, target `xywh`)."""

    def __init__(self, cutouts, backgrounds, rng, speed: float = 8.0):
        self.rng = rng
        background = backgrounds[rng.integers(len(backgrounds))]
        self.background = _fit_background(background, rng)
        self.pan = rng.uniform(-3, 3, 2)
        self.target = _random_layer(cutouts[rng.integers(len(cutouts))], rng, (30, 180), speed)
        self.others = []
        for _ in range(rng.integers(0, 4)):
            same = rng.random() < 0.3
            cutout = (self.target.rgb, self.target.alpha) if same else \
                cutouts[rng.integers(len(cutouts))]
            self.others.append(_random_layer(cutout, rng, (30, 180), speed))
        self.occluder_index = len(self.others) if rng.random() < 0.3 else None
        if self.occluder_index is not None:
            self.others.append(_random_layer(cutouts[rng.integers(len(cutouts))], rng,
                                             (40, 160), 2 * speed))
        self.blur_speed = rng.uniform(6, 20)

    def render(self, t: float):
        """Frame t and the target box (None when the target left the frame)."""
        h, w = self.background.shape[:2]
        ox = int(np.clip(w / 2 - CANVAS[0] / 2 + self.pan[0] * t, 0, w - CANVAS[0]))
        oy = int(np.clip(h / 2 - CANVAS[1] / 2 + self.pan[1] * t, 0, h - CANVAS[1]))
        frame = self.background[oy:oy + CANVAS[1], ox:ox + CANVAS[0]].copy()
        for index, layer in enumerate(self.others):
            if index != self.occluder_index:
                paste(frame, layer, t)
        speed = float(np.hypot(*self.target.velocity))
        blur = int(speed * 1.5) if speed > self.blur_speed else 0
        box = paste(frame, self.target, t, blur)
        if self.occluder_index is not None:
            paste(frame, self.others[self.occluder_index], t)
        return frame, box


def _fit_background(image: np.ndarray, rng) -> np.ndarray:
    """Scale a background so it covers the canvas with room to pan."""
    h, w = image.shape[:2]
    scale = max(CANVAS[0] / w, CANVAS[1] / h) * rng.uniform(1.0, 1.5)
    size = (int(np.ceil(w * scale)) + 1, int(np.ceil(h * scale)) + 1)
    return cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)


def render_clip(cutouts, backgrounds, rng, length: int = 50):
    """A whole clip: list of frames and an (N, 4) box array (NaN where the target is gone)."""
    scene = SyntheticScene(cutouts, backgrounds, rng)
    frames, boxes = [], []
    for t in range(length):
        frame, box = scene.render(t)
        frames.append(frame)
        boxes.append(box if box is not None else (np.nan,) * 4)
    return frames, np.asarray(boxes, np.float64)
