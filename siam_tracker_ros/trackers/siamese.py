"""The neutral base of every Siamese tracker (docs/architecture.md).

It owns what all of them share: the network on its execution path, the exemplar crop and
padding colour, the target's centre and size, the TRACKING / LOST status, the result and the
timing, and a fixed per-frame step:

    search_crops → responses → decode → update (+ the decoded map's confidence) → after_step

On the device step (`ExecutionPath.device_step`, docs/architecture.md) a family that
describes its crops as windows (`search_windows`) crops on the device, and its `fetch` brings
the maps (and, where the family decides on the device, the decision) to the host at once.

Several targets: a `Target` holds one target's state and status; `start_target` and
`track_many` swap them in and out, and `track_many` runs the search crops of every target
through the search branch in one batch when the family allows it (`batch_targets`).

A family layer fills in the crops, decode and update (`trackers/pyramid.py`: the SiamFC
family of spec §1.4); a tracker adds its config, network and training objective and registers
them (`trackers/siamfc.py`).
"""
import math
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import ClassVar, Optional

import cv2
import numpy as np
import torch

from siam_tracker_ros.models.weights import InputFormat
from siam_tracker_ros.ops.appearance import ColourModel
from siam_tracker_ros.ops.confidence import NO_CONFIDENCE, map_confidence
from siam_tracker_ros.ops.boxes import clip_xywh, cxcywh_to_xywh, xywh_to_cxcywh
from siam_tracker_ros.ops.crop import crop_patch, image_mean_color, template_side
from siam_tracker_ros.ops.device_crop import crop_patches, image_tensor
from siam_tracker_ros.profiling import count_macs
from siam_tracker_ros.runtime import (ExecutionPath, NetworkRunner, exact_fp32, map_tensors,
                                      to_input)
from siam_tracker_ros.status import StatusConfig, TargetStatus
from siam_tracker_ros.trackers.base import Tracker
from siam_tracker_ros.types import (TrackerStateError, TrackResult, as_rgb_image, check_box,
                                    check_frame_size)

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
    """Mutable per-target state: centre (cx, cy), size (w, h), padding colour, the template
    branch's output (`kernel`), the init frame's colour model (`ops.appearance`, for the
    status) and its (H, W) (`frame_shape`: later frames must have it). Families extend it."""

    center: np.ndarray
    size: np.ndarray
    pad_color: tuple
    kernel: object
    colour_model: Optional[ColourModel] = field(default=None, kw_only=True)
    frame_shape: Optional[tuple] = field(default=None, kw_only=True)


@dataclass
class Target:
    """One of several targets a tracker follows (`start_target`, `track_many`): its state and
    status, swapped into the tracker while it is worked on, and the tracker that started it."""

    state: object
    status: TargetStatus
    owner: object = field(default=None, repr=False)


