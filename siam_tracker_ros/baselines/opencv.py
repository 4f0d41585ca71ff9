"""OpenCV's CSRT, KCF, MIL and MOSSE trackers behind the project's `Tracker` interface.

They are evaluation baselines, not registry trackers (the registry needs a config YAML per
tracker). MOSSE exists only in `cv2.legacy`; the others are taken from the main namespace
when present, else from `cv2.legacy` (opencv-contrib).
"""
import cv2

from siam_tracker_ros.ops.boxes import clip_xywh
from siam_tracker_ros.trackers.base import Tracker
from siam_tracker_ros.types import (TrackerInputError, TrackerStateError, TrackResult,
                                    as_rgb_image, check_box, check_frame_size)

_FACTORIES = {'csrt': 'TrackerCSRT', 'kcf': 'TrackerKCF', 'mil': 'TrackerMIL',
              'mosse': 'TrackerMOSSE'}


def baseline_names() -> list:
    """Names accepted by `build_baseline`."""
    return sorted(_FACTORIES)


def _create(name):
    class_name = _FACTORIES[name]
    for module in (cv2, getattr(cv2, 'legacy', None)):
        factory = getattr(module, f'{class_name}_create', None) if module else None
        if factory is None and module is not None and hasattr(module, class_name):
            factory = getattr(module, class_name).create
        if factory is not None:
            return factory(), module is not cv2
    raise RuntimeError(f'OpenCV {cv2.__version__} has no {class_name}; '
                       f'install opencv-contrib-python(-headless)')


class OpenCVTracker(Tracker):
    """One OpenCV tracker; a failed `update` keeps the last box and reports score 0."""

    def __init__(self, name: str):
        if name not in _FACTORIES:
            raise ValueError(f'unknown OpenCV baseline {name!r}; known: '
                             f'{", ".join(baseline_names())}')
        self.name = name
        self._tracker = None
        self._box = None
        self._shape = None

    def init(self, image, box) -> None:
        """Start tracking `box` (0-based `xywh`) on an RGB `image`."""
        image = as_rgb_image(image)
        box = check_box(box, image.shape)
        tracker, legacy = _create(self.name)
        x, y, w, h = clip_xywh(box, image.shape[1], image.shape[0])
        rect = (x, y, w, h) if legacy else _int_rect(x, y, w, h, image.shape)
        if tracker.init(cv2.cvtColor(image, cv2.COLOR_RGB2BGR), rect) is False:
            raise TrackerInputError(f'{self.name}: OpenCV could not start on box {box}')
        self._tracker, self._box, self._shape = tracker, tuple(box), image.shape[:2]

    def track(self, image) -> TrackResult:
        """Locate the target in the next RGB frame."""
        if self._tracker is None:
            raise TrackerStateError(f'{self.name}: track() called before init()')
        image = as_rgb_image(image)
        check_frame_size(image.shape, self._shape)
        ok, rect = self._tracker.update(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        if ok and rect[2] > 0 and rect[3] > 0:
            self._box = tuple(float(v) for v in rect)
            return TrackResult(box=self._box, score=1.0)
        return TrackResult(box=self._box, score=0.0)


def _int_rect(x, y, w, h, shape) -> tuple:
    x0, y0 = int(round(x)), int(round(y))
    x0, y0 = min(x0, shape[1] - 1), min(y0, shape[0] - 1)
    return (x0, y0, max(1, min(int(round(w)), shape[1] - x0)),
            max(1, min(int(round(h)), shape[0] - y0)))


def build_baseline(name: str) -> OpenCVTracker:
    """An OpenCV baseline tracker by name ('csrt', 'kcf', 'mil', 'mosse')."""
    return OpenCVTracker(name)
