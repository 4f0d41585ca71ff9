"""`siam-track bench`: per-frame time split into the step's parts, per execution path; or the
agreement of a reduced-precision path with fp32 (per step and on whole dev-set runs)."""
import importlib.util
import statistics
from dataclasses import fields, replace
from pathlib import Path

import cv2
import numpy as np
import torch

from siam_tracker_ros.build import build_tracker
from siam_tracker_ros.cli.common import USER_ERRORS, fail, positive_int, weights_for
from siam_tracker_ros.config import default_tracker
from siam_tracker_ros.datasets.otb import read_otb
from siam_tracker_ros.evaluation.metrics import auc, rect_iou, success_curve
from siam_tracker_ros.evaluation.runner import load_frame
from siam_tracker_ros.frames import FrameSource, first_groundtruth_box
from siam_tracker_ros.runtime import ExecutionPath, resolve_device

CPU_PATHS = ('eager/fp32', 'fused/fp32', 'compiled/fp32', 'fused/bf16', 'compiled/bf16')
CUDA_PATHS = ('eager/fp32', 'fused/fp32', 'compiled/fp32', 'graphs/fp32', 'fused/fp16',
              'compiled/fp16', 'graphs/fp16', 'fused/bf16')
PARTS = ('crop', 'network', 'decode', 'update', 'after_step')
DEFAULT_SEQUENCE = Path(__file__).resolve().parents[2].parent / 'shared/data/sot/otb_DragonBaby'


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser('bench', help='speed benchmark of the execution paths')
    parser.add_argument('--tracker', default=default_tracker())
    parser.add_argument('--weights', default='default')
    parser.add_argument('--config', default=None,
                        help="a YAML file with the tracker's settings instead of "
                        'config/<tracker>.yaml (e.g. another trunk)')
    parser.add_argument('--frames', type=positive_int, default=40,
                        help='timed frames per path (at most the sequence\'s frames after the '
                             'first)')
    parser.add_argument('--threads', type=positive_int, default=2)
    parser.add_argument('--paths', help='comma list of backend/precision[:host|:device][@cuda] '
                        '(step: auto = device on cuda, host on cpu), '
                        f'default: {",".join(CPU_PATHS)} (+ onnx/fp32 when onnxruntime is '
                        'installed, + the CUDA paths when CUDA is present)')
    parser.add_argument('--sequence', default=str(DEFAULT_SEQUENCE),
                        help='OTB-layout folder whose frames are resized to 640x480')
    parser.add_argument('--agreement', nargs='?', const='bf16', metavar='PATH',
                        help='instead of timing: a precision (default bf16) or backend/precision'
                             '[@cuda] path vs fused/fp32 on whole sequences, at full size, of '
                             'every OTB-layout sequence in the folder that holds --sequence '
                             '(the dev set); --frames and --paths are not used')
    parser.set_defaults(func=run)


def default_paths() -> list:
    paths = list(CPU_PATHS)
    if importlib.util.find_spec('onnxruntime'):  # the onnx backend (docs/export.md)
        paths.append('onnx/fp32')
    if torch.cuda.is_available():
        paths += [f'{p}@cuda' for p in CUDA_PATHS]
    return paths


def parse_path(text: str) -> dict:
    """'backend/precision[:step][@device]' (e.g. 'fused/fp16@cuda', 'fused/fp32:host@cuda',
    'fused/fp32:device') as build_tracker options."""
    spec, _, device = text.partition('@')
    spec, _, step = spec.partition(':')
    backend, _, precision = spec.partition('/')
    return {'backend': backend, 'precision': precision or 'fp32', 'device': device or 'cpu',
            'step': step or 'auto'}


def checked_path(text: str) -> dict:
    """`parse_path(text)`, checked as build_tracker would (ValueError naming `text`)."""
    path = parse_path(text)
    try:
        ExecutionPath(resolve_device(path['device']), path['backend'], path['precision'],
                      path['step'])
    except ValueError as err:
        raise ValueError(f'path {text!r}: {err}') from None
    return path


def timed_paths(paths) -> list:
    """The --paths specs (default: `default_paths()`), all checked before any is timed."""
    texts = [t.strip() for t in paths.split(',') if t.strip()] if paths else default_paths()
    if not texts:
        raise ValueError('--paths names no path')
    for text in texts:
        checked_path(text)
    return texts


def load_frames(sequence, count: int, size=(640, 480)):
    """First count+1 frames of an OTB folder (fewer if it has fewer, but at least 2),
    resized, with the first box scaled to match."""
    source = FrameSource(sequence)
    frames, first = [], None
    for frame in source:
        first = first if first is not None else frame.shape
        frames.append(cv2.resize(frame, size, interpolation=cv2.INTER_AREA))
        if len(frames) > count:
            break
    if len(frames) < 2:
        raise ValueError(f'{sequence}: {len(frames)} frame(s); timing needs at least 2')
    x, y, w, h = first_groundtruth_box(sequence)
    sx, sy = size[0] / first[1], size[1] / first[0]
    return frames, (x * sx, y * sy, w * sx, h * sy)


