"""The cost of each extra target: several targets on the same real frames, their search crops in
one network batch (`track_many`) against one target at a time, per tracked frame.

    python benchmarks/multi_target.py [--tracker siamfc] [--targets 1,2,4,8] [--frames 30]
        [--threads 1] [--sequence ../shared/data/sot/otb_DragonBaby]

Targets: the sequence's first ground-truth box and copies of it moved across the frame. Both
ways run on each frame in turn (their times share the machine's load); the table gives medians
in ms per frame. Paste the printed table into docs/ros.md with the CPU it names.
"""
import argparse
import platform
import statistics
import subprocess
import time
from pathlib import Path

import numpy as np
import torch

from siam_tracker_ros.build import build_tracker
from siam_tracker_ros.frames import FrameSource, first_groundtruth_box
from siam_tracker_ros.models.weights import resolve_weights

DEV_SET = Path(__file__).resolve().parents[1].parent / 'shared' / 'data' / 'sot'
OFFSETS = [(0, 0), (-120, 40), (140, -30), (-60, -60), (200, 60), (-200, 10), (80, 90),
           (-150, -80)]  # target k starts at the ground truth moved by OFFSETS[k] (pixels)


def cpu_name() -> str:
    """`lscpu`'s model name (the processor name where lscpu is missing)."""
    try:
        for line in subprocess.run(['lscpu'], capture_output=True, text=True).stdout.split('\n'):
            if line.startswith('Model name:'):
                return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown CPU'


def start_boxes(frame, box, count: int) -> list:
    """`count` boxes: `box` and copies moved by OFFSETS, kept inside the frame."""
    height, width = frame.shape[:2]
    x, y, w, h = box
    return [(float(np.clip(x + dx, 0, width - w)), float(np.clip(y + dy, 0, height - h)), w, h)
            for dx, dy in OFFSETS[:count]]


def time_targets(tracker, frames, boxes) -> tuple:
    """Median ms per frame (batched, one at a time) over `frames` for targets at `boxes`."""
    batched = [tracker.start_target(frames[0], box) for box in boxes]
    alone = [tracker.start_target(frames[0], box) for box in boxes]
    times = {'batched': [], 'alone': []}
    for frame in frames[1:]:
        start = time.perf_counter()
        tracker.track_many(frame, batched)
        times['batched'].append(time.perf_counter() - start)
        start = time.perf_counter()
        for target in alone:
            tracker.track_many(frame, [target])
        times['alone'].append(time.perf_counter() - start)
    return tuple(1e3 * statistics.median(times[k]) for k in ('batched', 'alone'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--tracker', default='siamfc')
    parser.add_argument('--weights', default='default')
    parser.add_argument('--targets', default='1,2,4,8')
    parser.add_argument('--frames', type=int, default=30)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--sequence', type=Path, default=DEV_SET / 'otb_DragonBaby')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    counts = [int(c) for c in args.targets.split(',')]
    if max(counts) > len(OFFSETS):
        parser.error(f'at most {len(OFFSETS)} targets')
    tracker = build_tracker(args.tracker, weights=resolve_weights(args.weights, args.tracker),
                            device='cpu')
    frames = [frame for _, frame in zip(range(args.frames + 1), FrameSource(args.sequence))]
    box = first_groundtruth_box(args.sequence)
    time_targets(tracker, frames[:3], start_boxes(frames[0], box, max(counts)))  # warm up
    print(f'{args.tracker} ({Path(tracker.weights_path or "random init").name}), '
          f'{tracker.device}, {args.threads} thread(s), {cpu_name()}; {args.sequence.name}, '
          f'{args.frames} frames, median ms per frame')
    print('| targets | one at a time | batched | batched, per extra target | speed-up |')
    print('|---|---|---|---|---|')
    first = None
    for count in counts:
        batched, alone = time_targets(tracker, frames, start_boxes(frames[0], box, count))
        first = batched if first is None else first
        extra = f'{(batched - first) / (count - 1):.1f}' if count > 1 else '-'
        print(f'| {count} | {alone:.1f} | {batched:.1f} | {extra} | {alone / batched:.2f}x |')


if __name__ == '__main__':
    main()
