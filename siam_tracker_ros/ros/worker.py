"""The inference thread: init, catch-up and tracking of the newest frame (no ROS import).

Service callbacks hand jobs to this thread and wait for the answer, so they never run the
network themselves and stay responsive; only this thread calls `tracker.init`/`tracker.track`.
"""
import threading
import time
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from siam_tracker_ros.ros.frames import Frame, FrameStore
from siam_tracker_ros.status import IDLE, LOST, TRACKING


@dataclass
class InitJob:
    """Start tracking `box` (0-based xywh) on `frame` (already decoded as `image`)."""

    frame: Frame
    image: np.ndarray
    box: tuple
    tracker: object
    target_id: str
    error: str = ''
    caught_up: int = 0
    done: threading.Event = field(default_factory=threading.Event)


@dataclass
class ResetJob:
    """Drop the target; `was_tracking` tells whether there was one."""

    was_tracking: bool = False
    done: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class Processed:
    """One processed frame, as handed to the node's publish callback."""

    frame: Frame
    image: Optional[np.ndarray]
    box: Optional[tuple]
    score: float
    state: int
    tracker_name: str
    target_id: str
    dropped: int
    frames_tracked: int
    processing_ms: float = 0.0


class TrackingWorker:
    """Owns the active tracker and target state; runs in its own thread.

    Args:
        frames: the node's FrameStore.
        decode: message -> HxWx3 RGB uint8 (raises ValueError on bad input).
        publish: called with a Processed for every processed frame and every state change.
        report: called with (kind, text) for input errors (the node throttles the log).
    """

    def __init__(self, frames: FrameStore, decode, publish, report):
        self._frames, self._decode, self._publish, self._report = frames, decode, publish, report
        self._jobs = []
        self._jobs_lock = threading.Lock()
        self._stopping = threading.Event()
        self._tracker = None
        self._target_id = ''
        self._state = IDLE
        self._tracked = 0
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
                job.error = 'the node is shutting down'
            job.done.set()

    def _next_job(self):
        with self._jobs_lock:
            return self._jobs.pop(0) if self._jobs else None

    def _run(self):
        while not self._stopping.is_set():
            job = self._next_job()
            if isinstance(job, InitJob):
                self._init(job)
            elif isinstance(job, ResetJob):
                self._reset(job)
            else:
                frame, dropped = self._frames.take(timeout=0.05)
                if frame is not None and self._tracker is not None:
                    self._process(frame, dropped)
        self._frames.stop()

    def _init(self, job: InitJob):
        try:
            job.tracker.init(job.image, job.box)
        except Exception as err:  # noqa: BLE001  reported to the caller, the thread goes on
            job.error = f'{type(err).__name__}: {err}'
            job.done.set()
            return
        self._tracker, self._target_id, self._tracked = job.tracker, job.target_id, 0
        self._state = TRACKING
        backlog = self._frames.start(job.frame)
        job.caught_up = len(backlog)
        job.done.set()
        self._emit(job.frame, job.image, job.box, 1.0, 0)
        for frame in backlog:
            if self._stopping.is_set() or self._jobs:
                break
            self._process(frame, 0)

    def _reset(self, job: ResetJob):
        job.was_tracking = self._tracker is not None
        if job.was_tracking:
            self._frames.stop()
            self._state = IDLE
            self._emit(self._frames.newest(), None, None, 0.0, 0)  # its header: the last image's
            self._tracker = None
        job.done.set()

    def _process(self, frame: Frame, dropped: int):
        start = time.perf_counter()
        try:
            image = self._decode(frame.msg)
            result = self._tracker.track(image)
        except ValueError as err:
            self._report('input', f'frame skipped: {err}')
            return
        except Exception as err:  # noqa: BLE001  e.g. a CUDA error: log it, keep the thread
            self._failed(frame, dropped, err, (time.perf_counter() - start) * 1e3)
            return
        self._state = result.state
        self._tracked += 1
        self._emit(frame, image, tuple(result.box), float(result.score), dropped,
                   (time.perf_counter() - start) * 1e3)

    def _failed(self, frame: Frame, dropped: int, err: Exception, processing_ms: float):
        """The tracker raised: the target is LOST (a status without a detection) and the
        error is logged; the following frames are tracked again, so a passing fault recovers."""
        self._state = LOST
        self._report('track', f'tracker {self._tracker.name} failed on target '
                              f'{self._target_id!r}, now LOST: {type(err).__name__}: {err}')
        self._emit(frame, None, None, 0.0, dropped, processing_ms)

    def _emit(self, frame, image, box, score, dropped, processing_ms=0.0):
        try:
            self._publish(Processed(frame, image, box, score, self._state, self._tracker.name,
                                    self._target_id, dropped, self._tracked, processing_ms))
        except Exception as err:  # noqa: BLE001  a publish error must not kill the thread
            self._report('publish', f'publish failed: {type(err).__name__}: {err}')
