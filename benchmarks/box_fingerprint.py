"""Fingerprint of a tracker's boxes on every dev sequence: one SHA-256 per sequence.

Two code versions that print the same fingerprints produce bit-identical boxes (fp32, CPU).
Used to show that a refactor changes no behaviour (docs/architecture.md):

    python benchmarks/box_fingerprint.py [--tracker siamfc] [--weights default] [--root DIR]
"""
import argparse
import hashlib
from pathlib import Path

import numpy as np
import torch

from siam_tracker_ros import build_tracker
from siam_tracker_ros.config import default_tracker
from siam_tracker_ros.frames import FrameSource, first_groundtruth_box
from siam_tracker_ros.models.weights import resolve_weights

DEV_SET = Path(__file__).resolve().parents[2] / 'shared' / 'data' / 'sot'


def sequence_boxes(tracker, folder: Path) -> np.ndarray:
    """Init on the first ground-truth box, track the rest; (N, 4) float64 boxes."""
    frames = iter(FrameSource(folder))
    box = first_groundtruth_box(folder)
    tracker.init(next(frames), box)
    return np.array([box] + [tracker.track(frame).box for frame in frames], np.float64)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--tracker', default=default_tracker())
    parser.add_argument('--weights', default='default')
    parser.add_argument('--root', default=str(DEV_SET))
    parser.add_argument('--threads', type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    root = Path(args.root)
    weights = resolve_weights(args.weights, args.tracker)
    tracker = build_tracker(args.tracker, weights=weights)
    print(f'{args.tracker}, weights {weights or "random"}, fp32 fused, CPU')
    print('| sequence | frames | sha256 of the boxes (first 16) |')
    print('|---|---|---|')
    for name in (root / 'list.txt').read_text().split():
        boxes = sequence_boxes(tracker, root / name)
        digest = hashlib.sha256(boxes.tobytes()).hexdigest()[:16]
        print(f'| {name} | {len(boxes)} | {digest} |', flush=True)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
