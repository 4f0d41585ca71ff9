"""The inference thread: init, catch-up and tracking of the newest frame (no ROS import).

Service callbacks hand jobs to this thread and wait for the answer, so they never run the
network themselves and stay responsive; only this thread calls the trackers. It owns the
targets (up to `max_targets`, by id): on each frame, the targets that share a tracker go through
it in one `track_many` call (one search batch where the tracker allows it).
"""
import threading
import time
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from siam_tracker_ros.ros.frames import Frame, FrameStore
from siam_tracker_ros.status import IDLE, LOST, TRACKING
from siam_tracker_ros.types import FrameSizeError

SHOWN_IDS = 8  # a refusal lists at most this many of the tracked ids


@dataclass
class InitJob:
    """Start tracking `box` (0-based xywh) on `frame` (already decoded as `image`) as target
    `target_id`: a new target, or the one of that id replaced. `error`: why it did not."""

    frame: Frame
    image: np.ndarray
    box: tuple
    tracker: object
    target_id: str
    error: str = ''
    caught_up: int = 0
    tracked: int = 0
    done: threading.Event = field(default_factory=threading.Event)


@dataclass
class RemoveJob:
    """Drop target `target_id`; `found` tells whether it was tracked."""

    target_id: str
    found: bool = False
    tracked: int = 0
    done: threading.Event = field(default_factory=threading.Event)


@dataclass
class ResetJob:
    """Drop every target; `was_tracking` tells whether there was one."""

    was_tracking: bool = False
    removed: int = 0
    done: threading.Event = field(default_factory=threading.Event)


@dataclass
class TrackedTarget:
    """One target of the worker: its tracker, the tracker's per-target state (`handle`, a
    `trackers.siamese.Target`), its state and the receipt number of the last frame it saw."""

    target_id: str
    tracker: object
    handle: object
    last_seq: int
    state: int = TRACKING
    tracked: int = 0


@dataclass(frozen=True)
class TargetOutput:
    """What one target got on one frame (box None: no detection, e.g. IDLE or a fault)."""

    target_id: str
    tracker_name: str
    box: Optional[tuple]
    score: float
    state: int
    frames_tracked: int


@dataclass(frozen=True)
class Processed:
    """One processed frame or one change of targets, as handed to the node's publish
    callback: a TargetOutput per target it concerns."""

    frame: Frame
    image: Optional[np.ndarray]
    targets: tuple
    dropped: int
    processing_ms: float = 0.0


