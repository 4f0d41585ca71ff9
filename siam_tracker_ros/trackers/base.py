"""The tracker interface (spec §1.7)."""
import abc

import numpy as np

from siam_tracker_ros.types import TrackResult


class Tracker(abc.ABC):
    """A single-object tracker: `init` on one frame, then `track` every following frame.

    Images are HxWx3 uint8 RGB (grayscale is accepted); boxes are 0-based `xywh` floats.
    """

    name: str = ''

    @abc.abstractmethod
    def init(self, image, box) -> None:
        """Start tracking the object in `box` on `image`; resets all state."""

    @abc.abstractmethod
    def track(self, image) -> TrackResult:
        """Locate the object in the next frame."""


def warm_up(tracker) -> None:
    """One init + track on a synthetic frame, so the first real init pays no set-up cost
    (module preparation, kernel selection) while camera frames keep arriving."""
    frame = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    tracker.init(frame, (130, 90, 60, 60))
    tracker.track(frame)
