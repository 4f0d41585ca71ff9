"""The neutral base of every Siamese tracker (docs/architecture.md).

It owns what all of them share: the network on its execution path, the exemplar crop and
padding colour, the target's centre and size, the TRACKING / LOST status, the result and the
timing, and a fixed per-frame step:

    search_crops → responses → decode → update (+ the decoded map's confidence) → after_step

A family layer fills in the crops, decode and update (`trackers/pyramid.py`: the SiamFC
family of spec §1.4); a tracker adds its config, network and training objective and registers
them (`trackers/siamfc.py`).
"""
import math
import time
from dataclasses import dataclass
from typing import ClassVar

import cv2
import numpy as np
import torch

from siam_tracker_ros.models.weights import InputFormat
from siam_tracker_ros.ops.confidence import NO_CONFIDENCE, map_confidence
from siam_tracker_ros.ops.boxes import clip_xywh, cxcywh_to_xywh, xywh_to_cxcywh
from siam_tracker_ros.ops.crop import crop_patch, image_mean_color, template_side
from siam_tracker_ros.profiling import count_macs
from siam_tracker_ros.runtime import ExecutionPath, NetworkRunner, exact_fp32, to_input
from siam_tracker_ros.status import StatusConfig, TargetStatus
from siam_tracker_ros.trackers.base import Tracker
from siam_tracker_ros.types import TrackerStateError, TrackResult, as_rgb_image, check_box

TIMED_PARTS = ('crop', 'network', 'decode', 'update', 'after_step')


@dataclass(frozen=True)
class SiameseConfig(StatusConfig):
    """Fields of every Siamese tracker (spec §1.2): crop sizes and context amount.

    A subclass lists the allowed values of its enumerated fields in `CHOICES`
    ({field: allowed values}); other values are refused with a clear message."""

    CHOICES: ClassVar[dict] = {}

    exemplar_size: int
    instance_size: int
    context: float

    def __post_init__(self):
        super().__post_init__()
        if self.exemplar_size >= self.instance_size:
            raise ValueError('exemplar_size must be smaller than instance_size')
        for name, allowed in self.CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f'unknown {name} {getattr(self, name)!r}; known: '
                                 f'{", ".join(sorted(allowed))}')


@dataclass
class TargetState:
    """Mutable per-target state: centre (cx, cy), size (w, h), padding colour and the template
    branch's output (`kernel`). Families extend it."""

    center: np.ndarray
    size: np.ndarray
    pad_color: tuple
    kernel: object