class StepTimer:
    """Seconds spent in each part of a step (TIMED_PARTS), summed over the targets of a batch."""

    def __init__(self):
        self.start = self.last = time.perf_counter()
        self.seconds = dict.fromkeys(TIMED_PARTS, 0.0)

    def mark(self, part: str) -> None:
        """The time since the previous mark was spent in `part`."""
        now = time.perf_counter()
        self.seconds[part] += now - self.last
        self.last = now

    def parts(self) -> dict:
        """{part: seconds, 'total': seconds}."""
        return {**self.seconds, 'total': self.last - self.start}


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

    `batch_targets`: a family whose per-target state lives wholly in `state` and whose maps come
    from the plain `head(kernel, search(crops))` sets it, so `track_many` batches the search
    crops of several targets; a subclass that changes `track` or `responses` otherwise (DSiam's
    online transforms, several crop sizes) sets it back to False: one target at a time.

    Args:
        config: the tracker's frozen config (a `SiameseConfig`).
        net: the network (template / search / head); read again at every `init`, so tests
            may swap modules in between.
        path: device, backend and precision it runs on.
        input_format: the weights' pixel format.
        weights_path: the weights file it was built from (None: random init).
    """

    several_targets = True
    batch_targets = False
    device_resident = False   # True where the family has `search_windows` and `fetch`

    def __init__(self, config, net, path: ExecutionPath, input_format=InputFormat(),
                 weights_path=None):
        self.config, self.net, self.path = config, net, path
        self.input_format, self.weights_path = input_format, weights_path
        self.status = TargetStatus(config)
        self.state = None
        self.last_timing = {}
        self._runner, self._runner_key = None, None
        self._constants = {}

    @property
    def device(self):
        return self.path.device

    @property
    def on_device(self) -> bool:
        """Whether this step crops and decodes on the device (the path asks, the family can)."""
        return self.device_resident and self.path.device_step

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
        self.state.colour_model = ColourModel(image, box)
        self.state.frame_shape = image.shape[:2]
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
        check_frame_size(image.shape, self.state.frame_shape)
        timer = StepTimer()
        with exact_fp32(self.device):
            if self.on_device:
                crops = self.device_crops(image_tensor(image, self.device),
                                          self.padded_windows(image.shape))
                timer.mark('crop')
                maps, decided = self.fetch(self.network_maps(crops))
            else:
                crops = self.search_crops(image)
                timer.mark('crop')
                maps, decided = self.responses(crops), None
            timer.mark('network')
            result = self.conclude(image, maps, timer, decided)
        self.last_timing = timer.parts()
        return result

    def conclude(self, image, maps, timer: StepTimer, decided=None) -> TrackResult:
        """The step after the network: decode (or `decided`, a decision the family made on the
        device) → update (+ the map's confidence) → after_step, then the status."""
        decoded = self.decode(maps) if decided is None else self.decode_decided(maps, decided)
        timer.mark('decode')
        score = self.update(decoded, image.shape) if decoded is not None else 0.0
        score = min(max(score, 0.0), 1.0) if math.isfinite(score) else 0.0
        confidence = self.confidence(maps, decoded, score)
        box = self.current_box(image.shape)
        if confidence is not None:
            confidence = replace(confidence,
                                 colour=self.state.colour_model.objectness(image, box))
        timer.mark('update')
        if decoded is not None:
            self.after_step(image, decoded)
        timer.mark('after_step')
        state = self.status.update(score, confidence)
        return TrackResult(box, score, state, confidence)

    def search_windows(self, image_shape) -> list:
        """This frame's search windows: [(crop size, centres, sides in image px)], one entry
        per crop size. Families with the device step implement it (`device_resident`)."""
        raise NotImplementedError

    def search_crops(self, image) -> np.ndarray:
        """N×X×X×3 uint8 search crops at the current state (`search_windows`, cropped)."""
        pad = self.state.pad_color
        return self.grouped([np.stack([crop_patch(image, c, s, size, pad)
                                       for c, s in zip(centres, sides)])
                             for size, centres, sides in self.search_windows(image.shape)])

    def padded_windows(self, image_shape) -> list:
        """`search_windows` with the target's padding colour: [(size, centres, sides, pad)]."""
        return [(size, centres, sides, self.state.pad_color)
                for size, centres, sides in self.search_windows(image_shape)]

    def device_crops(self, frame: torch.Tensor, windows: list):
        """The crops of `windows` (`padded_windows`, of one or several targets, in order) as
        N×3×X×X float tensors on the frame's device, one `crop_patches` call per crop size,
        rounded as `crop_patch` rounds to uint8."""
        groups = {}
        for size, centres, sides, pad in windows:
            group = groups.setdefault(size, ([], [], []))
            group[0].extend(centres)
            group[1].extend(sides)
            group[2].extend([pad] * len(centres))
        return self.grouped([crop_patches(frame, centres, sides, size, pads).round_()
                             for size, (centres, sides, pads) in groups.items()])

    def grouped(self, crops: list):
        """The crops of each crop size as `network_maps` takes them: one batch (the default,
        one size) or a list (`multisize`)."""
        return crops[0]

    def responses(self, crops):
        """The network's maps for the crops against the template, on the host."""
        return self.to_maps(self.network_maps(crops))

    def network_maps(self, crops):
        """The network's outputs for the crops, on the device: head(kernel, search(x))."""
        return self._runner.respond(self.state.kernel, crops)

    def fetch(self, outputs) -> tuple:
        """(the maps on the host as `decode` takes them, a decision made on the device or
        None), with one transfer (device step)."""
        return self.unpack(self.pack(outputs).cpu().numpy(), outputs)

    def pack(self, outputs) -> torch.Tensor:
        """The outputs (and any decision made from them on the device) as one flat float32
        tensor on the device (device step)."""
        raise NotImplementedError

    def unpack(self, flat: np.ndarray, outputs) -> tuple:
        """`fetch`'s (maps, decision) from `pack`'s values on the host; `outputs` gives the
        shapes."""
        raise NotImplementedError

    def device_constant(self, name: str, values: np.ndarray,
                        dtype=torch.float32) -> torch.Tensor:
        """`values` as a tensor on the device, uploaded once per (name, shape, dtype): the
        decoders' windows, penalties and anchors are fixed by their shape and the config."""
        key = (name, values.shape, dtype)
        if key not in self._constants:
            self._constants[key] = torch.as_tensor(values, dtype=dtype, device=self.device)
        return self._constants[key]

    def decode_decided(self, maps, decided):
        """What the maps say, given the decision `fetch` made on the device."""
        raise NotImplementedError

    def to_maps(self, outputs):
        """The head's outputs as `decode` takes them (as they are here; families convert)."""
        return outputs

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

    # --- several targets -----------------------------------------------------------------
    @contextmanager
    def holding(self, target: Target):
        """`target`'s state and status swapped in for the block; the tracker's own come back
        after it and `target` keeps what the block changed."""
        saved = self.state, self.status
        self.state, self.status = target.state, target.status
        try:
            yield target
        finally:
            target.state, target.status = self.state, self.status
            self.state, self.status = saved

    def start_target(self, image, box) -> Target:
        """`init` for one of several targets: a new Target (the tracker's own is kept)."""
        target = Target(None, TargetStatus(self.config), self)
        with self.holding(target):
            self.init(image, box)
        return target

    def track_many(self, image, targets: list) -> list:
        """`track` for every Target on `image`: their TrackResults, in order.

        With `batch_targets` and two or more targets, the search crops of all go through the
        search branch as one batch and the head runs per target (kernels differ); the rest of
        the step is the family's own, per target. Otherwise each is tracked with `track`.
        Every handle and the frame are checked first, so an error moves no target."""
        image = as_rgb_image(image)
        self.check_handles(image.shape, targets)
        if self.batch_targets and len(targets) > 1:
            return self._track_batch(image, targets)
        results = []
        for target in targets:
            with self.holding(target):
                results.append(self.track(image))
        return results

    def check_handles(self, image_shape, targets: list) -> None:
        """Raise unless every handle is a distinct started target of this tracker and the
        frame has the size each was started on."""
        if len({id(target) for target in targets}) != len(targets):
            raise TrackerStateError(f'{self.name}: track_many() got the same target twice')
        for target in targets:
            if not isinstance(target, Target) or target.owner is not self:
                raise TrackerStateError(f'{self.name}: track_many() takes the handles this '
                                        f'tracker\'s start_target returned, got '
                                        f'{type(target).__name__}')
            if target.state is None:
                raise TrackerStateError(f'{self.name}: track_many() with a target never started')
            check_frame_size(image_shape, target.state.frame_shape)

    def _track_batch(self, image, targets: list) -> list:
        timer = StepTimer()
        with exact_fp32(self.device):
            crops, counts = self._batch_crops(image, targets)
            timer.mark('crop')
            features = self._runner.search(crops)
            ends = np.cumsum(counts)
            outputs = [self._target_outputs(target, features, end - count, end)
                       for target, count, end in zip(targets, counts, ends)]
            found = self._batch_fetch(targets, outputs)
            timer.mark('network')
            results = []
            for target, (maps, decided) in zip(targets, found):
                with self.holding(target):
                    results.append(self.conclude(image, maps, timer, decided))
        self.last_timing = timer.parts()
        return results

    def _batch_crops(self, image, targets: list) -> tuple:
        """(every target's search crops in one batch, the number of crops of each)."""
        if self.on_device:
            windows, counts = [], []
            for target in targets:
                with self.holding(target):
                    own = self.padded_windows(image.shape)
                windows += own
                counts.append(sum(len(centres) for _, centres, _, _ in own))
            return self.device_crops(image_tensor(image, self.device), windows), counts
        crops = []
        for target in targets:
            with self.holding(target):
                crops.append(self.search_crops(image))
        return np.concatenate(crops), [len(batch) for batch in crops]

    def _target_outputs(self, target: Target, features, start: int, end: int):
        """The head's outputs for `target` on rows start:end of the batch's search features."""
        with self.holding(target):
            return self._runner.head(self.state.kernel,
                                     map_tensors(lambda f: f[start:end], features))

    def _batch_fetch(self, targets: list, outputs: list) -> list:
        """(maps, decision) per target: on the device step with one transfer for all."""
        if not self.on_device:
            return [(self.to_maps(out), None) for out in outputs]
        packed = []
        for target, out in zip(targets, outputs):
            with self.holding(target):
                packed.append(self.pack(out))
        flat = torch.cat(packed).cpu().numpy()
        ends = np.cumsum([len(p) for p in packed])
        found = []
        for target, out, part, end in zip(targets, outputs, packed, ends):
            with self.holding(target):
                found.append(self.unpack(flat[end - len(part):end], out))
        return found

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
