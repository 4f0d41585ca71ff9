"""Training pair sources: tracking datasets, synthetic clips, and still photos.

Each source has `draw(rng)` → `Sample(z, x, target, record)` or None when the drawn pair fails
the sample filter, and `sample(rng)` → (z uint8 127², x uint8 S², target) or None, where
target = (cx, cy, w, h) is the target box in search-crop pixels. `PairMixture` retries and mixes
sources by weight. The `SampleRecord` says what was generated (look-alikes, target side, camera).
"""
from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np

from siam_tracker_ros.data.augment import AugmentConfig, IMAGENET_EIGVAL, IMAGENET_EIGVEC, \
    crop_pair
from siam_tracker_ros.data.media import SkipCounter, read_rgb
from siam_tracker_ros.data.synthetic import SceneConfig, SyntheticScene, ring_offset
from siam_tracker_ros.ops.crop import template_side

PCA = (IMAGENET_EIGVAL, IMAGENET_EIGVEC)


def box_ok(box, image_shape, min_side: float = 20.0) -> bool:
    """Sample filter of spec §1.6 (visible, 20–500 px, 1–50 % of the frame, aspect ¼–4);
    `min_side` lowers the 20 px for small-target training."""
    if box is None or not np.all(np.isfinite(box)):
        return False
    _, _, w, h = box
    height, width = image_shape[:2]
    return (min_side <= w <= 500 and min_side <= h <= 500 and 0.01 <= w / width <= 0.5
            and 0.01 <= h / height <= 0.5 and 0.25 <= w / h <= 4)


@dataclass(frozen=True)
class SampleRecord:
    """What one training pair holds. `frame_boxes`: the target's `xywh` in the template and
    search frames; `lookalikes`: (cx, cy, w, h) in search-crop px of the look-alikes visible in
    the search frame; `camera_shift`: the background's motion (frame px) from the template to
    the search frame; `camera_blur`: the camera's motion-blur length in the search frame."""

    source: str
    frame_boxes: tuple
    target_side: float                  # longest side of the target in the search frame, px
    crop_scale: float                   # search-crop px per search-frame px
    target_category: str = ''
    lookalikes: tuple = ()
    lookalike_categories: tuple = ()
    camera_shift: tuple = (0.0, 0.0)
    camera_blur: float = 0.0
    frames: tuple = ()                  # (template, search) frame indices of a clip


class Sample(NamedTuple):
    """A training pair and its record."""

    z: np.ndarray
    x: np.ndarray
    target: tuple
    record: SampleRecord


class PairSource:
    """Base: `sample` is `draw` without the record."""

    def draw(self, rng):
        raise NotImplementedError

    def sample(self, rng):
        drawn = self.draw(rng)
        return None if drawn is None else tuple(drawn[:3])


def _record(source: str, box_z, box_x, window, **fields) -> SampleRecord:
    return SampleRecord(source, (_floats(box_z), _floats(box_x)), float(max(box_x[2], box_x[3])),
                        float(window.scale), **fields)


class SequencePairSource(PairSource):
    """Pairs from annotated videos (`Sequence` objects), spec §1.6 sampling."""

    def __init__(self, sequences, aug: AugmentConfig, frame_range: int = 100, pca=PCA,
                 skipped: SkipCounter = None, min_side: float = 20.0):
        self.sequences = [s for s in sequences if len(s) >= 2]
        if not self.sequences:
            raise ValueError('no sequence with at least two frames')
        self.aug, self.frame_range, self.pca = aug, frame_range, pca
        self.skipped = skipped or SkipCounter()
        self.min_side = min_side

    def draw(self, rng):
        seq = self.sequences[rng.integers(len(self.sequences))]
        valid = np.isfinite(seq.boxes).all(axis=1)
        if seq.absent is not None:
            valid &= ~np.asarray(seq.absent, bool)
        indices = np.flatnonzero(valid)
        if len(indices) < 2:
            return None
        t_z = int(rng.choice(indices))
        near = indices[(np.abs(indices - t_z) <= self.frame_range) & (indices != t_z)]
        if len(near) == 0:
            return None
        t_x = int(rng.choice(near))
        image_z = read_rgb(seq.frames[t_z], self.skipped, max_side=100000)
        image_x = read_rgb(seq.frames[t_x], self.skipped, max_side=100000)
        if image_z is None or image_x is None:
            return None
        box_z, box_x = seq.boxes[t_z], seq.boxes[t_x]
        if not (box_ok(box_z, image_z.shape, self.min_side)
                and box_ok(box_x, image_x.shape, self.min_side)):
            return None
        z, x, window = crop_pair(image_z, box_z, image_x, box_x, rng, self.aug, self.pca)
        return Sample(z, x, window.box(box_x),
                      _record('sequence', box_z, box_x, window, frames=(t_z, t_x)))


