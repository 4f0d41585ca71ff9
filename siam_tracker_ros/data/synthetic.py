"""Synthetic tracking clips: real photo cut-outs (exact alpha) on real backgrounds/video frames.

A clip is a random scene: a panning background, a target cut-out on a smooth trajectory with
scale change and rotation, distractor cut-outs (sometimes the same object), an occluder crossing
the scene, and motion blur on fast motion. Any frame index can be rendered on its own, so a
training pair costs two renders. Boxes come from the warped alpha mask (exact, 0-based `xywh`).

`SceneConfig` switches on what real footage adds (all off by default, which gives the original
clips): a moving camera (`data/camera.py`: pan, shake, zoom and the motion blur they cause, the
camera sometimes following the target), small targets, and look-alikes (other cut-outs of the
target's category, or the target's own cut-out) placed around the target, either moving with it
as a group or fixed in the world so that the camera sweeps them past it.
"""
from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np

from siam_tracker_ros.data.camera import random_camera
from siam_tracker_ros.data.layers import Layer, paste, unrotated_size
from siam_tracker_ros.ops.crop import template_side

CANVAS = (640, 480)


def _pair(value, name: str, low: float = 0.0) -> tuple:
    """A (min, max) range from a config value, checked."""
    pair = tuple(float(v) for v in value) if isinstance(value, (list, tuple)) else ()
    if len(pair) != 2 or not low <= pair[0] <= pair[1]:
        raise ValueError(f'{name} must be a [min, max] pair with {low} <= min <= max, '
                         f'got {value!r}')
    return pair


@dataclass(frozen=True)
class SceneConfig:
    """Synthetic clip settings; the defaults are the original clips (no camera, no look-alikes).

    Sides are the longest side of a cut-out in frame px at t = 0; counts are inclusive ranges.
    """

    target_side: tuple = (30.0, 180.0)
    small_target: float = 0.0           # probability of a target side from `small_side`
    small_side: tuple = (15.0, 30.0)
    distractors: tuple = (0, 3)         # cut-outs anywhere in the scene
    same_object: float = 0.3            # share of those that are the target's own cut-out
    occluder: float = 0.3               # probability of a faster cut-out passing over the rest
    speed: float = 8.0                  # max object speed, px per frame
    lookalikes: tuple = (0, 0)          # look-alikes placed around the target (search crop)
    same_category: float = 0.7          # share of look-alikes from the target's category
    group: float = 0.5                  # share of look-alikes moving with the target
    camera: bool = False                # the moving camera below (off: whole-pixel pan only)
    pan_speed: float = 6.0              # max pan, px per frame
    follow: float = 0.3                 # probability that the camera pans with the target
    shake: float = 3.0                  # max shake amplitude, px
    zoom: float = 0.01                  # max |zoom rate|, log scale per frame
    exposure: float = 0.6               # max share of a frame's motion smeared into blur
    antialias: bool = False             # render cut-outs by area (needed for small targets)

    def __post_init__(self):
        for name in ('target_side', 'small_side'):
            object.__setattr__(self, name, _pair(getattr(self, name), name, 1.0))
        for name in ('distractors', 'lookalikes'):
            low, high = _pair(getattr(self, name), name)
            if low != int(low) or high != int(high):
                raise ValueError(f'{name} must be whole counts, got {getattr(self, name)!r}')
            object.__setattr__(self, name, (int(low), int(high)))
        for name in ('small_target', 'same_object', 'occluder', 'same_category', 'group',
                     'follow', 'exposure'):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f'{name} must be in [0, 1], got {getattr(self, name)!r}')
        for name in ('speed', 'pan_speed', 'shake', 'zoom'):
            if getattr(self, name) < 0:
                raise ValueError(f'{name} must be >= 0, got {getattr(self, name)!r}')


