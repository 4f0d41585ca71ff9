"""The SiamFC family layer (spec §1.4): a scale pyramid of search crops, s_x and its clamp to
[min_scale, max_scale]·s_x0, the cosine window and the §1.4 decoder.

Used by siamfc, dsiam, siam_gam and dyconv_fusion: their networks return B×1×r×r logits.
"""
import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import torch

from siam_tracker_ros.ops.confidence import map_confidence
from siam_tracker_ros.ops.crop import template_side
from siam_tracker_ros.ops.windows import hann2d
from siam_tracker_ros.status import LOST
from siam_tracker_ros.trackers.redetect import (Widened, best_candidate, frame_tiles,
                                                search_order, tile_spacing)
from siam_tracker_ros.trackers.siamese import SiameseConfig, SiameseTracker, TargetState
from siam_tracker_ros.trackers.siamfc_decoder import (Decoded, decision, decode_pairs,
                                                      pair_penalties, scale_factors,
                                                      scale_update, upsample)
from siam_tracker_ros.trackers.siamfc_device_decoder import decide_on_device


@dataclass(frozen=True)
class PyramidConfig(SiameseConfig):
    """SiamFC-family decoder settings (spec §1.4); values in config/<tracker>.yaml."""

    scale_num: int
    scale_step: float
    scale_penalty: float
    scale_lr: float
    window_influence: float
    response_up: int
    min_scale: float
    max_scale: float
    hold_score: float
    template_rate: float
    template_gate: float
    template_anchor: float
    redetect: bool
    redetect_tiles: int
    redetect_confirm: int

    def __post_init__(self):
        super().__post_init__()
        if not 0.0 <= self.template_rate < 1.0:
            raise ValueError(f'template_rate must be in [0, 1), got {self.template_rate}')
        if not 0.0 <= self.template_anchor <= 1.0:
            raise ValueError(f'template_anchor must be in [0, 1], got {self.template_anchor}')
        if self.redetect_tiles < 1:
            raise ValueError(f'redetect_tiles must be >= 1, got {self.redetect_tiles}')
        if self.redetect_confirm < 1:
            raise ValueError(f'redetect_confirm must be >= 1, got {self.redetect_confirm}')
        if not 0.0 <= self.hold_score < 1.0:
            raise ValueError(f'hold_score must be in [0, 1), got {self.hold_score}')
        if self.scale_num < 1 or self.scale_num % 2 == 0:
            raise ValueError(f'scale_num must be odd and >= 1, got {self.scale_num}')
        if not 0.0 <= self.window_influence <= 1.0:
            raise ValueError(f'window_influence must be in [0, 1], got {self.window_influence}')


@dataclass
class PyramidState(TargetState):
    """TargetState plus the search side s_x and its value at init, s_x0, and the target's
    re-detection progress while LOST: the tile search order and its position (`scan`), this
    frame's tile centres (`tiles`), a candidate seen on earlier frames (`pending`: centre,
    frames) and whether this frame jumped to it (`jumped`); with a template update, the init
    and the running kernel (`first_kernel`, `running_kernel`)."""

    s_x: float
    s_x0: float
    scan: Optional[list] = field(default=None, kw_only=True)
    tiles: Optional[list] = field(default=None, kw_only=True)
    pending: Optional[tuple] = field(default=None, kw_only=True)
    jumped: bool = field(default=False, kw_only=True)
    first_kernel: object = field(default=None, kw_only=True)
    running_kernel: object = field(default=None, kw_only=True)


