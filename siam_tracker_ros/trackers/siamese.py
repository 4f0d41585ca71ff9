"""The shared shell of SiamFC-family trackers: weights, runtime, crops, state, timing.

Subclasses provide `build_net(config, backbone)` and the per-frame `_step(image)`.
"""
import math
import time
from dataclasses import dataclass
from typing import Optional

import cv2
import numpy as np
import torch

from siam_tracker_ros.models.weights import (InputFormat, WeightsError, apply_state,
                                             default_weights, load_weights)
from siam_tracker_ros.ops.boxes import clip_xywh, cxcywh_to_xywh, xywh_to_cxcywh
from siam_tracker_ros.ops.crop import crop_patch, image_mean_color, template_side
from siam_tracker_ros.runtime import (check_options, exact_fp32, prepare_module, resolve_device,
                                      set_threads, split_precision, to_input)
from siam_tracker_ros.trackers.base import Tracker, warm_up
from siam_tracker_ros.types import TrackerStateError, TrackResult, as_rgb_image, check_box


@dataclass
class TargetState:
    """Mutable per-target state: centre, size, crop sides, padding colour, template features
    (and, for a checked precision, the fp32 template its recomputed frames use)."""

    center: np.ndarray
    size: np.ndarray
    s_z: float
    s_x: float
    s_x0: float
    pad_color: tuple
    template: torch.Tensor
    exact_template: Optional[torch.Tensor] = None


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
    """Base for trackers that embed a template and a search crop with one backbone."""

    RUNTIME_OPTIONS = ('precision', 'backend', 'threads', 'seed')
    WEIGHT_SOURCES = ('siamfc',)

    def __init__(self, config, weights=None, device='cpu', precision='fp32', backend='fused',
                 threads=None, seed=0):
        set_threads(threads)
        self.config = config
        self.device = resolve_device(device)
        check_options(self.device, backend, precision)
        (self.precision, self.checked), self.backend = split_precision(precision), backend
        self.redone_maps = 0  # checked precision: response maps redone in fp32
        payload = self._read_weights(weights)
        torch.manual_seed(seed)
        backbone = payload['backbone'] if payload else config.backbone
        self.net = self.build_net(config, backbone).eval()
        if payload:
            apply_state(self.net, payload['state_dict'], self.weights_path)
        self.input_format = InputFormat.from_dict(payload['input']) if payload else InputFormat()
        self.net.to(self.device)
        self._embeds, self._embed_source = {}, None
        self.state = None
        self.last_timing = {}
        self._warm_up()

    def _read_weights(self, weights):
        if weights == 'default':
            weights = default_weights(self.name)
            if weights is None:
                raise WeightsError(f'no shipped weights for {self.name}')
        self.weights_path = str(weights) if weights else None
        if not weights:
            return None
        payload = load_weights(weights)
        if payload.get('tracker') not in self.WEIGHT_SOURCES + (self.name,):
            raise WeightsError(f'{weights} holds {payload.get("tracker")!r} weights, '
                               f'not usable by {self.name}')
        return payload

    def _warm_up(self):
        if self.backend == 'compiled':  # compile now, not on the first real frame
            warm_up(self)
            self.warm_up_other_shapes()
            self.state = None

    def warm_up_other_shapes(self) -> None:
        """Hook: after `warm_up`, run the input shapes a real run may meet later."""

    def features(self, patches: np.ndarray, exact: bool = False) -> torch.Tensor:
        """Backbone features (fp32) of N×m×m×3 uint8 patches on the chosen path.

        exact: run the fp32 version of the path (a checked precision's recomputation).
        """
        x = to_input(patches, self.device, torch.float32, self.input_format)
        if self._embed_source is not self.net.backbone:  # built lazily; tests may swap stubs
            self._embeds, self._embed_source = {}, self.net.backbone
        precision = 'fp32' if exact else self.precision
        if precision not in self._embeds:
            calibration = self.calibration_input() if precision != 'fp32' else None
            self._embeds[precision] = prepare_module(self.net.backbone, self.device,
                                                     self.backend, precision, calibration)
        with torch.inference_mode():
            return self._embeds[precision](x).float()

    def calibration_input(self) -> torch.Tensor:
        """A fixed fp32 template-sized input for choosing bf16/fp16 blocks (see pink_noise)."""
        image = pink_noise(self.config.exemplar_size)[None]
        return to_input(image, self.device, torch.float32, self.input_format)

    def template_features(self, patch: np.ndarray, exact: bool = False) -> torch.Tensor:
        features = self.features(patch[None], exact)
        crop = getattr(self.net.backbone, 'crop_template', None)
        return crop(features) if crop else features

    def init(self, image, box) -> None:
        image = as_rgb_image(image)
        box = check_box(box, image.shape)
        cx, cy, w, h = xywh_to_cxcywh(box)
        cfg = self.config
        s_z = template_side(w, h, cfg.context)
        s_x = s_z * cfg.instance_size / cfg.exemplar_size
        pad = image_mean_color(image)
        patch = crop_patch(image, (cx, cy), s_z, cfg.exemplar_size, pad)
        with exact_fp32(self.device):
            template = self.template_features(patch)
            exact = self.template_features(patch, exact=True) if self.checked else None
        self.state = TargetState(np.array([cx, cy]), np.array([w, h]), s_z, s_x, s_x, pad,
                                 template, exact)
        self.on_init(image)

    def on_init(self, image) -> None:
        """Hook for subclasses that keep more state (e.g. DSiam's transforms)."""

    def track(self, image) -> TrackResult:
        if self.state is None:
            raise TrackerStateError(f'{self.name}: track() called before init()')
        image = as_rgb_image(image)
        start = time.perf_counter()
        with exact_fp32(self.device):
            score = self._step(image)
        self.last_timing['total'] = time.perf_counter() - start
        return self._result(image.shape, score)

    def _step(self, image) -> float:
        raise NotImplementedError

    def move(self, displacement, scale: float, image_shape) -> None:
        """Shift the centre (kept inside the image) and rescale size and crop sides by `scale`.

        s_x saturates at [min_scale, max_scale]·s_x0; the size follows the saturated factor.
        """
        st, cfg = self.state, self.config
        height, width = image_shape[:2]
        st.center = np.clip(st.center + np.asarray(displacement), 0, [width - 1, height - 1])
        new_s_x = float(np.clip(st.s_x * scale, cfg.min_scale * st.s_x0, cfg.max_scale * st.s_x0))
        applied = new_s_x / st.s_x
        st.s_x, st.s_z, st.size = new_s_x, st.s_z * applied, st.size * applied

    def _result(self, image_shape, score: float) -> TrackResult:
        st = self.state
        box = cxcywh_to_xywh((st.center[0], st.center[1], st.size[0], st.size[1]))
        box = clip_xywh(box, image_shape[1], image_shape[0])
        score = score if math.isfinite(score) else 0.0
        return TrackResult(tuple(float(v) for v in box), float(min(max(score, 0.0), 1.0)))