def _random_layer(cutout, rng, size_range, speed, canvas=CANVAS) -> Layer:
    rgb, alpha = cutout[:2]
    start = rng.uniform([0.2 * canvas[0], 0.2 * canvas[1]], [0.8 * canvas[0], 0.8 * canvas[1]])
    angle = rng.uniform(0, 2 * np.pi)
    velocity = np.array([np.cos(angle), np.sin(angle)]) * rng.uniform(0, speed)
    wobble = np.array([*rng.uniform(-20, 20, 2), rng.uniform(0.05, 0.3)])
    return Layer(rgb, alpha, start, velocity, wobble, rng.uniform(*size_range),
                 rng.uniform(-0.01, 0.01), rng.uniform(-1.0, 1.0),
                 getattr(cutout, 'category', ''))


def ring_offset(rng, size_a, size_b, limit: float) -> np.ndarray:
    """An offset at a random angle that puts a box of `size_b` (w, h) just clear of a box of
    `size_a` (1.0–1.3× the touching distance), at most `limit` long."""
    angle = rng.uniform(0, 2 * np.pi)
    direction = np.array([np.cos(angle), np.sin(angle)])
    half = (np.asarray(size_a, np.float64) + np.asarray(size_b, np.float64)) / 2
    touching = min(half[0] / max(abs(direction[0]), 1e-6), half[1] / max(abs(direction[1]), 1e-6))
    return direction * min(touching * rng.uniform(1.0, 1.3), limit)


def lookalike_layer(cutout, leader: Layer, rng, group: bool, speed: float) -> Layer:
    """A look-alike of the leader's size, placed in the leader's search crop (about 0.75 s_z
    from its centre at most) and moving with it (`group`) or on its own from the anchor time."""
    lead_size = unrotated_size(leader.alpha, leader.size)
    size = leader.size * rng.uniform(0.8, 1.25)
    offset = ring_offset(rng, lead_size, unrotated_size(cutout.alpha, size),
                         0.75 * template_side(*lead_size))
    angle = rng.uniform(0, 2 * np.pi)
    velocity = np.zeros(2) if group else \
        np.array([np.cos(angle), np.sin(angle)]) * rng.uniform(0, 0.3 * speed)
    wobble = np.array([*rng.uniform(-0.1, 0.1, 2) * leader.size, rng.uniform(0.05, 0.3)])
    return Layer(cutout.rgb, cutout.alpha, offset / leader.size, velocity, wobble,
                 size, leader.growth + rng.uniform(-0.003, 0.003),
                 rng.uniform(-1.0, 1.0), cutout.category, leader, None if group else 0.0)


class Frame(NamedTuple):
    """A rendered frame, the target box (None when gone), and the boxes and categories of the
    look-alikes in view."""

    image: np.ndarray
    box: tuple
    lookalike_boxes: tuple
    lookalike_categories: tuple


