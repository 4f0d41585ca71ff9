"""Training pair sources: tracking datasets, synthetic clips, and still photos.

Each source has `sample(rng)` → (z uint8 127², x uint8 S², (tx, ty)) or None when the drawn
pair fails the sample filter; `PairMixture` retries and mixes sources by weight.
"""
import cv2
import numpy as np

from siam_tracker_ros.data.augment import AugmentConfig, IMAGENET_EIGVAL, IMAGENET_EIGVEC, \
    make_pair
from siam_tracker_ros.data.media import SkipCounter, read_rgb
from siam_tracker_ros.data.synthetic import SyntheticScene

PCA = (IMAGENET_EIGVAL, IMAGENET_EIGVEC)


def box_ok(box, image_shape) -> bool:
    """Sample filter of spec §1.6 (visible, 20–500 px, 1–50 % of the frame, aspect ¼–4)."""
    if box is None or not np.all(np.isfinite(box)):
        return False
    _, _, w, h = box
    height, width = image_shape[:2]
    return (20 <= w <= 500 and 20 <= h <= 500 and 0.01 <= w / width <= 0.5
            and 0.01 <= h / height <= 0.5 and 0.25 <= w / h <= 4)


class SequencePairSource:
    """Pairs from annotated videos (`Sequence` objects), spec §1.6 sampling."""

    def __init__(self, sequences, aug: AugmentConfig, frame_range: int = 100, pca=PCA,
                 skipped: SkipCounter = None):
        self.sequences = [s for s in sequences if len(s) >= 2]
        if not self.sequences:
            raise ValueError('no sequence with at least two frames')
        self.aug, self.frame_range, self.pca = aug, frame_range, pca
        self.skipped = skipped or SkipCounter()

    def sample(self, rng):
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
        if not (box_ok(seq.boxes[t_z], image_z.shape) and box_ok(seq.boxes[t_x], image_x.shape)):
            return None
        return make_pair(image_z, seq.boxes[t_z], image_x, seq.boxes[t_x], rng, self.aug,
                         self.pca)


class SyntheticPairSource:
    """Pairs of frames of random synthetic clips (`SyntheticScene`)."""

    def __init__(self, cutouts, backgrounds, aug: AugmentConfig, frame_range: int = 30,
                 pca=PCA):
        if not cutouts or not backgrounds:
            raise ValueError('synthetic source needs cut-outs and backgrounds')
        self.cutouts, self.backgrounds = cutouts, backgrounds
        self.aug, self.frame_range, self.pca = aug, frame_range, pca

    def sample(self, rng):
        scene = SyntheticScene(self.cutouts, self.backgrounds, rng)
        t_z = int(rng.integers(0, self.frame_range))
        t_x = t_z + int(rng.integers(1, self.frame_range + 1)) * int(rng.choice([-1, 1]))
        image_z, box_z = scene.render(t_z)
        image_x, box_x = scene.render(t_x)
        if not (box_ok(box_z, image_z.shape) and box_ok(box_x, image_x.shape)):
            return None
        return make_pair(image_z, box_z, image_x, box_x, rng, self.aug, self.pca)


class StillPairSource:
    """Pairs cut from one photo and a geometrically/photometrically transformed copy."""

    def __init__(self, images, aug: AugmentConfig, pca=PCA):
        if not images:
            raise ValueError('still source needs images')
        self.images, self.aug, self.pca = images, aug, pca

    def sample(self, rng):
        image = self.images[rng.integers(len(self.images))]
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
        warped = _photometric(warped, rng)
        corners = np.array([[x, y], [x + w - 1, y], [x, y + h - 1], [x + w - 1, y + h - 1]])
        moved = corners @ matrix[:, :2].T + matrix[:, 2]
        lo, hi = moved.min(axis=0), moved.max(axis=0)
        box_x = (lo[0], lo[1], hi[0] - lo[0] + 1, hi[1] - lo[1] + 1)
        if not (box_ok(box_z, image.shape) and box_ok(box_x, warped.shape)):
            return None
        return make_pair(image, box_z, warped, box_x, rng, self.aug, self.pca)


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

    def sample(self, rng):
        for _ in range(self.max_tries):
            source = self.sources[rng.choice(len(self.sources), p=self.weights)]
            pair = source.sample(rng)
            if pair is not None:
                return pair
            self.rejected += 1
        raise RuntimeError(f'no valid training pair in {self.max_tries} tries')
