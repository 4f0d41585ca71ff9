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

CPU_PATHS = ('eager/fp32', 'fused/fp32', 'compiled/fp32', 'fused/bf16', 'compiled/bf16',
             'fused/bf16-checked')
CUDA_PATHS = ('eager/fp32', 'fused/fp32', 'compiled/fp32', 'fused/fp16', 'compiled/fp16',
              'fused/bf16', 'fused/fp16-checked')
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
    """Median seconds of each timed part per tracked frame, and the mean total ('mean')."""
    tracker = build_tracker(name, weights=weights, **path)
    tracker.init(frames[0], box)
    for frame in frames[1:4]:  # warm-up
        tracker.track(frame)
    tracker.init(frames[0], box)
    tracker.redone_maps = 0
    rows = []
    for frame in frames[1:]:
        tracker.track(frame)
        rows.append(dict(tracker.last_timing))
    medians = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    return tracker, dict(medians, mean=statistics.mean(r['total'] for r in rows))


def step_flops(tracker) -> float:
    cfg = tracker.config
    x = torch.zeros(cfg.scale_num, 3, cfg.instance_size, cfg.instance_size)
    return 2.0 * count_macs(tracker.net.backbone.cpu(), x)


def print_speed_table(args, weights) -> None:
    torch.set_num_threads(args.threads)
    frames, box = load_frames(args.sequence, args.frames)
    print(f'{args.tracker}, 640x480, {args.threads} threads, {args.frames} frames, '
          f'weights: {weights or "random"}')
    print('medians per frame; fps = 1 / mean total (counts the frames a checked path redoes)')
    print('| path | device | crop ms | network ms | decode ms | total ms | fps | GFLOP/s |')
    print('|---|---|---|---|---|---|---|---|')
    flops, notes = None, []
    for text in (args.paths.split(',') if args.paths else default_paths()):
        tracker, t = time_path(args.tracker, weights, parse_path(text), frames, box)
        flops = flops or step_flops(build_tracker(args.tracker, weights=weights))
        print(f'| {text.split("@")[0]} | {tracker.device} | {t["crop"] * 1e3:.1f} | '
              f'{t["network"] * 1e3:.1f} | {t["decode"] * 1e3:.1f} | {t["total"] * 1e3:.1f} | '
              f'{1 / t["mean"]:.1f} | {flops / t["network"] / 1e9:.0f} |', flush=True)
        if tracker.checked:
            maps = tracker.config.scale_num * (len(frames) - 1)
            notes.append(f'{text}: total includes the check and fp32 redo (median '
                         f'{t["check"] * 1e3:.1f} ms) and {tracker.redone_maps} of {maps} maps '
                         'redone in fp32')
    print(f'network FLOP per step: {flops / 1e9:.1f} G')
    for note in notes:
        print(note)


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
          'whole-run max px | whole-run mean px | whole-run maps redone in fp32 |')
    print('|---|---|---|---|---|---|---|')
    for name in names:
        sequence = root / name
        step, run_a, run_b, redone = compare_paths(args.tracker, weights, other,
                                                   FrameSource(sequence),
                                                   first_groundtruth_box(sequence))
        run_diff = np.abs(run_a - run_b).max(axis=1)
        print(f'| {name} | {len(step)} | {step.max():.2f} | {int((step > 1).sum())} | '
              f'{run_diff.max():.2f} | {run_diff.mean():.2f} | {redone} |', flush=True)


def compare_paths(name, weights, other: dict, frames, box, reference: str = 'fused/fp32'):
    """(per-step max differences, reference run boxes, other-path run boxes, response maps
    the other path's run redid in fp32) over `frames`.

    Per step, the other path steps from a copy of the reference state; the free run follows
    its own boxes. `frames` is an iterable of RGB frames, the first one the init frame.
    """
    ref = build_tracker(name, weights=weights, **parse_path(reference))
    stepper = build_tracker(name, weights=weights, **other)
    free = build_tracker(name, weights=weights, **other)
    frames = iter(frames)
    first = next(frames)
    for tracker in (ref, stepper, free):
        tracker.init(first, box)
    steps, run_a, run_b = [], [], []
    for frame in frames:
        stepper.state = replace(ref.state, center=ref.state.center.copy(),
                                size=ref.state.size.copy(), template=stepper.state.template,
                                exact_template=stepper.state.exact_template)
        run_a.append(ref.track(frame).box)
        steps.append(np.abs(np.subtract(run_a[-1], stepper.track(frame).box)).max())
        run_b.append(free.track(frame).box)
    return np.array(steps), np.array(run_a), np.array(run_b), free.redone_maps


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