def time_path(name, weights, path, frames, box, config_path=None):
    """Median seconds of each timed part per tracked frame, and the mean total ('mean')."""
    tracker = build_tracker(name, weights=weights, config_path=config_path, **path)
    tracker.init(frames[0], box)
    for frame in frames[1:4]:  # warm-up
        tracker.track(frame)
    tracker.init(frames[0], box)
    rows = []
    for frame in frames[1:]:
        tracker.track(frame)
        rows.append(dict(tracker.last_timing))
    medians = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    return tracker, dict(medians, mean=statistics.mean(r['total'] for r in rows))


def print_speed_table(args, weights) -> None:
    torch.set_num_threads(args.threads)
    paths = timed_paths(args.paths)
    frames, box = load_frames(args.sequence, args.frames)
    print(f'{args.tracker}, 640x480, {args.threads} threads, {len(frames) - 1} frames, '
          f'weights: {weights or "random"}' + (f', config: {args.config}' if args.config else ''))
    print('medians per frame in ms; fps = 1 / mean total')
    print('| path | device | step | ' + ' | '.join(PARTS) + ' | total | fps | GFLOP/s |')
    print('|---|---|---|' + '---|' * (len(PARTS) + 3))
    flops = None
    for text in paths:
        tracker, t = time_path(args.tracker, weights, parse_path(text), frames, box,
                               args.config)
        if flops is None:
            tracker.init(frames[0], box)
            flops = 2.0 * tracker.frame_macs(frames[1])
        parts = ' | '.join(f'{t.get(p, 0.0) * 1e3:.1f}' for p in PARTS)
        step = 'device' if tracker.on_device else 'host'
        print(f'| {text.split("@")[0]} | {tracker.device} | {step} | {parts} | '
              f'{t["total"] * 1e3:.1f} | '
              f'{1 / t["mean"]:.1f} | {flops / t["network"] / 1e9:.0f} |', flush=True)
    print(f'network FLOP per frame: {flops / 1e9:.1f} G')


def print_agreement_table(args, weights) -> None:
    """A path vs fused/fp32: box difference per step (same state in), and each path's own
    whole-run success AUC against the ground truth."""
    torch.set_num_threads(args.threads)
    other = checked_path(args.agreement if '/' in args.agreement else f'fused/{args.agreement}')
    sequences = read_otb(Path(args.sequence).parent)
    print(f'{other["backend"]}/{other["precision"]} vs fused/fp32, {args.tracker}, '
          f'weights: {weights or "random"}')
    print('per step: both paths step from the fp32 state; AUC: each path follows its own boxes')
    print('| sequence | frames | per-step max px | per-step frames > 1.5 px | fp32 AUC | '
          'AUC |')
    print('|---|---|---|---|---|---|')
    aucs = []
    for sequence in sequences:
        step, run_a, run_b = compare_paths(args.tracker, weights, other,
                                           (load_frame(f) for f in sequence.frames),
                                           tuple(sequence.boxes[0]), config_path=args.config)
        pair = [auc(success_curve(rect_iou(run, sequence.boxes))) for run in (run_a, run_b)]
        aucs.append(pair)
        print(f'| {sequence.name} | {len(step)} | {step.max():.2f} | {int((step > 1.5).sum())} '
              f'| {pair[0]:.3f} | {pair[1]:.3f} |', flush=True)
    mean = np.mean(aucs, axis=0)
    print(f'| **mean** | | | | {mean[0]:.3f} | {mean[1]:.3f} |')


def compare_paths(name, weights, other: dict, frames, box, reference: str = 'fused/fp32',
                  config_path=None):
    """(per-step max differences, reference run boxes, other-path run boxes) over `frames`,
    the first of which is the init frame (its box is the first row of both runs).

    Per step, the other path steps from a copy of the reference state (keeping its own
    template kernel); the free run follows its own boxes.
    """
    ref, stepper, free = (build_tracker(name, weights=weights, config_path=config_path, **path)
                          for path in (parse_path(reference), other, other))
    frames = iter(frames)
    first = next(frames)
    for tracker in (ref, stepper, free):
        tracker.init(first, box)
    steps, run_a, run_b = [], [box], [box]
    for frame in frames:
        stepper.state = copied_state(ref.state, kernel=stepper.state.kernel)
        run_a.append(ref.track(frame).box)
        steps.append(np.abs(np.subtract(run_a[-1], stepper.track(frame).box)).max())
        run_b.append(free.track(frame).box)
    return np.array(steps), np.array(run_a), np.array(run_b)


def copied_state(state, **changes):
    """A copy of a tracker's state dataclass (numpy arrays copied) with `changes` applied."""
    arrays = {f.name: getattr(state, f.name).copy() for f in fields(state)
              if isinstance(getattr(state, f.name), np.ndarray)}
    return replace(state, **{**arrays, **changes})


def run(args) -> int:
    try:
        weights = weights_for(args.weights, args.tracker)
        # the weights and config as every path will load them, before the table starts
        build_tracker(args.tracker, weights=weights, config_path=args.config, backend='eager')
        if args.agreement:
            print_agreement_table(args, weights)
        else:
            print_speed_table(args, weights)
    except USER_ERRORS as err:
        return fail(str(err))
    return 0
