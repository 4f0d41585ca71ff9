"""Run a tracker over sequences (one-pass or VOT reset protocol), in parallel and resumably."""
import contextlib
import functools
import multiprocessing
import signal
import threading
import time
import warnings
from dataclasses import dataclass
from typing import Optional

import cv2
import numpy as np

from siam_tracker_ros.baselines import baseline_names, build_baseline
from siam_tracker_ros.datasets.textio import DatasetError
from siam_tracker_ros.evaluation.results import is_complete, result_paths, write_result
from siam_tracker_ros.evaluation.vot_metrics import (VOT_FAILURE, VOT_INIT, VOT_SKIP,
                                                    region_overlap)
from siam_tracker_ros.models.weights import resolve_weights
from siam_tracker_ros.build import build_tracker
from siam_tracker_ros.registry import UnknownTrackerError, tracker_names

VOT_SKIP_FRAMES = 5


@dataclass(frozen=True)
class RunSpec:
    """What to run and where its results go.

    Attributes:
        tracker: a registered tracker name or an OpenCV baseline ('csrt', 'kcf', ...).
        results_dir: root of the result files (see `results.result_paths`).
        protocol: 'ope', 'got10k' (both one pass from the first frame) or 'vot' (reset).
        one_based: write boxes 1-based (the dataset's own convention).
        weights: 'default' (shipped, when there are some), 'none' or a weights file.
        device: torch device for registry trackers.
    """

    tracker: str
    results_dir: str
    protocol: str = 'ope'
    one_based: bool = True
    weights: Optional[str] = 'default'
    device: str = 'cpu'


def tracker_choices() -> list:
    """Registered tracker names, then the OpenCV baselines."""
    return tracker_names() + baseline_names()


def make_tracker(name, weights='default', device='cpu'):
    """Build `name` from the registry first, then from the OpenCV baselines."""
    if name in tracker_names():
        return build_tracker(name, weights=resolve_weights(weights, name), device=device)
    if name in baseline_names():
        return build_baseline(name)
    raise UnknownTrackerError(f'unknown tracker {name!r}; known: {", ".join(tracker_choices())}')


