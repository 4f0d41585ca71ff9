"""`siam-track bench`: per-frame time split into crop / network / decode, per execution path."""
import statistics
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import torch

from siam_tracker_ros.cli.common import USER_ERRORS, fail
from siam_tracker_ros.models.weights import resolve_weights
from siam_tracker_ros.config import config_dir, read_section
from siam_tracker_ros.frames import FrameSource, first_groundtruth_box
from siam_tracker_ros.profiling import count_macs
from siam_tracker_ros.registry import build_tracker

CPU_PATHS = ('eager/fp32', 'fused/fp32', 'compiled/fp32', 'fused/bf16', 'compiled/bf16')
CUDA_PATHS = ('eager/fp32', 'fused/fp16')
DEFAULT_SEQUENCE = Path(__file__).resolve().parents[2].parent / 'shared/data/sot/otb_DragonBaby'


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser('bench', help='speed benchmark of the execution paths')
    parser.add_argument('--tracker', default='siamfc')
    parser.add_argument('--weights', default='default')
    parser.add_argument('--frames', type=int, default=40, help='timed frames per path')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--paths', help='comma list of backend/precision[@cuda], '
                        f'default: {",".join(CPU_PATHS)} (+ CUDA paths when present)')
    parser.add_argument('--sequence', default=str(DEFAULT_SEQUENCE),
                        help='OTB-layout folder whose frames are resized to 640x480')
    parser.add_argument('--agreement', nargs='?', const='bf16', metavar='PRECISION',
                        help='instead: max box difference of a path vs fused/fp32 per sequence')
    parser.set_defaults(func=run)


def default_paths() -> list:
    paths = list(CPU_PATHS)
    if torch.cuda.is_available():
        paths += [f'{p}@cuda' for p in CUDA_PATHS]
    return paths


def parse_path(text: str) -> dict:
    spec, _, device = text.partition('@')
    backend, _, precision = spec.partition('/')
    return {'backend': backend, 'precision': precision or 'fp32', 'device': device or 'cpu'}


def load_frames(sequence, count: int, size=(640, 480)):
    """First count+1 frames of an OTB folder, resized, with the first box scaled to match."""
    source = FrameSource(sequence)
    frames, first = [], None
    for frame in source:
        first = first if first is not None else frame.shape
        frames.append(cv2.resize(frame, size, interpolation=cv2.INTER_AREA))
        if len(frames) > count:
            break
    x, y, w, h = first_groundtruth_box(sequence)
    sx, sy = size[0] / first[1], size[1] / first[0]
    return frames, (x * sx, y * sy, w * sx, h * sy)


def time_path(name, weights, path, frames, box):
    """Median seconds of crop, network, decode and total per tracked frame."""
    tracker = build_tracker(name, weights=weights, **path)
    tracker.init(frames[0], box)
    for frame in frames[1:4]:  # warm-up
        tracker.track(frame)
    tracker.init(frames[0], box)
    rows = []
    for frame in frames[1:]:
        tracker.track(frame)
        rows.append(dict(tracker.last_timing))
    return tracker, {k: statistics.median(r[k] for r in rows) for k in rows[0]}


def step_flops(tracker) -> float:
    cfg = tracker.config
    x = torch.zeros(cfg.scale_num, 3, cfg.instance_size, cfg.instance_size)
    return 2.0 * count_macs(tracker.net.backbone.cpu(), x)


def print_speed_table(args, weights) -> None:
    torch.set_num_threads(args.threads)
    frames, box = load_frames(args.sequence, args.frames)
    print(f'{args.tracker}, 640x480, {args.threads} threads, {args.frames} frames, '
          f'weights: {weights or "random"}')
    print('| path | device | crop ms | network ms | decode ms | total ms | fps | GFLOP/s |')
    print('|---|---|---|---|---|---|---|---|')
    flops = None
    for text in (args.paths.split(',') if args.paths else default_paths()):
        tracker, t = time_path(args.tracker, weights, parse_path(text), frames, box)
        flops = flops or step_flops(build_tracker(args.tracker, weights=weights))
        print(f'| {text.split("@")[0]} | {tracker.device} | {t["crop"] * 1e3:.1f} | '
              f'{t["network"] * 1e3:.1f} | {t["decode"] * 1e3:.1f} | {t["total"] * 1e3:.1f} | '
              f'{1 / t["total"]:.1f} | {flops / t["network"] / 1e9:.0f} |', flush=True)
    print(f'network FLOP per step: {flops / 1e9:.1f} G')


def print_agreement_table(args, weights) -> None:
    """Box difference of a path vs fused/fp32: per step (same state in) and over whole runs."""
    torch.set_num_threads(args.threads)
    root = Path(args.sequence).parent
    names = (root / 'list.txt').read_text().split()
    other = parse_path(args.agreement if '/' in args.agreement else f'fused/{args.agreement}')
    print(f'|box difference| px, {other["backend"]}/{other["precision"]} vs fused/fp32, '
          f'{args.tracker}, weights: {weights or "random"}')
    print('per step: both paths step from the fp32 state; whole run: each follows its own boxes')
    print('| sequence | frames | per-step max px | per-step frames > 1 px | '
          'whole-run max px | whole-run mean px |')
    print('|---|---|---|---|---|---|')
    for name in names:
        step, run_a, run_b = compare_paths(args.tracker, weights, other, root / name)
        run_diff = np.abs(run_a - run_b).max(axis=1)
        print(f'| {name} | {len(step)} | {step.max():.2f} | {int((step > 1).sum())} | '
              f'{run_diff.max():.2f} | {run_diff.mean():.2f} |', flush=True)


def compare_paths(name, weights, other, sequence):
    """(per-step max differences, fp32 run boxes, other-path run boxes) on one sequence."""
    reference = build_tracker(name, weights=weights, **parse_path('fused/fp32'))
    stepper = build_tracker(name, weights=weights, **other)
    free = build_tracker(name, weights=weights, **other)
    frames = iter(FrameSource(sequence))
    first, box = next(frames), first_groundtruth_box(sequence)
    for tracker in (reference, stepper, free):
        tracker.init(first, box)
    steps, run_a, run_b = [], [], []
    for frame in frames:
        stepper.state = replace(reference.state, center=reference.state.center.copy(),
                                size=reference.state.size.copy(),
                                template=stepper.state.template)
        run_a.append(reference.track(frame).box)
        steps.append(np.abs(np.subtract(run_a[-1], stepper.track(frame).box)).max())
        run_b.append(free.track(frame).box)
    return np.array(steps), np.array(run_a), np.array(run_b)


def run(args) -> int:
    try:
        weights = resolve_weights(args.weights, args.tracker)
        read_section(config_dir() / f'{args.tracker}.yaml', args.tracker)
        if args.agreement:
            print_agreement_table(args, weights)
        else:
            print_speed_table(args, weights)
    except USER_ERRORS as err:
        return fail(str(err))
    return 0