class SyntheticScene:
    """A random clip; `render(t)` gives (RGB uint8 frame, target `xywh`), `draw(t)` a `Frame`."""

    def __init__(self, cutouts, backgrounds, rng, config: SceneConfig = SceneConfig()):
        self.rng, self.config = rng, config
        background = backgrounds[rng.integers(len(backgrounds))]
        self.background = _fit_background(background, rng)
        self.pan = rng.uniform(-3, 3, 2)
        small = config.small_target and rng.random() < config.small_target
        self.target_index = target_index = int(rng.integers(len(cutouts)))
        self.target = _random_layer(cutouts[target_index], rng,
                                    config.small_side if small else config.target_side,
                                    config.speed)
        self.others = [self._distractor(cutouts, rng)
                       for _ in range(rng.integers(config.distractors[0],
                                                   config.distractors[1] + 1))]
        self.occluder_index = len(self.others) if rng.random() < config.occluder else None
        if self.occluder_index is not None:
            self.others.append(_random_layer(cutouts[rng.integers(len(cutouts))], rng,
                                             (40, 160), 2 * config.speed))
        self.blur_speed = rng.uniform(6, 20)
        self.lookalikes = self._lookalikes(cutouts, target_index, rng)
        self.camera = self._camera(rng) if config.camera else None

    def _distractor(self, cutouts, rng) -> Layer:
        same = rng.random() < self.config.same_object
        cutout = cutouts[self.target_index] if same else cutouts[rng.integers(len(cutouts))]
        return _random_layer(cutout, rng, self.config.target_side, self.config.speed)

    def _lookalikes(self, cutouts, target_index: int, rng) -> list:
        low, high = self.config.lookalikes
        if not high:
            return []
        category = self.target.category
        kin = [c for i, c in enumerate(cutouts)
               if category and c.category == category and i != target_index]
        layers = []
        for _ in range(rng.integers(low, high + 1)):
            other = kin and rng.random() < self.config.same_category
            cutout = kin[rng.integers(len(kin))] if other else cutouts[target_index]
            layers.append(lookalike_layer(cutout, self.target, rng,
                                          rng.random() < self.config.group, self.config.speed))
        return layers

    def _camera(self, rng):
        cfg = self.config
        follow = self.target.velocity if rng.random() < cfg.follow else None
        return random_camera(rng, CANVAS, cfg.pan_speed, cfg.shake, cfg.zoom, cfg.exposure,
                             follow)

    def focus_on(self, t: float) -> None:
        """Place the look-alikes that move on their own around the target as it is at time t
        (the search frame of a pair); group look-alikes stay around it at every t."""
        for layer in self.lookalikes:
            if layer.anchor is not None:
                layer.anchor = float(t)

    def background_shift(self, t0: float, t1: float) -> np.ndarray:
        """Frame motion of the background from t0 to t1 (px, at the frame centre)."""
        if self.camera is not None:
            return self.camera.background_shift(t0, t1)
        return -(self._offset(t1) - self._offset(t0)).astype(np.float64)

    def camera_blur(self, t: float) -> float:
        """Length (px) of the camera's motion blur at time t (0 without the camera model)."""
        if self.camera is None:
            return 0.0
        return self.camera.blur_length(self.camera.background_velocity(t))

    def _offset(self, t: float) -> np.ndarray:
        h, w = self.background.shape[:2]
        ox = int(np.clip(w / 2 - CANVAS[0] / 2 + self.pan[0] * t, 0, w - CANVAS[0]))
        oy = int(np.clip(h / 2 - CANVAS[1] / 2 + self.pan[1] * t, 0, h - CANVAS[1]))
        return np.array([ox, oy])

    def render(self, t: float):
        """Frame t and the target box (None when the target left the frame)."""
        return tuple(self.draw(t)[:2])

    def draw(self, t: float) -> Frame:
        """Frame t, the target box and the boxes of the look-alikes in view."""
        camera, fine = self.camera, self.config.antialias
        if camera is None:
            ox, oy = self._offset(t)
            frame = self.background[oy:oy + CANVAS[1], ox:ox + CANVAS[0]].copy()
        else:
            frame = camera.view(self.background, t)
        for index, layer in enumerate(self.others):
            if index != self.occluder_index:
                paste(frame, layer, t, camera=camera, antialias=fine)
        pasted = [(paste(frame, layer, t, camera=camera, antialias=fine), layer.category)
                  for layer in self.lookalikes]
        seen = [(box, category) for box, category in pasted if box is not None]
        speed = float(np.hypot(*self.target.velocity))
        blur = int(speed * 1.5) if speed > self.blur_speed else 0
        box = paste(frame, self.target, t, blur, camera, fine)
        if self.occluder_index is not None:
            paste(frame, self.others[self.occluder_index], t, camera=camera,
                  antialias=fine)
        return Frame(frame, box, tuple(b for b, _ in seen), tuple(c for _, c in seen))


def _fit_background(image: np.ndarray, rng) -> np.ndarray:
    """Scale a background so it covers the canvas with room to pan."""
    h, w = image.shape[:2]
    scale = max(CANVAS[0] / w, CANVAS[1] / h) * rng.uniform(1.0, 1.5)
    size = (int(np.ceil(w * scale)) + 1, int(np.ceil(h * scale)) + 1)
    return cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)


def render_clip(cutouts, backgrounds, rng, length: int = 50, config: SceneConfig = SceneConfig()):
    """A whole clip: list of frames and an (N, 4) box array (NaN where the target is gone)."""
    scene = SyntheticScene(cutouts, backgrounds, rng, config)
    scene.focus_on(length // 2)
    frames, boxes = [], []
    for t in range(length):
        frame, box = scene.render(t)
        frames.append(frame)
        boxes.append(box if box is not None else (np.nan,) * 4)
    return frames, np.asarray(boxes, np.float64)