class TrackingWorker:
    """Owns the targets and their trackers; runs in its own thread.

    Args:
        frames: the node's FrameStore.
        decode: message -> HxWx3 RGB uint8 (raises ValueError on bad input).
        publish: called with a Processed for every processed frame and every state change.
        report: called with (kind, text) for input errors (the node throttles the log).
        max_targets: targets tracked at once; with 1, an init of a new id replaces the target.
        targets_per_batch: most targets in one network batch (0: all of a tracker's targets).
    """

    def __init__(self, frames: FrameStore, decode, publish, report, max_targets: int = 1,
                 targets_per_batch: int = 0):
        self._frames, self._decode, self._publish, self._report = frames, decode, publish, report
        self._max_targets, self._targets_per_batch = max_targets, targets_per_batch
        self._jobs = []
        self._jobs_lock = threading.Lock()
        self._stopping = threading.Event()
        self._targets = {}
        self._thread = threading.Thread(target=self._run, name='siam_tracker_worker')

    def start(self):
        """Start the thread."""
        self._thread.start()

    def stop(self, timeout: float = 10.0):
        """Ask the thread to finish, join it, and answer the jobs it did not take."""
        self._stopping.set()
        self._frames.wake()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._cancel_pending()

    def submit(self, job, timeout: float):
        """Queue a job and wait for it; returns False if it did not finish in `timeout` s.
        A job submitted while stopping is answered at once (InitJob.error: shutting down)."""
        with self._jobs_lock:
            self._jobs.append(job)
        if self._stopping.is_set():
            self._cancel_pending()
        self._frames.wake()
        return job.done.wait(timeout)

    def _cancel_pending(self):
        """Answer every queued job without running it: the node is shutting down (otherwise
        the service threads waiting for them would hold up the exit for JOB_TIMEOUT_S)."""
        with self._jobs_lock:
            jobs, self._jobs = self._jobs, []
        for job in jobs:
            if isinstance(job, InitJob):
                job.error = 'init failed: the node is shutting down'
            job.done.set()

    def _next_job(self):
        with self._jobs_lock:
            return self._jobs.pop(0) if self._jobs else None

    def _run(self):
        while not self._stopping.is_set():
            job = self._next_job()
            if isinstance(job, InitJob):
                self._init(job)
            elif isinstance(job, RemoveJob):
                self._remove(job)
            elif isinstance(job, ResetJob):
                self._reset(job)
            else:
                frame, dropped = self._frames.take(timeout=0.05)
                if frame is not None and self._targets:
                    self._process(frame, dropped, list(self._targets.values()))
        self._frames.stop()

    def _init(self, job: InitJob):
        job.error = self._refusal(job.target_id) or self._single_target_refusal(job)
        if not job.error:
            try:
                handle = job.tracker.start_target(job.image, job.box)
            except Exception as err:  # noqa: BLE001  reported to the caller, the thread goes on
                job.error = f'init failed: {type(err).__name__}: {err}'
        if job.error:
            job.done.set()
            return
        if job.target_id not in self._targets and len(self._targets) >= self._max_targets:
            self._targets.clear()  # max_targets 1: the new target replaces the one tracked
        target = TrackedTarget(job.target_id, job.tracker, handle, job.frame.seq)
        self._targets[job.target_id] = target
        backlog = self._frames.start(job.frame)
        job.caught_up, job.tracked = len(backlog), len(self._targets)
        job.done.set()
        self._emit(job.frame, job.image, [self._output(target, job.box, 1.0)], 0)
        for frame in backlog:
            if self._stopping.is_set() or self._jobs:
                break
            self._process(frame, 0, [target])

    def _refusal(self, target_id: str) -> str:
        """Why a new target `target_id` cannot be added ('' when it can)."""
        if target_id in self._targets or self._max_targets == 1:
            return ''
        if len(self._targets) < self._max_targets:
            return ''
        ids = ', '.join(repr(i) for i in list(self._targets)[:SHOWN_IDS])
        more = ', ...' if len(self._targets) > SHOWN_IDS else ''
        return (f'init refused: {len(self._targets)} targets are tracked ({ids}{more}), '
                f'max_targets is {self._max_targets}; remove one (~/remove_target) or reuse '
                'its id to replace it')

    def _single_target_refusal(self, job: InitJob) -> str:
        """Why `job.tracker`, which holds one target, cannot take another ('' when it can)."""
        if getattr(job.tracker, 'several_targets', False) or self._max_targets == 1:
            return ''
        others = [t.target_id for t in self._targets.values()
                  if t.tracker is job.tracker and t.target_id != job.target_id]
        if not others:
            return ''
        return (f'init refused: tracker {job.tracker.name} follows one target at a time and '
                f'tracks {others[0]!r}; remove it (~/remove_target) or reuse its id')

    def _remove(self, job: RemoveJob):
        target = self._targets.pop(job.target_id, None)
        job.found, job.tracked = target is not None, len(self._targets)
        if target is not None:
            self._drop([target])
        job.done.set()

    def _reset(self, job: ResetJob):
        removed = list(self._targets.values())
        job.was_tracking, job.removed = bool(removed), len(removed)
        self._targets.clear()
        if removed:
            self._drop(removed)
        job.done.set()

    def _drop(self, removed: list):
        """Targets removed: an IDLE status each (with the header of the last image received);
        the frame store stops queueing frames when none is left."""
        if not self._targets:
            self._frames.stop()
        for target in removed:
            target.state = IDLE
        self._emit(self._frames.newest(), None, [self._output(t, None, 0.0) for t in removed], 0)

    def _process(self, frame: Frame, dropped: int, targets: list):
        """Track `targets` on `frame` (those that have not seen it yet) and publish."""
        targets = [t for t in targets if frame.seq > t.last_seq]
        if not targets:
            return
        start = time.perf_counter()
        try:
            image = self._decode(frame.msg)
        except ValueError as err:
            self._report('input', f'frame skipped: {err}')
            return
        for target in targets:
            target.last_seq = frame.seq
        outputs = []
        for batch in batches(targets, self._targets_per_batch):
            outputs += self._track(batch, image)
        if outputs:
            self._emit(frame, image, outputs, dropped, (time.perf_counter() - start) * 1e3)

    def _track(self, batch: list, image) -> list:
        """The outputs of one tracker's targets on `image`: LOST for all of them (a status
        without a detection) when the tracker raises; the following frames are tracked again,
        so a passing fault recovers."""
        tracker = batch[0].tracker
        try:
            results = tracker.track_many(image, [t.handle for t in batch])
        except FrameSizeError as err:   # the camera changed resolution: LOST until a new init
            self._report('size', f'{named(batch)} LOST until started again: {err}')
            return self._lost(batch)
        except ValueError as err:
            self._report('input', f'frame skipped: {err}')
            return []
        except Exception as err:  # noqa: BLE001  e.g. a CUDA error: log it, keep the thread
            self._report('track', f'tracker {tracker.name} failed on {named(batch)}, now LOST: '
                                  f'{type(err).__name__}: {err}')
            return self._lost(batch)
        outputs = []
        for target, result in zip(batch, results):
            target.state = result.state
            target.tracked += 1
            outputs.append(self._output(target, tuple(result.box), float(result.score)))
        return outputs

    def _lost(self, batch: list) -> list:
        """Every target of `batch` LOST, with a status and no detection."""
        for target in batch:
            target.state = LOST
        return [self._output(t, None, 0.0) for t in batch]

    @staticmethod
    def _output(target: TrackedTarget, box, score: float) -> TargetOutput:
        return TargetOutput(target.target_id, target.tracker.name, box, score, target.state,
                            target.tracked)

    def _emit(self, frame, image, outputs: list, dropped: int, processing_ms: float = 0.0):
        try:
            self._publish(Processed(frame, image, tuple(outputs), dropped, processing_ms))
        except Exception as err:  # noqa: BLE001  a publish error must not kill the thread
            self._report('publish', f'publish failed: {type(err).__name__}: {err}')


def named(batch: list) -> str:
    """"target 'a'" or "targets 'a', 'b'", for a log line."""
    ids = ', '.join(repr(t.target_id) for t in batch)
    return f'target {ids}' if len(batch) == 1 else f'targets {ids}'


def batches(targets: list, size: int = 0) -> list:
    """`targets` grouped for `track_many`: those of one tracker together (at most `size` per
    group; 0: all) when it batches targets (`batch_targets`), else one by one."""
    groups = {}
    for target in targets:
        groups.setdefault(id(target.tracker), []).append(target)
    result = []
    for group in groups.values():
        step = (size or len(group)) if getattr(group[0].tracker, 'batch_targets', False) else 1
        result.extend(group[i:i + step] for i in range(0, len(group), step))
    return result
