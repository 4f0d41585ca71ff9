"""Small frozen types and input checks shared by every tracker (spec §1.1, §1.7)."""
import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from siam_tracker_ros.ops.confidence import MapConfidence
from siam_tracker_ros.status import STATE_NAMES, TRACKING

MAX_BOX_TO_IMAGE = 2.0  # a box may be at most this many times the image's width and height
MIN_BOX_SIDE = 1.0      # px: a smaller box has no pixels to make a template of


class TrackerInputError(ValueError):
    """Raised for an image or box a tracker cannot use; the tracker state is left unchanged."""


class FrameSizeError(TrackerInputError):
    """A frame of another size than the one the target was started on: every later frame of
    that size fails too, so the target cannot be tracked until it is started again."""


class TrackerStateError(RuntimeError):
    """Raised when a method is called in the wrong state, e.g. `track` before `init`."""


@dataclass(frozen=True)
class TrackResult:
    """One tracked frame: 0-based `xywh` box in pixels, a score in [0, 1], the target's
    state (`status.TRACKING` or `status.LOST`, see `state_name`) and, from the Siamese
    trackers, the response map's confidence features the state was decided from."""

    box: tuple
    score: float
    state: int = TRACKING
    confidence: Optional[MapConfidence] = None

    @property
    def state_name(self) -> str:
        """'TRACKING' or 'LOST'."""
        return STATE_NAMES[self.state]


def as_rgb_image(image) -> np.ndarray:
    """Validate a tracker input image and return it as a contiguous HxWx3 uint8 array.

    Accepts HxWx3 uint8 RGB, or HxW / HxWx1 grayscale (repeated to 3 channels).
    """
    if not isinstance(image, np.ndarray):
        raise TrackerInputError(f'image must be a numpy array, got {type(image).__name__}')
    if image.dtype != np.uint8:
        raise TrackerInputError(f'image must be uint8, got {image.dtype}')
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3:
        raise TrackerInputError(f'image must be HxWx3 (RGB) or HxW, got shape {image.shape}')
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise TrackerInputError(f'image is empty: shape {image.shape}')
    return np.ascontiguousarray(image)


def check_frame_size(image_shape, started_shape) -> None:
    """A target started on a frame of (H, W) `started_shape` is tracked only on frames of that
    size: its box and search windows are in that frame's pixels."""
    if started_shape is not None and tuple(image_shape[:2]) != tuple(started_shape):
        raise FrameSizeError(
            f'frame is {image_shape[1]}x{image_shape[0]} but the target was started on a '
            f'{started_shape[1]}x{started_shape[0]} frame: start it again on this size')


def check_box(box, image_shape) -> tuple:
    """Validate a 0-based `xywh` box against an image of shape (H, W, ...); return 4 floats.

    The box must be 4 finite numbers (not a string, not booleans), have w and h of at least
    MIN_BOX_SIDE pixels (a normalised [0, 1] box is refused), overlap the image, and be at most
    MAX_BOX_TO_IMAGE times the image's width and height (a larger one was not drawn on this
    image, and its search windows would be huge).
    """
    if isinstance(box, (str, bytes, bytearray)):
        raise TrackerInputError(f'box must be 4 numbers (x, y, w, h), got {box!r}')
    try:
        items = tuple(box)
        if any(isinstance(v, (bool, np.bool_)) for v in items):
            raise TypeError('booleans')
        values = tuple(float(v) for v in items)
    except (TypeError, ValueError):
        raise TrackerInputError(f'box must be 4 numbers (x, y, w, h), got {box!r}') from None
    if len(values) != 4:
        raise TrackerInputError(f'box must be 4 numbers (x, y, w, h), got {len(values)}')
    if not all(math.isfinite(v) for v in values):
        raise TrackerInputError(f'box has a non-finite value: {values}')
    x, y, w, h = values
    if w <= 0 or h <= 0:
        raise TrackerInputError(f'box must have positive width and height, got w={w}, h={h}')
    if w < MIN_BOX_SIDE or h < MIN_BOX_SIDE:
        raise TrackerInputError(f'box {w:g}x{h:g} is smaller than {MIN_BOX_SIDE:g} px: boxes are '
                                'in pixels, not normalised to [0, 1]')
    height, width = image_shape[:2]
    if x + w <= 0 or y + h <= 0 or x >= width or y >= height:
        raise TrackerInputError(
            f'box {values} lies outside the {width}x{height} image')
    if w > MAX_BOX_TO_IMAGE * width or h > MAX_BOX_TO_IMAGE * height:
        raise TrackerInputError(
            f'box {w:g}x{h:g} is larger than {MAX_BOX_TO_IMAGE:g} times the {width}x{height} '
            'image')
    return values
