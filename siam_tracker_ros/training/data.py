"""Build the training pair mixture from a `DataConfig` and draw batches.

A batch is drawn from `BatchRngs`: one generator per sample, seeded by (seed, epoch, step,
sample index), so that sample k of a step is the same whatever process builds it (several
processes each build a share of the global batch, `training/distributed.py`).
"""
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from siam_tracker_ros.data.augment import rgb_pca
from siam_tracker_ros.data.media import SkipCounter, load_cutouts, load_images, \
    load_video_frames
from siam_tracker_ros.data.sources import PairMixture, SequencePairSource, SyntheticPairSource
from siam_tracker_ros.data.stills import StillPairSource
from siam_tracker_ros.runtime import to_input
from siam_tracker_ros.training.config import DataConfig, TrainConfigError


def read_dataset(spec) -> list:
    """Sequences of one `DatasetSpec`, via the shared readers in `siam_tracker_ros.datasets`."""
    root = Path(spec.root).expanduser()
    if not root.exists():
        raise TrainConfigError(f'dataset path not found: {root} (layout {spec.layout})')
    if spec.layout == 'ilsvrc_vid':
        from siam_tracker_ros.datasets.ilsvrc_vid import read_ilsvrc_vid
        return read_ilsvrc_vid(root, spec.split)
    if spec.layout == 'got10k':
        from siam_tracker_ros.datasets.got10k import read_got10k
        return read_got10k(root, spec.split)
    if spec.layout == 'lasot':
        from siam_tracker_ros.datasets.lasot import read_lasot
        return read_lasot(root)
    from siam_tracker_ros.datasets.otb import read_otb
    return read_otb(root)


def check_paths(config: DataConfig) -> None:
    """Fail early, naming the path, when a configured input is missing."""
    media = Path(config.cache_dir) / 'media'
    needed = []
    if config.synthetic:
        needed += [media / 'stamps', media / 'backgrounds']
    if config.stills:
        needed.append(media / 'backgrounds')
    for path in needed:
        if not path.is_dir():
            raise TrainConfigError(f'training media not found: {path} '
                                   '(run scripts/fetch_training_data.sh)')
    for spec in config.datasets:
        if not Path(spec.root).expanduser().exists():
            raise TrainConfigError(f'dataset path not found: {spec.root} (layout {spec.layout})')


def build_mixture(config: DataConfig, skipped: SkipCounter) -> PairMixture:
    """All configured sources with their weights; the colour PCA comes from their images."""
    check_paths(config)
    media = Path(config.cache_dir) / 'media'
    sources, weights = [], []
    backgrounds = []
    if config.synthetic or config.stills:
        backgrounds = load_images(media / 'backgrounds', skipped)
        videos = media / 'videos'
        frames = load_video_frames(videos, skipped) if videos.is_dir() else []
    pca = rgb_pca(backgrounds[:50])
    if config.synthetic:
        cutouts = load_cutouts(media / 'stamps', skipped)
        sources.append(SyntheticPairSource(cutouts, backgrounds + frames, config.augment,
                                           config.synthetic_frame_range, pca,
                                           config.synthetic_clips, config.min_target_side))
        weights.append(config.synthetic)
    if config.stills:
        sources.append(StillPairSource(backgrounds + frames[::4], config.augment, pca,
                                       config.still_pairs, config.min_target_side))
        weights.append(config.stills)
    for spec in config.datasets:
        sources.append(SequencePairSource(read_dataset(spec), config.augment,
                                          config.frame_range, pca, skipped,
                                          config.min_target_side))
        weights.append(spec.weight)
    if not sources:
        raise TrainConfigError('data: no source (set synthetic, stills or datasets)')
    return PairMixture(sources, weights)


SAMPLE_STREAM, SHARED_STREAM = 0, 1


@dataclass(frozen=True)
class BatchRngs:
    """The random streams of one step's batch, or of this process's share of it.

    samples: one generator per sample built here, seeded by (seed, epoch, step, index) for the
        sample's index in the global batch.
    shared: seeded by (seed, epoch, step), the same in every process: for choices made once
        for the whole batch (siam_gam's size pair, dsiam's clip).
    """

    samples: tuple
    shared: np.random.Generator


def batch_rngs(key, indices) -> BatchRngs:
    """`BatchRngs` of step `key` = (seed, epoch, step) for the global sample `indices`."""
    key = [int(part) for part in key]
    return BatchRngs(tuple(np.random.default_rng(key + [SAMPLE_STREAM, int(index)])
                           for index in indices),
                     np.random.default_rng(key + [SHARED_STREAM, 0]))


def draw_pairs(mixture: PairMixture, rngs: BatchRngs):
    """One pair per sample stream: uint8 crops z (N×127×127×3) and x (N×X×X×3) and an (N, 4)
    array of target boxes (cx, cy, w, h) in search-crop pixels (for objectives that change
    pixels)."""
    pairs = [mixture.sample(rng) for rng in rngs.samples]
    z = np.stack([p[0] for p in pairs])
    x = np.stack([p[1] for p in pairs])
    return z, x, np.array([p[2] for p in pairs], np.float64)


def draw_batch(mixture: PairMixture, rngs: BatchRngs, input_format, device):
    """One pair per sample stream as (z, x) input tensors and an (N, 4) array of target boxes
    (cx, cy, w, h) in search-crop pixels."""
    z, x, targets = draw_pairs(mixture, rngs)
    return (to_input(z, device, torch.float32, input_format),
            to_input(x, device, torch.float32, input_format), targets)
