"""Training pair sources: tracking datasets and synthetic clips (still photos: `data/stills.py`).

Each source has `draw(rng)` → `Sample(z, x, target, record)` or None when the drawn pair fails
the sample filter, and `sample(rng)` → (z uint8 127², x uint8 S², target) or None, where
target = (cx, cy, w, h) is the target box in search-crop pixels. `PairMixture` retries and mixes
sources by weight. The `SampleRecord` says what was generated (look-alikes, target side, camera).
"""
import numpy as np

from siam_tracker_ros.data.augment import AugmentConfig, IMAGENET_EIGVAL, IMAGENET_EIGVEC, \
    crop_pair
from siam_tracker_ros.data.media import SkipCounter, read_rgb
from siam_tracker_ros.data.records import PairSource, Sample, floats, make_record
from siam_tracker_ros.data.synthetic import SceneConfig, SyntheticScene

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
                      make_record('sequence', box_z, box_x, window, frames=(t_z, t_x)))


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
        record = make_record('synthetic', box_z, box_x, window,
                             target_category=scene.target.category,
                             lookalikes=tuple(window.box(b) for b in lookalikes),
                             lookalike_categories=kinds,
                             camera_shift=floats(scene.background_shift(t_z, t_x)),
                             camera_blur=scene.camera_blur(t_x), frames=(t_z, t_x))
        return Sample(z, x, window.box(box_x), record)


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
