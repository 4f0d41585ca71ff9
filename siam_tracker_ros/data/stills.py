"""Still-photo pairs: a box in a real photo and the photo under a known warp, with optional
hard negatives (patches of the same photo around the target, a target that stays while the
photo moves)."""
from dataclasses import dataclass

import cv2
import numpy as np

from siam_tracker_ros.data.augment import AugmentConfig, crop_pair
from siam_tracker_ros.data.records import PairSource, Sample, floats, make_record
from siam_tracker_ros.data.sources import PCA, box_ok
from siam_tracker_ros.data.synthetic import ring_offset
from siam_tracker_ros.ops.crop import template_side


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
        moved = matrix[:, :2] @ _centre(box_z) + matrix[:, 2] - _centre(box_z)
        record = make_record('still', box_z, box_x, window, target_category=kind,
                             lookalikes=tuple(window.box(b) for b in lookalikes),
                             lookalike_categories=(kind,) * len(lookalikes),
                             camera_shift=floats(moved))
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