def load_frame(path) -> np.ndarray:
    """Read one frame as HxWx3 uint8 RGB; DatasetError naming the file if it cannot be read."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise DatasetError(f'{path}: cannot read image (missing or corrupt frame)')
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _has_box(sequence, index) -> bool:
    box = sequence.boxes[index]
    return bool(np.isfinite(box).all() and box[2] > 0 and box[3] > 0)


def _first_box(sequence, index):
    if not _has_box(sequence, index):
        raise DatasetError(f'{sequence.name}: no valid ground-truth box at frame {index + 1} '
                           f'to initialise on')
    return tuple(float(v) for v in sequence.boxes[index])


def track_one_pass(tracker, sequence) -> tuple:
    """Init on frame 0 with its ground truth, then track every later frame.

    Returns:
        (trajectory: list of 4-tuples, times: per-frame seconds, frame 0 = init time).
    """
    box = _first_box(sequence, 0)
    start = time.perf_counter()
    tracker.init(load_frame(sequence.frames[0]), box)
    trajectory, times = [box], [time.perf_counter() - start]
    for path in sequence.frames[1:]:
        image = load_frame(path)
        start = time.perf_counter()
        result = tracker.track(image)
        times.append(time.perf_counter() - start)
        trajectory.append(tuple(float(v) for v in result.box))
    return trajectory, times


def track_reset(tracker, sequence, skip=VOT_SKIP_FRAMES) -> tuple:
    """VOT supervised protocol: a frame with zero overlap is a failure; re-init `skip` frames
    later on the ground truth (or on the next frame that has one). Overlap is against
    `sequence.polygons` when present.

    Returns:
        (trajectory with (1,) / (2,) / (0,) codes and 4-tuples, per-frame seconds).
    """
    regions = sequence.polygons if sequence.polygons is not None else sequence.boxes
    trajectory, times, index, initialise = [], [], 0, True
    while index < len(sequence):
        if initialise and not _has_box(sequence, index):
            trajectory.append((VOT_SKIP,))      # no ground truth to re-initialise on yet
            times.append(0.0)
            index += 1
            continue
        image = load_frame(sequence.frames[index])
        start = time.perf_counter()
        if initialise:
            tracker.init(image, _first_box(sequence, index))
            trajectory.append((VOT_INIT,))
            times.append(time.perf_counter() - start)
            index, initialise = index + 1, False
            continue
        box = tuple(float(v) for v in tracker.track(image).box)
        times.append(time.perf_counter() - start)
        bound = (image.shape[1], image.shape[0])
        if not region_overlap(box, regions[index], bound) <= 0:    # NaN: no ground truth
            trajectory.append(box)
            index += 1
            continue
        trajectory.append((VOT_FAILURE,))
        skipped = min(skip - 1, len(sequence) - index - 1)
        trajectory.extend([(VOT_SKIP,)] * skipped)
        times.extend([0.0] * skipped)
        index, initialise = index + 1 + skipped, True
    return trajectory, times


def run_sequence(spec: RunSpec, sequence) -> bool:
    """Run one sequence unless its complete result exists; True when it ran."""
    box_path, time_path = result_paths(spec.results_dir, spec.tracker, sequence.name,
                                       spec.protocol)
    if is_complete(box_path, len(sequence)):
        return False
    tracker = make_tracker(spec.tracker, spec.weights, spec.device)
    run = track_reset if spec.protocol == 'vot' else track_one_pass
    trajectory, times = run(tracker, sequence)
    write_result(box_path, time_path, trajectory, times, spec.one_based)
    return True


def _worker_init():
    """One OpenCV / torch thread per worker; no repeat of build warnings (e.g. no CUDA) the
    parent already showed."""
    warnings.simplefilter('ignore', UserWarning)
    cv2.setNumThreads(1)
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        pass


@contextlib.contextmanager
def _sigint_ignored():
    """Ignore SIGINT while the pool's workers are spawned, so they start with it ignored.

    Ctrl-C reaches the whole process group and is the parent's to handle (it terminates the
    pool). A worker that set SIG_IGN itself, in the pool's initializer, would still take a
    Ctrl-C during its seconds of importing torch and print a KeyboardInterrupt traceback; an
    ignored signal stays ignored across exec and Python keeps it so. (A signal mask cannot do
    this: starting multiprocessing's resource tracker unblocks SIGINT.) A Ctrl-C within the
    few milliseconds of spawning is lost. Off the main thread (no signal handling there) it
    does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _run_counted(spec, sequence) -> int:
    """Run one sequence in a worker; its frame count (for the progress bar)."""
    run_sequence(spec, sequence)
    return len(sequence)


def run_dataset(spec: RunSpec, sequences, workers=2, progress=True) -> int:
    """Run every sequence (skipping completed ones); returns how many ran.

    With `workers` > 1 sequences run in that many spawned processes, each limited to one
    OpenCV / torch thread; the first error or a Ctrl-C terminates every worker at once, so no
    pending sequence starts. With 1 they run in this process. Progress is a tqdm bar in frames.
    """
    from tqdm import tqdm
    todo = [s for s in sequences if not is_complete(
        result_paths(spec.results_dir, spec.tracker, s.name, spec.protocol)[0], len(s))]
    bar = tqdm(total=sum(len(s) for s in todo), unit='frame', disable=not progress,
               desc=f'{spec.tracker} [{spec.protocol}]', leave=False)
    with bar:
        if workers <= 1 or len(todo) <= 1:
            for sequence in todo:
                run_sequence(spec, sequence)
                bar.update(len(sequence))
            return len(todo)
        with _sigint_ignored():
            pool = multiprocessing.get_context('spawn').Pool(min(workers, len(todo)),
                                                             initializer=_worker_init)
        try:
            for frames in pool.imap_unordered(functools.partial(_run_counted, spec), todo):
                bar.update(frames)
        finally:   # all done, or an error / Ctrl-C here: no worker is needed any more
            pool.terminate()
            pool.join()
    return len(todo)
