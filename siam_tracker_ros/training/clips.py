"""Training clips: runs of consecutive frames with the target's boxes, for clip objectives
(DSiam's BPTT, spec §3), drawn from the same sources as the training pairs.

A synthetic source renders `length` consecutive frames of a new random scene; a dataset source
takes `length` consecutive annotated frames of one of its videos. Every box passes the sample
filter of spec §1.6 (visible, 20–500 px, ≤ 50 % of each image side, aspect ¼–4), which also
keeps the target area ≤ 25 % of the frame (spec §3 keeps videos of median ratio ≤ 0.25).
Still photos give no clips.
"""
import numpy as np

from siam_tracker_ros.data.media import read_rgb
from siam_tracker_ros.data.sources import SequencePairSource, SyntheticPairSource, box_ok
from siam_tracker_ros.data.synthetic import SyntheticScene


class NoClipSourceError(ValueError):
    """A training mixture without a source that gives clips."""


def clip_sources(mixture) -> tuple:
    """(sources, probabilities) of the mixture's sources that give clips, by their weights."""
    pairs = [(s, w) for s, w in zip(mixture.sources, mixture.weights)
             if isinstance(s, (SyntheticPairSource, SequencePairSource))]
    if not pairs:
        raise NoClipSourceError('clip training needs data.synthetic or data.datasets; still '
                                'photos give no clips')
    weights = np.array([w for _, w in pairs], np.float64)
    return tuple(s for s, _ in pairs), weights / weights.sum()


def draw_clip(mixture, rng, length: int):
    """`length` RGB frames (list of H×W×3 uint8) and their (length, 4) `xywh` boxes, from a
    clip source of `mixture` drawn by weight; retries filtered-out clips."""
    if length < 2:
        raise ValueError(f'a clip needs at least 2 frames, got {length}')
    sources, probabilities = clip_sources(mixture)
    for _ in range(mixture.max_tries):
        source = sources[rng.choice(len(sources), p=probabilities)]
        if isinstance(source, SyntheticPairSource):
            clip = synthetic_clip(source, rng, length)
        else:
            clip = sequence_clip(source, rng, length)
        if clip is not None:
            return clip
        mixture.rejected += 1
    raise RuntimeError(f'no valid {length}-frame training clip in {mixture.max_tries} tries')


def synthetic_clip(source: SyntheticPairSource, rng, length: int):
    """Frames t0 … t0+length−1 of a new random scene, or None when a box fails the filter."""
    scene = SyntheticScene(source.cutouts, source.backgrounds, rng, source.scene)
    start = int(rng.integers(0, source.frame_range))
    scene.focus_on(start + length // 2)
    frames, boxes = [], []
    for t in range(start, start + length):
        frame, box = scene.render(t)
        if not box_ok(box, frame.shape, source.min_side):
            return None
        frames.append(frame)
        boxes.append(box)
    return frames, np.asarray(boxes, np.float64)


def sequence_clip(source: SequencePairSource, rng, length: int):
    """`length` consecutive annotated frames of one video, or None when none fit."""
    seq = source.sequences[rng.integers(len(source.sequences))]
    valid = np.isfinite(seq.boxes).all(axis=1)
    if seq.absent is not None:
        valid &= ~np.asarray(seq.absent, bool)
    if len(valid) < length:
        return None
    runs = np.convolve(valid.astype(int), np.ones(length, int), mode='valid') == length
    starts = np.flatnonzero(runs)
    if len(starts) == 0:
        return None
    start = int(rng.choice(starts))
    frames = []
    for index in range(start, start + length):
        image = read_rgb(seq.frames[index], source.skipped, max_side=100000)
        if image is None or not box_ok(seq.boxes[index], image.shape, source.min_side):
            return None
        frames.append(image)
    return frames, np.asarray(seq.boxes[start:start + length], np.float64)
