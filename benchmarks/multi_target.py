"""The cost of each extra target: several targets on the same real frames, their search crops in
one network batch (`track_many`, the node's `targets_per_batch: 0`) against one target at a
time (`targets_per_batch: 1`), per tracked frame.

    python benchmarks/multi_target.py [--tracker siamfc] [--targets 1,2,4,8] [--frames 30]
        [--threads 1] [--sequence ../shared/data/sot/otb_DragonBaby]

Targets: the sequence's first ground-truth box and copies of it moved across the frame. Both
ways run on each frame, in alternating order (their times share the machine's load); the
table gives medians in ms per frame. Paste the printed table into docs/ros.md with the CPU it names.
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
           (-150, -80), (40, -90), (-40, 90), (160, 20), (-100, -20), (110, 70), (-180, 60),
           (60, -40), (-70, 30)]  # target k starts at the ground truth moved by OFFSETS[k] (px)


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
    calls = {'batched': lambda frame: tracker.track_many(frame, batched),
             'alone': lambda frame: [tracker.track_many(frame, [t]) for t in alone]}
    times = {'batched': [], 'alone': []}
    for index, frame in enumerate(frames[1:]):
        for way in sorted(calls, reverse=index % 2 == 1):  # alternate which goes first
            start = time.perf_counter()
            calls[way](frame)
            times[way].append(time.perf_counter() - start)
    return tuple(1e3 * statistics.median(times[k]) for k in ('batched', 'alone'))


def search_per_crop(tracker, frame, box, sizes=(3, 6, 12, 24), repeats=4) -> dict:
    """Median ms per crop of the search branch alone, 24 real search crops run in batches of
    each size (alternating sizes, so they share the machine's load)."""
    target = tracker.start_target(frame, box)
    with tracker.holding(target):
        crops = np.concatenate([tracker.search_crops(frame)] * (max(sizes) // 3))
    runner, times = tracker.runner(), {size: [] for size in sizes}
    for _ in range(repeats):
        for size in sizes:
            start = time.perf_counter()
            for first in range(0, len(crops), size):
                runner.search(crops[first:first + size])
            times[size].append((time.perf_counter() - start) / len(crops))
    return {size: 1e3 * statistics.median(t) for size, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--tracker', default='siamfc')
    parser.add_argument('--weights', default='default')
    parser.add_argument('--targets', default='1,2,4,8')
    parser.add_argument('--frames', type=int, default=30)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--device', default='cpu', help='cpu or cuda (e.g. --targets 1,4,16)')
    parser.add_argument('--sequence', type=Path, default=DEV_SET / 'otb_DragonBaby')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    counts = [int(c) for c in args.targets.split(',')]
    if max(counts) > len(OFFSETS):
        parser.error(f'at most {len(OFFSETS)} targets')
    tracker = build_tracker(args.tracker, weights=resolve_weights(args.weights, args.tracker),
                            device=args.device)
    frames = [frame for _, frame in zip(range(args.frames + 1), FrameSource(args.sequence))]
    box = first_groundtruth_box(args.sequence)
    time_targets(tracker, frames[:3], start_boxes(frames[0], box, max(counts)))  # warm up
    print(f'{args.tracker} ({Path(tracker.weights_path or "random init").name}), '
          f'{tracker.device}, {args.threads} thread(s), {cpu_name()}; {args.sequence.name}, '
          f'{args.frames} frames, median ms per frame')
    print('| targets | one at a time | one batch | extra target, one at a time | '
          'extra target, one batch | one batch / one at a time |')
    print('|---|---|---|---|---|---|')
    single = None
    for count in counts:
        batched, alone = time_targets(tracker, frames, start_boxes(frames[0], box, count))
        single = single or (batched, alone)
        extra = [f'{(t - t1) / (count - 1):.1f}' if count > 1 else '-'
                 for t, t1 in zip((alone, batched), single[::-1])]
        print(f'| {count} | {alone:.1f} | {batched:.1f} | {extra[0]} | {extra[1]} | '
              f'{batched / alone:.2f} |')
    per_crop = search_per_crop(tracker, frames[0], box)
    print('\nsearch branch alone, ms per crop: ' + ', '.join(
        f'{ms:.1f} in batches of {size}' for size, ms in per_crop.items()))

if __name__ == '__main__':
    main()
