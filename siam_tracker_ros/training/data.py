"""Build the training pair mixture from a `DataConfig` and draw batches."""
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


def draw_pairs(mixture: PairMixture, rng, size: int):
    """`size` pairs as uint8 crops z (N×127×127×3) and x (N×X×X×3) and an (N, 4) array of
    target boxes (cx, cy, w, h) in search-crop pixels (for objectives that change pixels)."""
    pairs = [mixture.sample(rng) for _ in range(size)]
    z = np.stack([p[0] for p in pairs])
    x = np.stack([p[1] for p in pairs])
    return z, x, np.array([p[2] for p in pairs], np.float64)


def draw_batch(mixture: PairMixture, rng, size: int, input_format, device):
    """`size` pairs as (z, x) input tensors and an (N, 4) array of target boxes
    (cx, cy, w, h) in search-crop pixels."""
    z, x, targets = draw_pairs(mixture, rng, size)
    return (to_input(z, device, torch.float32, input_format),
            to_input(x, device, torch.float32, input_format), targets)