class SyntheticPairSource(PairSource):
    """Pairs of frames of random synthetic clips (`SyntheticScene`)."""

    def __init__(self, cutouts, backgrounds, aug: AugmentConfig, frame_range: int = 30,
                 pca=PCA, scene: SceneConfig = SceneConfig(), min_side: float = 20.0):
        if not cutouts or not backgrounds:
            raise ValueError('synthetic source needs cut-outs and backgrounds')
        if scene.lookalikes[1] and scene.same_category and not any(c.category for c in cutouts):
            raise ValueError('same-category look-alikes need cut-out categories (no '
                             'categories.tsv next to the stamps: re-run '
                             'scripts/fetch_training_data.sh)')
        self.cutouts, self.backgrounds = cutouts, backgrounds
        self.aug, self.frame_range, self.pca = aug, frame_range, pca
        self.scene, self.min_side = scene, min_side

    def draw(self, rng):
        scene = SyntheticScene(self.cutouts, self.backgrounds, rng, self.scene)
        t_z = int(rng.integers(0, self.frame_range))
        t_x = t_z + int(rng.integers(1, self.frame_range + 1)) * int(rng.choice([-1, 1]))
        scene.focus_on(t_x)
        image_z, box_z = scene.render(t_z)
        image_x, box_x, lookalikes, kinds = scene.draw(t_x)
        if not (box_ok(box_z, image_z.shape, self.min_side)
                and box_ok(box_x, image_x.shape, self.min_side)):
            return None
        z, x, window = crop_pair(image_z, box_z, image_x, box_x, rng, self.aug, self.pca)
        record = _record('synthetic', box_z, box_x, window, target_category=scene.target.category,
                         lookalikes=tuple(window.box(b) for b in lookalikes),
                         lookalike_categories=kinds,
                         camera_shift=_floats(scene.background_shift(t_z, t_x)),
                         camera_blur=scene.camera_blur(t_x), frames=(t_z, t_x))
        return Sample(z, x, window.box(box_x), record)


@dataclass(frozen=True)
class StillConfig:
    """Hard negatives for still pairs; the defaults are the original pairs (none).

    `lookalikes`: count range of patches of the same photo, of the target's size, pasted
    (feathered) around the target in the search image, a share `twin` of them the target's own
    patch; `static_target`: probability that the photo moves but the target keeps its place.
    """

    lookalikes: tuple = (0, 0)
    twin: float = 0.3
    static_target: float = 0.0

    def __post_init__(self):
        low, high = (int(v) for v in self.lookalikes) if len(self.lookalikes) == 2 else (1, 0)
        if not 0 <= low <= high or (low, high) != tuple(self.lookalikes):
            raise ValueError(f'lookalikes must be a [min, max] pair of counts, '
                             f'got {self.lookalikes!r}')
        object.__setattr__(self, 'lookalikes', (low, high))
        for name in ('twin', 'static_target'):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f'{name} must be in [0, 1], got {getattr(self, name)!r}')


class StillPairSource(PairSource):
    """Pairs cut from one photo and a geometrically/photometrically transformed copy."""

    def __init__(self, images, aug: AugmentConfig, pca=PCA, still: StillConfig = StillConfig(),
                 min_side: float = 20.0):
        if not images:
            raise ValueError('still source needs images')
        self.images, self.aug, self.pca = images, aug, pca
        self.still, self.min_side = still, min_side

    def draw(self, rng):
        index = int(rng.integers(len(self.images)))
        image = self.images[index]
        height, width = image.shape[:2]
        side = rng.uniform(0.05, 0.35) * min(width, height)
        aspect = np.exp(rng.uniform(-0.7, 0.7))
        w, h = side * np.sqrt(aspect), side / np.sqrt(aspect)
        x, y = rng.uniform(0, width - w), rng.uniform(0, height - h)
        box_z = (x, y, w, h)
        matrix = cv2.getRotationMatrix2D((width / 2, height / 2), rng.uniform(-8, 8),
                                         rng.uniform(0.8, 1.25))
        matrix[:, 2] += rng.uniform(-0.1, 0.1, 2) * (width, height)
        warped = cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REFLECT)
        if self.still.static_target and rng.random() < self.still.static_target:
            paste_patch(warped, image, box_z, box_z)
            box_x = box_z
        else:
            box_x = _moved_box(box_z, matrix)
        lookalikes = self._lookalikes(warped, image, box_z, box_x, rng)
        warped = _photometric(warped, rng)
        if not (box_ok(box_z, image.shape, self.min_side)
                and box_ok(box_x, warped.shape, self.min_side)):
            return None
        z, x, window = crop_pair(image, box_z, warped, box_x, rng, self.aug, self.pca)
        kind = f'photo {index}'
        record = _record('still', box_z, box_x, window, target_category=kind,
                         lookalikes=tuple(window.box(b) for b in lookalikes),
                         lookalike_categories=(kind,) * len(lookalikes),
                         camera_shift=_floats(matrix[:, :2] @ _centre(box_z) + matrix[:, 2]
                                              - _centre(box_z)))
        return Sample(z, x, window.box(box_x), record)

    def _lookalikes(self, warped, image, box_z, box_x, rng) -> list:
        """Paste patches of `image` of the target's size around box_x; return their boxes."""
        low, high = self.still.lookalikes
        if not high:
            return []
        height, width = image.shape[:2]
        w, h = box_x[2], box_x[3]
        boxes = []
        for _ in range(rng.integers(low, high + 1)):
            if rng.random() < self.still.twin:
                source = box_z
            else:
                source = (rng.uniform(0, width - box_z[2]), rng.uniform(0, height - box_z[3]),
                          box_z[2], box_z[3])
            for _ in range(4):     # a few places around the target, until one is in the image
                offset = ring_offset(rng, (w, h), (w, h), 0.75 * template_side(w, h))
                centre = _centre(box_x) + offset
                box = (centre[0] - (w - 1) / 2, centre[1] - (h - 1) / 2, w, h)
                if paste_patch(warped, image, source, box):
                    boxes.append(box)
                    break
        return boxes


