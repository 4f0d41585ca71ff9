"""Received frames: a ring buffer for stamp-matched init and a newest-frame slot for tracking.

No ROS import: frames hold the message object untouched (decoding happens on the worker thread),
stamps are integer nanoseconds. One lock guards everything; the image callback only appends.
"""
import threading
from collections import deque
from dataclasses import dataclass


class InitFrameError(ValueError):
    """No buffered frame matches an init request's stamp; the message says why."""


@dataclass(frozen=True)
class Frame:
    """One received image message.

    Attributes:
        msg: the sensor_msgs Image or CompressedImage, as received.
        stamp_ns: header stamp in nanoseconds (0 when the sender left it unset).
        receipt_ns: node clock at receipt, in nanoseconds.
        seq: receipt counter, increasing.
    """

    msg: object
    stamp_ns: int
    receipt_ns: int
    seq: int


class FrameStore:
    """Thread-safe ring buffer of recent frames plus the newest unprocessed frame.

    While `active` (a target is tracked), a frame that replaces an unprocessed one counts as
    dropped: the worker always takes the newest frame and never works through a backlog.
    """

    def __init__(self, capacity: int):
        self._ring = deque(maxlen=max(1, int(capacity)))
        self._pending = None
        self._active = False
        self._dropped = 0
        self._seq = 0
        self._lock = threading.Lock()
        self.ready = threading.Condition(self._lock)

    def add(self, msg, stamp_ns: int, receipt_ns: int) -> Frame:
        """Store a received message (image callback); wakes the worker."""
        return self.add_all([(msg, stamp_ns, receipt_ns)])

    def add_all(self, received) -> Frame:
        """Store (msg, stamp_ns, receipt_ns) messages in receipt order, then wake the worker
        once: it sees only the newest of them. Returns the newest Frame."""
        with self._lock:
            for msg, stamp_ns, receipt_ns in received:
                self._seq += 1
                frame = Frame(msg, int(stamp_ns), int(receipt_ns), self._seq)
                self._ring.append(frame)
                if self._active:
                    if self._pending is not None:
                        self._dropped += 1
                    self._pending = frame
            if self._active:
                self.ready.notify_all()
            return frame

    def count(self) -> int:
        """Number of buffered frames."""
        with self._lock:
            return len(self._ring)

    def newest(self):
        """The most recently received frame, or None."""
        with self._lock:
            return self._ring[-1] if self._ring else None

    def find(self, stamp_ns: int, tolerance_ns: int) -> Frame:
        """The buffered frame nearest to `stamp_ns` (0 = newest) within `tolerance_ns`.

        Raises:
            InitFrameError: no frame received yet, or none within the tolerance.
        """
        with self._lock:
            frames = list(self._ring)
        if not frames:
            raise InitFrameError('no image received yet')
        if stamp_ns == 0:
            return frames[-1]
        nearest = min(frames, key=lambda f: abs(f.stamp_ns - stamp_ns))
        if abs(nearest.stamp_ns - stamp_ns) <= tolerance_ns:
            return nearest
        oldest, newest = min(f.stamp_ns for f in frames), max(f.stamp_ns for f in frames)
        span = f'buffer holds {len(frames)} frames, stamps {_sec(oldest)} .. {_sec(newest)} s'
        if stamp_ns < oldest:
            raise InitFrameError(f'stamp {_sec(stamp_ns)} s is too old ({span}; '
                                 'raise buffer_length to init on older frames)')
        if stamp_ns > newest:
            raise InitFrameError(f'stamp {_sec(stamp_ns)} s is newer than every received '
                                 f'frame ({span})')
        raise InitFrameError(f'no frame within {tolerance_ns / 1e9:.3f} s of stamp '
                             f'{_sec(stamp_ns)} s (nearest {_sec(nearest.stamp_ns)} s)')

    def start(self, init_frame: Frame) -> list:
        """Begin tracking from `init_frame`: returns the buffered frames received after it.

        The returned frames are processed in order (catch-up); when nothing was tracked yet,
        the newest-frame slot is cleared so tracking then continues with frames that arrive
        afterwards (while other targets are tracked it stays for them).
        """
        with self._lock:
            if not self._active:
                self._pending = None
                self._dropped = 0
            self._active = True
            return [f for f in self._ring if f.seq > init_frame.seq]

    def stop(self):
        """Stop tracking: frames are buffered but no longer queued for the worker."""
        with self._lock:
            self._active = False
            self._pending = None

    def take(self, timeout: float):
        """Wait up to `timeout` s for the newest unprocessed frame; returns (frame, dropped).

        `dropped` counts frames skipped since the previous call. frame is None on timeout.
        """
        with self._lock:
            if self._pending is None:
                self.ready.wait(timeout)
            frame, self._pending = self._pending, None
            dropped, self._dropped = self._dropped, 0
            return frame, dropped

    def wake(self):
        """Wake a waiting `take` (e.g. when a job is queued or on shutdown)."""
        with self._lock:
            self.ready.notify_all()


def _sec(ns: int) -> str:
    return f'{ns / 1e9:.3f}'