def pink_noise(side: int, seed: int = 0) -> np.ndarray:
    """side×side×3 uint8 noise with a roughly 1/f spectrum, like natural images.

    Layer statistics on it match real frames closely (white noise understates the
    precision loss of ill-conditioned blocks about 4×).
    """
    rng = np.random.default_rng(seed)
    field = np.zeros((side, side, 3))
    for scale in (1, 2, 4, 8, 16, 32):
        coarse = rng.normal(size=(side // scale + 2, side // scale + 2, 3))
        field += scale * cv2.resize(coarse, (side, side), interpolation=cv2.INTER_CUBIC)
    return np.clip(128 + 50 * field / field.std(), 0, 255).astype(np.uint8)


class SiameseTracker(Tracker):
    """Base of the Siamese trackers; subclasses implement the step's four hooks.

    Args:
        config: the tracker's frozen config (a `SiameseConfig`).
        net: the network (template / search / head); read again at every `init`, so tests
            may swap modules in between.
        path: device, backend and precision it runs on.
        input_format: the weights' pixel format.
        weights_path: the weights file it was built from (None: random init).
    """

    def __init__(self, config, net, path: ExecutionPath, input_format=InputFormat(),
                 weights_path=None):
        self.config, self.net, self.path = config, net, path
        self.input_format, self.weights_path = input_format, weights_path
        self.status = TargetStatus(config)
        self.state = None
        self.last_timing = {}
        self._runner, self._runner_key = None, None

    @property
    def device(self):
        return self.path.device

    def runner(self) -> NetworkRunner:
        """The network prepared for the execution path (again when its modules changed)."""
        key = tuple(id(m) for m in self.net.modules())
        if key != self._runner_key:
            calibration = None
            if self.path.precision != 'fp32':
                calibration = pink_noise(self.config.exemplar_size)[None]
            self._runner = NetworkRunner(self.net, self.device, self.path.backend,
                                         self.path.precision, self.input_format, calibration)
            self._runner_key = key
        return self._runner

    # --- init -----------------------------------------------------------------------------
    def init(self, image, box) -> None:
        image = as_rgb_image(image)
        box = check_box(box, image.shape)
        cx, cy, w, h = xywh_to_cxcywh(box)
        center, size = np.array([cx, cy]), np.array([w, h])
        pad = image_mean_color(image)
        runner = self.runner()
        with exact_fp32(self.device):
            kernel = runner.template(self.exemplar_crop(image, center, size, pad)[None])
        self.state = self.start_state(center, size, pad, kernel)
        self.status.start()
        self.on_init(image)

    def exemplar_crop(self, image, center, size, pad_color) -> np.ndarray:
        """The exemplar_size² template crop of side s_z around `center` (spec §1.2)."""
        cfg = self.config
        s_z = template_side(size[0], size[1], cfg.context)
        return crop_patch(image, center, s_z, cfg.exemplar_size, pad_color)

    def start_state(self, center, size, pad_color, kernel) -> TargetState:
        """The state right after init; families add their fields."""
        return TargetState(center, size, pad_color, kernel)

    def on_init(self, image) -> None:
        """Hook: more set-up after the state exists (e.g. DSiam's transforms)."""

    # --- the step -------------------------------------------------------------------------
    def track(self, image) -> TrackResult:
        if self.state is None:
            raise TrackerStateError(f'{self.name}: track() called before init()')
        image = as_rgb_image(image)
        clock = time.perf_counter
        marks = [clock()]
        with exact_fp32(self.device):
            crops = self.search_crops(image)
            marks.append(clock())
            maps = self.responses(crops)
            marks.append(clock())
            decoded = self.decode(maps)
            marks.append(clock())
            score = self.update(decoded, image.shape) if decoded is not None else 0.0
            score = min(max(score, 0.0), 1.0) if math.isfinite(score) else 0.0
            confidence = self.confidence(maps, decoded, score)
            marks.append(clock())
            if decoded is not None:
                self.after_step(image, decoded)
            marks.append(clock())
        self.last_timing = {part: marks[i + 1] - marks[i] for i, part in enumerate(TIMED_PARTS)}
        self.last_timing['total'] = marks[-1] - marks[0]
        state = self.status.update(score, confidence)
        return TrackResult(self.current_box(image.shape), score, state, confidence)

    def search_crops(self, image) -> np.ndarray:
        """N×X×X×3 uint8 search crops at the current state."""
        raise NotImplementedError

    def responses(self, crops: np.ndarray):
        """The network's maps for the crops against the template: head(kernel, search(x))."""
        return self._runner.respond(self.state.kernel, crops)

    def decode(self, maps):
        """What the maps say (family-specific), or None when they cannot be used (NaN)."""
        raise NotImplementedError

    def update(self, decoded, image_shape) -> float:
        """Move the target by `decoded`; return the frame's score."""
        raise NotImplementedError

    def decoded_map(self, maps, decoded):
        """The 2-D map the decoder chose from, whose confidence features decide the status;
        None (the default) leaves the status to the score alone."""
        return None

    def after_step(self, image, decoded) -> None:
        """Hook after the state update (e.g. DSiam's online transforms)."""

    def confidence(self, maps, decoded, score):
        """The frame's `MapConfidence` (NO_CONFIDENCE when nothing was decoded), or None for
        a tracker without `decoded_map`."""
        if decoded is None:
            return NO_CONFIDENCE
        response = self.decoded_map(maps, decoded)
        return None if response is None else map_confidence(response, score)

    # --- shared helpers -------------------------------------------------------------------
    def move_center(self, displacement, image_shape) -> None:
        """Shift the centre by (dx, dy) image pixels, kept inside the image."""
        height, width = image_shape[:2]
        self.state.center = np.clip(self.state.center + np.asarray(displacement), 0,
                                    [width - 1, height - 1])

    def current_box(self, image_shape) -> tuple:
        """The target's `xywh` box, clipped to the image."""
        st = self.state
        box = cxcywh_to_xywh((st.center[0], st.center[1], st.size[0], st.size[1]))
        box = clip_xywh(box, image_shape[1], image_shape[0])
        return tuple(float(v) for v in box)

    def frame_macs(self, image) -> int:
        """Multiply-accumulates of one frame's network call (search branch and head's convs)
        at the current state, counted on the fp32 network."""
        if self.state is None:
            raise TrackerStateError(f'{self.name}: frame_macs() needs init() first')
        return self.network_macs(self.config.exemplar_size,
                                 self.search_crops(as_rgb_image(image)))

    def network_macs(self, template_size: int, crops: np.ndarray) -> int:
        """Multiply-accumulates of search(crops) and the head against a template_size² kernel
        (a family with several crop sizes sums this over them)."""
        z = to_input(np.zeros((1, template_size, template_size, 3), np.uint8), self.device,
                     torch.float32, self.input_format)
        x = to_input(crops, self.device, torch.float32, self.input_format)
        with torch.inference_mode():
            kernel = self.net.template(z)
        return count_macs(self.net, call=lambda: self.net.head(kernel, self.net.search(x)))
