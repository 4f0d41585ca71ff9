"""The tracker interface (spec §1.7)."""
import abc

import numpy as np

from siam_tracker_ros.types import TrackerStateError, TrackResult


class Tracker(abc.ABC):
    """A single-object tracker: `init` on one frame, then `track` every following frame.

    Images are HxWx3 uint8 RGB (grayscale is accepted); boxes are 0-based `xywh` floats.
    """

    name: str = ''
    several_targets: bool = False  # start_target keeps each target's state apart
    # Why an exported engine (`backend: onnx`: template / search / head only) cannot run
    # this tracker's step; '' where it can.
    engine_unsupported: str = ''

    @abc.abstractmethod
    def init(self, image, box) -> None:
        """Start tracking the object in `box` on `image`; resets all state."""

    @abc.abstractmethod
    def track(self, image) -> TrackResult:
        """Locate the object in the next frame."""

    def start_target(self, image, box):
        """Start one of several targets and return its handle for `track_many`. This default
        holds one target: it calls `init`, so a handle from an earlier call goes stale."""
        self.init(image, box)
        self._single_handle = SingleTarget()
        return self._single_handle

    def track_many(self, image, handles: list) -> list:
        """`track` for each target handle on `image`: their TrackResults, in order."""
        current = getattr(self, '_single_handle', None)
        if any(handle is not current for handle in handles) or len(handles) > 1:
            raise TrackerStateError(f'{self.name}: tracks one target at a time, and this '
                                    'target was replaced by a later start_target')
        return [self.track(image) for _ in handles]


class SingleTarget:
    """The handle of the one target of a tracker without `several_targets`."""


def warm_up(tracker) -> None:
    """One init + track on a synthetic frame, so the first real init pays no set-up cost
    (module preparation, kernel selection) while camera frames keep arriving."""
    frame = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    tracker.init(frame, (130, 90, 60, 60))
    tracker.track(frame)