class ScalePyramidTracker(SiameseTracker):
    """n-scale search, cosine window, damped scale update; the template is fixed, or with
    `template_rate` η > 0 updated on each frame scoring at least `template_gate`: a running
    kernel R ← (1 − η)·R + η·template(the crop at the new box), and the kernel used is
    α·(init kernel) + (1 − α)·R, α = `template_anchor` (it bounds the drift).

    With `redetect: true`, LOST frames also search tiles over a widening area in the same
    network batch (`trackers/redetect.py`); the target jumps to the best tile's peak when
    the ordinary step fails the status's recovery test and that peak passes it."""

    redetects = True   # False where a subclass's step cannot take tiles

    batch_targets = True
    device_resident = True

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        if config.redetect and not self.redetects:
            raise ValueError(f'redetect is not available for {type(self).__name__}')
        self.factors = scale_factors(config.scale_num, config.scale_step)
        self._window = None

    def start_state(self, center, size, pad_color, kernel) -> PyramidState:
        cfg = self.config
        s_x = template_side(size[0], size[1], cfg.context) * cfg.instance_size / cfg.exemplar_size
        return PyramidState(center, size, pad_color, kernel, s_x, s_x)

    def search_windows(self, image_shape) -> list:
        """The n search windows (s_x·f_i, one per scale factor); while LOST with `redetect`,
        this frame's re-detection tiles (s_x) after them."""
        st, cfg = self.state, self.config
        centres = [st.center] * len(self.factors)
        sides = [st.s_x * f for f in self.factors]
        st.tiles = None
        if not (cfg.redetect and self.status.state == LOST):
            st.scan, st.pending = None, None
            return [(cfg.instance_size, centres, sides)]
        if st.scan is None:
            spacing = tile_spacing(st.s_x, cfg.exemplar_size, cfg.instance_size)
            st.scan = [search_order(st.center, spacing, image_shape), 0]
        st.tiles = frame_tiles(*st.scan, cfg.redetect_tiles)
        if st.pending is not None:   # look again where a candidate passed last frame
            st.tiles.insert(0, st.pending[0])
        st.scan[1] += 1
        return [(cfg.instance_size, centres + list(st.tiles), sides + [st.s_x] * len(st.tiles))]

    def to_maps(self, outputs) -> np.ndarray:
        """n×r×r float32 response logits (tiles' maps after them)."""
        with torch.inference_mode():
            return outputs[:, 0].float().cpu().numpy()

    def pair_geometry(self) -> tuple:
        """(search sides at factor 1 in image px, search crop sizes), one per crop-size pair."""
        return (self.state.s_x,), (self.config.instance_size,)

    def decision_maps(self) -> int:
        """How many of the maps compete in the §1.4 decision (every (pair, scale); tiles
        follow them)."""
        return len(self.factors) * len(self.pair_geometry()[0])

    def decode(self, maps: np.ndarray):
        """The §1.4 decision on the upsampled maps (and the best tile while re-detecting);
        None when a map holds NaN or inf."""
        if not np.isfinite(maps).all():
            return None
        cfg = self.config
        scales = maps[:self.decision_maps()]
        upsampled = upsample(scales, cfg.response_up)
        local = decode_pairs(scales, self.factors, *self.pair_geometry(),
                             scale_penalty=cfg.scale_penalty,
                             window_influence=cfg.window_influence,
                             response_up=cfg.response_up, total_stride=self.net.stride,
                             window=self.window(upsampled.shape[-1]), upsampled=upsampled)
        return self.widened(maps, local)

    def decode_decided(self, maps: np.ndarray, decided: Decoded):
        """`decode` with the local decision made on the device (`pack`)."""
        return self.widened(maps, decided) if np.isfinite(maps).all() else None

    def widened(self, maps: np.ndarray, local: Decoded):
        """`local`, or while re-detecting, it with the best tile (`Widened`)."""
        if not self.state.tiles:
            return local
        n = self.decision_maps()
        cell = self.net.stride * self.state.s_x / self.config.instance_size
        return Widened(local, maps[local.scale_index],
                       best_candidate(maps[n:], self.state.tiles, cell))

    def pack(self, outputs) -> torch.Tensor:
        """The §1.4 decision made on the device (`decide_on_device`: 4 numbers), then the raw
        maps, flat."""
        cfg = self.config
        with torch.inference_mode():
            maps = outputs[:, 0].float()
            count = self.decision_maps()
            side = maps.shape[-1] * cfg.response_up
            decision = decide_on_device(
                maps[:count], self.device_constant('penalties', self.map_penalties()),
                cfg.window_influence, self.device_constant('window', self.window(side)),
                cfg.response_up)
            return torch.cat([decision, maps.flatten()])

    def unpack(self, flat: np.ndarray, outputs) -> tuple:
        """(n×r×r maps, the device's `Decoded`)."""
        cfg = self.config
        maps = flat[4:].reshape(len(outputs), *outputs.shape[-2:])
        best, row, col, raw_peak = flat[:4]
        decided = decision(int(best), (int(row), int(col)), float(raw_peak),
                           maps.shape[-1] * cfg.response_up, self.factors, *self.pair_geometry(),
                           penalties=self.map_penalties(), response_up=cfg.response_up,
                           total_stride=self.net.stride)
        return maps, decided

    def map_penalties(self) -> np.ndarray:
        """The scale penalty of each of the `decision_maps` (pair-major)."""
        pairs = len(self.pair_geometry()[0])
        return pair_penalties(len(self.factors), pairs, self.config.scale_penalty)

    def update(self, decoded: Decoded, image_shape) -> float:
        """Move, rescale by the damped factor of the chosen scale; score = sigmoid(raw peak).
        Below `hold_score` the target keeps its place and size (occluded or out of view:
        the peak is then on something else). With tiles: `update_widened`."""
        if isinstance(decoded, Widened):
            return self.update_widened(decoded, image_shape)
        score = sigmoid(decoded.raw_peak)
        if score < self.config.hold_score:
            return score
        self.move_center(decoded.displacement, image_shape)
        self.rescale(scale_update(self.config.scale_lr, self.factors[decoded.scale_index]))
        return score

    def update_widened(self, decoded, image_shape) -> float:
        """The ordinary update; if its peak fails the recovery test, the best tile's peak is
        a candidate when it passes. A candidate found at the same place (within the target
        size) on `recover_frames` consecutive frames is taken: the target jumps there (size
        kept) and reports that peak's score; the state stays LOST until `redetect_confirm`
        frames from there on pass (tiles are still searched meanwhile)."""
        self.state.jumped = False
        score = self.update(decoded.local, image_shape)
        if self.status.passes(score, map_confidence(decoded.local_map, score)):
            self.state.pending = None
            return score
        far = decoded.far
        far_score = sigmoid(far.raw_peak)
        if not self.status.passes(far_score, map_confidence(far.response, far_score)):
            self.state.pending = None
            return score
        spot = np.add(far.center, far.displacement)
        seen = 1
        if self.state.pending is not None and \
                np.hypot(*(spot - self.state.pending[0])) <= max(self.state.size):
            seen = self.state.pending[1] + 1
        self.state.pending = (tuple(spot), seen)
        if seen < self.config.recover_frames:
            return score
        self.state.center = np.asarray(far.center, np.float64)
        self.move_center(far.displacement, image_shape)
        self.state.jumped, self.state.pending = True, None
        self.status.confirm(self.config.redetect_confirm)
        return far_score

    def after_step(self, image, decoded) -> None:
        """The linear template update (`template_rate`, `template_gate`); nothing at η = 0, on
        a re-detection jump or below the gate."""
        cfg, st = self.config, self.state
        if cfg.template_rate <= 0 or isinstance(decoded, Widened) and st.jumped or \
                sigmoid(getattr(decoded, 'local', decoded).raw_peak) < cfg.template_gate:
            return
        if st.running_kernel is None:
            st.first_kernel = st.running_kernel = st.kernel
        new = self.fresh_kernel(image)
        with torch.inference_mode():
            st.running_kernel = blend(st.running_kernel, new, cfg.template_rate)
            st.kernel = blend(st.first_kernel, st.running_kernel, 1 - cfg.template_anchor)

    def fresh_kernel(self, image):
        """The template branch on the exemplar crop at the current box."""
        st = self.state
        return self._runner.template(self.exemplar_crop(image, st.center, st.size,
                                                        st.pad_color)[None])

    def decoded_map(self, maps: np.ndarray, decoded: Decoded) -> np.ndarray:
        """The chosen (pair, scale) r×r logit map (the tile's after a jump)."""
        if isinstance(decoded, Widened):
            return decoded.far.response if self.state.jumped else decoded.local_map
        return maps[decoded.pair_index * len(self.factors) + decoded.scale_index]

    def rescale(self, factor: float) -> None:
        """Scale s_x by `factor`, saturated at [min_scale, max_scale]·s_x0; the size follows
        the saturated factor."""
        st, cfg = self.state, self.config
        new_s_x = float(np.clip(st.s_x * factor, cfg.min_scale * st.s_x0, cfg.max_scale * st.s_x0))
        applied = new_s_x / st.s_x
        st.s_x, st.size = new_s_x, st.size * applied

    def window(self, side: int) -> np.ndarray:
        """The normalised side×side Hann window of the decoder (cached)."""
        if self._window is None or self._window.shape[0] != side:
            self._window = hann2d(side, normalise=True)
        return self._window


def blend(kernel, new, rate: float):
    """(1 − rate)·kernel + rate·new, tensor by tensor (a kernel may be a tuple)."""
    if torch.is_tensor(kernel):
        return (1 - rate) * kernel + rate * new.to(kernel.dtype)
    return type(kernel)(blend(k, n, rate) for k, n in zip(kernel, new))


def sigmoid(value: float) -> float:
    """1 / (1 + e^−v), 0 for very negative v (no overflow)."""
    return 0.0 if value < -700 else 1.0 / (1.0 + math.exp(-value))
