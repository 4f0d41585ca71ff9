"""`dsiam`: the Dynamic Siamese network, DSiam / DSiamM (Guo et al., ICCV 2017), spec §3.

The SiamFC family (`ScalePyramidTracker`, §1.4) with three changes, each a hook:
- `responses`: the head applies the current target-variation (V) and background-suppression
  (W) transforms per layer, and fuses conv4 and conv5 (`models/dsiam_net.py`);
- `update`: the success/failure rule of `trackers/dsiam_update.py` on the penalised peak;
  the score is sigmoid(penalised peak);
- `after_step`: on success, V and W are learned from this frame (RLR, `ops/rlr.py`); after a
  failure they are off until the next success.
Training is BPTT over short clips (`training/dsiam_bptt.py`). The network starts from the
shipped SiamFC AlexNet weights (`weight_sources`), with Υ = 1 and λ at the official defaults.
"""
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch

from siam_tracker_ros.models.backbones import build_backbone
from siam_tracker_ros.models.dsiam_net import DSiamNet, check_layers, layers_backbone
from siam_tracker_ros.ops.crop import template_side
from siam_tracker_ros.ops.windows import dsiam_search_mask
from siam_tracker_ros.registry import TrackerEntry, register
from siam_tracker_ros.trackers.dsiam_update import ScaleState, update_patches, update_state
from siam_tracker_ros.trackers.pyramid import (PyramidConfig, PyramidState,
                                               ScalePyramidTracker, sigmoid)
from siam_tracker_ros.trackers.siamfc_decoder import Decoded, scale_update
from siam_tracker_ros.training.dsiam_bptt import BPTT_CLIPS

# DSiam's own parameters: what a SiamFC state dict lacks (initialised as in spec §3).
OWN_PARAMETERS = ('fusion', 'log_lambda_v', 'log_lambda_w')


@dataclass(frozen=True)
class DSiamConfig(PyramidConfig):
    """DSiam settings (config/dsiam.yaml): the SiamFC-family fields plus spec §3's.

    layers: ("conv4", "conv5") is DSiamM, ("conv5",) single-layer DSiam.
    alpha_v, alpha_w: blend of the transformed and the plain features (fixed, not learned).
    update_v, update_w: learn V / W online (off: that transform stays the identity).
    fail_growth: s_x grows by this factor after a failed frame (peak ≤ 0).
    The regularisers λ_v, λ_w and the fusion map Υ are network parameters (weights file).
    """

    layers: tuple
    alpha_v: float
    alpha_w: float
    update_v: bool
    update_w: bool
    fail_growth: float

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, 'layers', check_layers(self.layers))
        for name in ('alpha_v', 'alpha_w'):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f'{name} must be in [0, 1], got {getattr(self, name)}')
        if self.fail_growth < 1.0:
            raise ValueError(f'fail_growth must be >= 1, got {self.fail_growth}')


def build_dsiam_net(config, backbone=None, pretrained_dir=None) -> DSiamNet:
    """DSiamNet on `backbone` (the weights file's). layers conv4 / conv5 need the SiamFC
    AlexNet; ("neck",) a pretrained trunk (MobileNetV2 when no weights file names one)."""
    if backbone is None:
        backbone = 'alexnet' if layers_backbone(config.layers) == 'alexnet' else 'mobilenetv2'
    return DSiamNet(build_backbone(backbone, pretrained_dir), config.layers, config.alpha_v,
                    config.alpha_w)


def siamfc_state(net, state_dict: dict, source: str) -> dict:
    """A SiamFC AlexNet state dict completed with DSiam's own parameters at their initial
    values (Υ = 1, λ_v = 1e-5, λ_w = 10: spec §3 initialisation)."""
    own = net.state_dict()
    return {**{k: own[k] for k in OWN_PARAMETERS if k in own}, **state_dict}


@dataclass
class DSiamState(PyramidState):
    """PyramidState plus the transforms (per-layer spectra, None = off), the fail flag, and
    this frame's crop sides for the update: (s_z before the scale update, s_x·f_{i*})."""

    v: Optional[tuple] = None
    w: Optional[tuple] = None
    failed: bool = False
    crop_sides: tuple = ()


class DSiamTracker(ScalePyramidTracker):
    """SiamFC-3s decoding on DSiam's fused, transformed response; V and W learned online."""

    batch_targets = False  # V and W differ per target: several are tracked one at a time
    redetects = False
    engine_unsupported = 'its update learns V and W (learn_v, learn_w) and its head takes them'

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        if config.template_rate:
            raise ValueError('template_rate is not available for dsiam: its V transform '
                             'adapts the template (set template_rate: 0.0)')
        self.mask = dsiam_search_mask(config.instance_size)

    def start_state(self, center, size, pad_color, kernel) -> DSiamState:
        state = super().start_state(center, size, pad_color, kernel)
        return DSiamState(**vars(state))

    def network_maps(self, crops):
        """n×1×r×r fused logits with the current V and W (the plain head while both are off)."""
        st = self.state
        if st.v is None and st.w is None:
            return super().network_maps(crops)
        runner = self._runner
        with torch.inference_mode():
            return runner.net.head(st.kernel, runner.search(crops), st.v, st.w)

    def update(self, decoded: Decoded, image_shape) -> float:
        """Move; then the spec §3 scale rule on the penalised peak (failure: s_x ×
        fail_growth, size kept); score = sigmoid(penalised peak). Below `hold_score` nothing
        moves and nothing is learnt (V, W off, as after a failure)."""
        st, cfg = self.state, self.config
        if sigmoid(decoded.peak) < cfg.hold_score:
            st.failed = True
            return sigmoid(decoded.peak)
        factor = self.factors[decoded.scale_index]
        s_z = template_side(st.size[0], st.size[1], cfg.context)
        st.crop_sides = (s_z, st.s_x * factor)
        self.move_center(decoded.displacement, image_shape)
        new = update_state(ScaleState(tuple(st.size), s_z, st.s_x, st.s_x0, st.failed),
                           decoded.peak, scale_update(cfg.scale_lr, factor),
                           exemplar_size=cfg.exemplar_size, instance_size=cfg.instance_size,
                           limits=(cfg.min_scale, cfg.max_scale), fail_growth=cfg.fail_growth)
        st.size, st.s_x, st.failed = np.array(new.size), new.s_x, new.failed
        return sigmoid(decoded.peak)

    def after_step(self, image, decoded) -> None:
        """Success: learn V_t and W_t at the new centre (spec §3 steps 1–2); failure: both
        off until the next success."""
        st, cfg = self.state, self.config
        if st.failed or not (cfg.update_v or cfg.update_w):
            st.v = st.w = None
            return
        s_z, search_side = st.crop_sides
        target, search, masked = update_patches(image, st.center, s_z, search_side,
                                                st.pad_color, self.mask, cfg.exemplar_size,
                                                cfg.instance_size)
        runner = self._runner
        with torch.inference_mode():
            net = runner.net
            if cfg.update_v:
                st.v = net.learn_v(st.kernel, runner.template(target[None]))
            if cfg.update_w:
                pair = runner.search(np.stack([search.astype(np.float32), masked]))
                st.w = net.learn_w(tuple(f[:1] for f in pair), tuple(f[1:] for f in pair))


register(TrackerEntry(
    name='dsiam', tracker_class=DSiamTracker, config_class=DSiamConfig,
    build_net=build_dsiam_net, objective=BPTT_CLIPS,
    summary='DSiam/DSiamM: SiamFC AlexNet + online V/W transforms (RLR), conv4+5 fusion',
    weight_sources=('siamfc',), adapt_state=siamfc_state))
