"""What a pair source returns: the pair, the target box and a record of what was generated."""
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np


@dataclass(frozen=True)
class SampleRecord:
    """What one training pair holds. `frame_boxes`: the target's `xywh` in the template and
    search frames; `lookalikes`: (cx, cy, w, h) in search-crop px of the look-alikes visible in
    the search frame; `camera_shift`: the background's motion (frame px) from the template to
    the search frame; `camera_blur`: the camera's motion-blur length in the search frame."""

    source: str
    frame_boxes: tuple
    target_side: float                  # longest side of the target in the search frame, px
    crop_scale: float                   # search-crop px per search-frame px
    target_category: str = ''
    lookalikes: tuple = ()
    lookalike_categories: tuple = ()
    camera_shift: tuple = (0.0, 0.0)
    camera_blur: float = 0.0
    frames: tuple = ()                  # (template, search) frame indices of a clip


class Sample(NamedTuple):
    """A training pair and its record."""

    z: np.ndarray
    x: np.ndarray
    target: tuple
    record: SampleRecord


class PairSource:
    """Base: `sample` is `draw` without the record."""

    def draw(self, rng):
        raise NotImplementedError

    def sample(self, rng):
        drawn = self.draw(rng)
        return None if drawn is None else tuple(drawn[:3])


def make_record(source: str, box_z, box_x, window, **fields) -> SampleRecord:
    return SampleRecord(source, (floats(box_z), floats(box_x)), float(max(box_x[2], box_x[3])),
                        float(window.scale), **fields)


def floats(values) -> tuple:
    """A tuple of Python floats."""
    return tuple(float(v) for v in values)
