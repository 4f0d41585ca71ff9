"""The RPN family layer (spec §1.5): one search crop at s_x recomputed from the current size,
anchor decoding with the size/ratio penalty and the Hann window, a damped size update.

Used by siamrpn and dastsiam: their networks return (cls, reg) or (cls1, cls2, reg) maps with
the channel layout of `ops.anchors` (cls·k + a, d·k + a). Nothing of the SiamFC family.
"""
import math
from dataclasses import dataclass

import numpy as np
import torch

from siam_tracker_ros.ops.anchors import anchor_grid, anchor_sizes
from siam_tracker_ros.ops.crop import template_side
from siam_tracker_ros.trackers.rpn_decoder import (RpnDecoded, anchor_window, chosen_step,
                                                   clip_target, decode, deltas_from_map,
                                                   foreground_probability)
from siam_tracker_ros.trackers import rpn_device_decoder as device_decoder
from siam_tracker_ros.trackers.siamese import SiameseConfig, SiameseTracker, TargetState


def all_finite(maps) -> bool:
    """True when no map holds NaN or inf."""
    return all(np.isfinite(m).all() for m in maps)


def cell_map(probabilities: np.ndarray, num_anchors: int) -> np.ndarray:
    """r×r max over the k anchors of (k·r²,) flat probabilities (order a·r² + i·r + j)."""
    side = int(math.isqrt(len(probabilities) // num_anchors))
    return np.asarray(probabilities).reshape(num_anchors, side, side).max(axis=0)


@dataclass(frozen=True)
class CellMap:
    """What the device step brings back of an RPN frame's maps: the r×r map of each cell's
    best anchor p, for the confidence features (`decoded_map`)."""

    cells: np.ndarray


@dataclass(frozen=True)
class DeviceChoice:
    """The §1.5 choice made on the device: whether the maps were finite, the anchor's flat
    index, its decoded (cx, cy, w, h) in crop pixels, its penalty and the family's
    `probabilities` there (p first)."""

    finite: bool
    best: int
    crop_box: np.ndarray
    penalty: float
    at_best: tuple


@dataclass(frozen=True)
class RPNConfig(SiameseConfig):
    """RPN-family decoder settings (spec §1.5); values in config/<tracker>.yaml.

    anchor_ratios, anchor_scales: anchor shapes (h/w ratios, multiples of the stride).
    penalty_k, window_influence, lr: the §1.5 step 3–5 penalty, window and size rate.
    max_size_delta: |dw|, |dh| are clamped to this before exp (an untrained head's huge
        outputs must still give finite boxes; e^4 ≈ 55× the anchor).
    hold_score: below this score the target keeps its place and size (0: always move).
    """

    anchor_ratios: tuple
    anchor_scales: tuple
    penalty_k: float
    window_influence: float
    lr: float
    max_size_delta: float
    hold_score: float

    def __post_init__(self):
        super().__post_init__()
        for name in ('anchor_ratios', 'anchor_scales'):   # YAML and ROS give lists
            object.__setattr__(self, name, tuple(float(v) for v in getattr(self, name)))
        checks = [(len(self.anchor_ratios) > 0 and min(self.anchor_ratios) > 0,
                   f'anchor_ratios must be positive, got {self.anchor_ratios}'),
                  (len(self.anchor_scales) > 0 and min(self.anchor_scales) > 0,
                   f'anchor_scales must be positive, got {self.anchor_scales}'),
                  (self.penalty_k >= 0, f'penalty_k must be >= 0, got {self.penalty_k}'),
                  (0.0 <= self.window_influence <= 1.0,
                   f'window_influence must be in [0, 1], got {self.window_influence}'),
                  (0.0 <= self.lr <= 1.0, f'lr must be in [0, 1], got {self.lr}'),
                  (self.max_size_delta > 0,
                   f'max_size_delta must be > 0, got {self.max_size_delta}'),
                  (0.0 <= self.hold_score < 1.0,
                   f'hold_score must be in [0, 1), got {self.hold_score}')]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    @property
    def num_anchors(self) -> int:
        return len(self.anchor_ratios) * len(self.anchor_scales)


@dataclass
class RPNState(TargetState):
    """TargetState plus scale_z = Z / s_z of the last search crop (crop pixels per image px)."""

    scale_z: float


class RPNTracker(SiameseTracker):
    """One search crop per frame, the §1.5 anchor decoder; the template is fixed."""

    batch_targets = True
    device_resident = True

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.sizes = anchor_sizes(config.anchor_ratios, config.anchor_scales, self.net.stride)
        self._grid = {}

    def start_state(self, center, size, pad_color, kernel) -> RPNState:
        return RPNState(center, size, pad_color, kernel, self.scale_z(size))

    def scale_z(self, size) -> float:
        """Z / s_z for a target (w, h) (§1.2 step 1)."""
        cfg = self.config
        return cfg.exemplar_size / template_side(size[0], size[1], cfg.context)

    def search_windows(self, image_shape) -> list:
        """One instance_size² window at s_x = s_z·X/Z from the current size (§1.5 step 0–1)."""
        st, cfg = self.state, self.config
        st.scale_z = self.scale_z(st.size)
        return [(cfg.instance_size, [st.center], [cfg.instance_size / st.scale_z])]

    def to_maps(self, outputs) -> tuple:
        """The head's maps of the one crop as float32 numpy arrays (C×r×r each), in one
        transfer."""
        with torch.inference_mode():
            flat = torch.cat([m[0].float().flatten() for m in outputs]).cpu().numpy()
        shapes = [tuple(m.shape[1:]) for m in outputs]
        ends = np.cumsum([math.prod(shape) for shape in shapes])
        return tuple(flat[end - math.prod(shape):end].reshape(shape)
                     for shape, end in zip(shapes, ends))

    def pack(self, outputs) -> torch.Tensor:
        """The §1.5 choice made on the device (`rpn_device_decoder.choose_anchor`), as float64:
        whether every map is finite, the chosen anchor (index, crop box, penalty), the
        `probabilities` at it, then the r×r cell map."""
        cfg, st = self.config, self.state
        with torch.inference_mode():
            maps = tuple(m[0] for m in outputs)
            probabilities = self.device_probabilities(maps)
            anchors, window = self.anchors(maps[0].shape[-1])
            choice = device_decoder.choose_anchor(
                probabilities[0], device_decoder.box_deltas(maps[-1], cfg.max_size_delta),
                self.device_constant('anchors', anchors, torch.float64),
                self.device_constant('window', window, torch.float64), st.size, st.scale_z,
                penalty_k=cfg.penalty_k, window_influence=cfg.window_influence)
            best = choice[:1].long()
            finite = torch.stack([torch.isfinite(m).all() for m in maps]).all()
            cells = probabilities[0].reshape(cfg.num_anchors, -1).amax(dim=0)
            return torch.cat([finite.double().view(1), choice,
                              torch.cat([p.index_select(0, best) for p in probabilities]),
                              cells])

    def unpack(self, flat: np.ndarray, outputs) -> tuple:
        """(`CellMap`, the device's `DeviceChoice`) from `pack`'s values."""
        side = outputs[0].shape[-1]
        cells = flat[len(flat) - side * side:].reshape(side, side)
        choice = DeviceChoice(bool(flat[0]), int(flat[1]), flat[2:6], float(flat[6]),
                              tuple(float(v) for v in flat[7:len(flat) - side * side]))
        return CellMap(cells), choice

    def decode_decided(self, maps, decided: 'DeviceChoice'):
        """The frame decoded from the device's choice; None when a map held NaN or inf."""
        if not decided.finite:
            return None
        st = self.state
        step = chosen_step(decided.best, decided.crop_box, decided.at_best[0],
                           decided.penalty, st.size, st.scale_z, self.config.lr)
        return self.decoded(step, decided.at_best)

    def decode(self, maps: tuple):
        """The §1.5 choice on the maps; None when a map holds NaN or inf."""
        if not all_finite(maps):
            return None
        probabilities = self.probabilities(maps)
        step = self.choose(probabilities[0], self.box_deltas(maps))
        return self.decoded(step, tuple(float(p[step.best]) for p in probabilities))

    def probabilities(self, maps: tuple) -> list:
        """(k·r²,) arrays: the probability p the decoder chooses on, then any other the family
        needs at the chosen anchor (siamrpn: the cls map's foreground probability alone)."""
        return [foreground_probability(maps[0])]

    def device_probabilities(self, maps: tuple) -> list:
        """`probabilities` as float64 tensors on the device, from the maps of one crop."""
        return [device_decoder.foreground_probability(maps[0])]

    def decoded(self, step: RpnDecoded, at_best: tuple):
        """The family's decoded frame from the §1.5 step and `probabilities` at its anchor."""
        return step

    def box_deltas(self, maps: tuple) -> np.ndarray:
        """(k·r², 4) deltas from the last map, dw and dh clamped to ±max_size_delta."""
        deltas = deltas_from_map(maps[-1])
        limit = self.config.max_size_delta
        deltas[:, 2:] = np.clip(deltas[:, 2:], -limit, limit)
        return deltas

    def choose(self, probabilities: np.ndarray, deltas: np.ndarray) -> RpnDecoded:
        """Best anchor, centre step and blended size (§1.5 steps 2–5, 7)."""
        cfg = self.config
        side = int(math.isqrt(len(probabilities) // cfg.num_anchors))
        anchors, window = self.anchors(side)
        return decode(probabilities, deltas, anchors, window, self.state.size,
                      self.state.scale_z, penalty_k=cfg.penalty_k,
                      window_influence=cfg.window_influence, lr=cfg.lr)

    def anchors(self, side: int) -> tuple:
        """(flat anchors relative to the crop centre, the tiled Hann window) for r = side."""
        if side not in self._grid:
            grid = anchor_grid(self.sizes, side, self.net.stride).reshape(-1, 4)
            self._grid[side] = (grid, anchor_window(side, len(self.sizes)))
        return self._grid[side]

    def decoded_map(self, maps, decoded) -> np.ndarray:
        """r×r map of each cell's best anchor p (the probability decoded); the device step
        brought it back as a `CellMap`."""
        if isinstance(maps, CellMap):
            return maps.cells
        return cell_map(self.probabilities(maps)[0], self.config.num_anchors)

    def update(self, decoded: RpnDecoded, image_shape) -> float:
        """Move the centre, take the blended size, clip (§1.5 steps 5–6); score = p[best].
        Below `hold_score` the target keeps its place and size (occluded or out of view)."""
        if decoded.score < self.config.hold_score:
            return decoded.score
        st = self.state
        center = st.center + np.asarray(decoded.displacement)
        center, size = clip_target(center, decoded.size, image_shape[1], image_shape[0])
        st.center, st.size = np.array(center), np.array(size)
        return decoded.score


def siamfc_backbone_state(net, state_dict: dict, source=None) -> dict:
    """The state dict that starts an RPN-family network from a siamfc file of the same
    backbone: its trunk and neck (`backbone.*`), everything else at its own initialisation;
    siamfc's adjust bias has no place here. A file of another backbone does not fit (the
    loader says which keys)."""
    return {**net.state_dict(),
            **{k: v for k, v in state_dict.items() if k.startswith('backbone.')}}