def _floats(values) -> tuple:
    return tuple(float(v) for v in values)


def _centre(box) -> np.ndarray:
    return np.array([box[0] + (box[2] - 1) / 2, box[1] + (box[3] - 1) / 2])


def _moved_box(box, matrix) -> tuple:
    """Bounding box of `box`'s corners under the affine `matrix`."""
    x, y, w, h = box
    corners = np.array([[x, y], [x + w - 1, y], [x, y + h - 1], [x + w - 1, y + h - 1]])
    moved = corners @ matrix[:, :2].T + matrix[:, 2]
    lo, hi = moved.min(axis=0), moved.max(axis=0)
    return (lo[0], lo[1], hi[0] - lo[0] + 1, hi[1] - lo[1] + 1)


def paste_patch(canvas: np.ndarray, image: np.ndarray, source, box) -> bool:
    """Paste `image`'s `source` box, resized, onto `canvas` at `box` (both `xywh`) with a 15 %
    feathered border outside the box; False when the box is not fully inside the canvas."""
    height, width = canvas.shape[:2]
    x, y, w, h = box
    margin = 0.15 * max(w, h)
    x0, y0 = int(np.floor(x - margin)), int(np.floor(y - margin))
    x1, y1 = int(np.ceil(x + w + margin)), int(np.ceil(y + h + margin))
    if x < 0 or y < 0 or x + w > width or y + h > height:
        return False
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    scale = np.array([source[2] / w, source[3] / h])
    # canvas pixel (u, v) ← image pixel source_xy + (uv − box_xy)·scale
    matrix = np.array([[scale[0], 0, source[0] - (x - x0) * scale[0]],
                       [0, scale[1], source[1] - (y - y0) * scale[1]]])
    patch = cv2.warpAffine(image, matrix, (x1 - x0, y1 - y0),
                           flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                           borderMode=cv2.BORDER_REFLECT)
    inner, grown = (np.zeros((y1 - y0, x1 - x0), np.float32) for _ in range(2))
    for mask, grow in ((inner, 0.0), (grown, margin / 2)):
        mask[max(int(round(y - y0 - grow)), 0):int(round(y + h - y0 + grow)),
             max(int(round(x - x0 - grow)), 0):int(round(x + w - x0 + grow))] = 1
    mask = np.maximum(inner, cv2.GaussianBlur(grown, (0, 0), max(margin / 4, 0.5)))
    roi = canvas[y0:y1, x0:x1].astype(np.float32)
    canvas[y0:y1, x0:x1] = (roi * (1 - mask[..., None]) + patch * mask[..., None]).clip(0, 255)
    return True


def _photometric(image: np.ndarray, rng) -> np.ndarray:
    """Random contrast/brightness/gamma, Gaussian blur and noise."""
    out = image.astype(np.float32) * rng.uniform(0.7, 1.3) + rng.uniform(-25, 25)
    out = 255.0 * (np.clip(out, 0, 255) / 255.0) ** rng.uniform(0.8, 1.25)
    if rng.random() < 0.3:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.5, 2.0))
    out += rng.normal(0, rng.uniform(0, 6), out.shape)
    return np.clip(out, 0, 255).astype(np.uint8)


class PairMixture:
    """Draw from `sources` with probabilities ∝ `weights`, retrying filtered-out pairs."""

    def __init__(self, sources, weights, max_tries: int = 50):
        if not sources or len(sources) != len(weights):
            raise ValueError('need one weight per source')
        self.sources = sources
        self.weights = np.asarray(weights, np.float64) / np.sum(weights)
        self.max_tries = max_tries
        self.rejected = 0

    def draw(self, rng) -> Sample:
        """A `Sample` from a source drawn by weight."""
        for _ in range(self.max_tries):
            source = self.sources[rng.choice(len(self.sources), p=self.weights)]
            drawn = source.draw(rng)
            if drawn is not None:
                return drawn
            self.rejected += 1
        raise RuntimeError(f'no valid training pair in {self.max_tries} tries')

    def sample(self, rng):
        """(z, x, target) from a source drawn by weight."""
        return tuple(self.draw(rng)[:3])
