"""`siamfc`: SiamFC-3s (Bertinetto et al. 2016), spec §2 with the decoder of §1.4."""
import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from siam_tracker_ros.models.backbones import build_backbone
from siam_tracker_ros.models.siamfc_net import SiamFCNet
from siam_tracker_ros.ops.crop import crop_patch
from siam_tracker_ros.ops.windows import hann2d
from siam_tracker_ros.registry import register
from siam_tracker_ros.trackers.base import StatusConfig
from siam_tracker_ros.trackers.decision_check import SCALE_SURE, SURE, UNSURE, DecisionCheck
from siam_tracker_ros.trackers.siamese import SiameseTracker
from siam_tracker_ros.trackers.siamfc_decoder import (decode, scale_factors, scale_penalties,
                                                      scale_update, upsample)


@dataclass(frozen=True)
class SiamFCConfig(StatusConfig):
    """SiamFC hyperparameters; defaults are SiamFC-3s (spec §1.2, §1.4)."""

    backbone: str = 'alexnet'
    exemplar_size: int = 127
    instance_size: int = 255
    context: float = 0.5
    scale_num: int = 3
    scale_step: float = 1.0375
    scale_penalty: float = 0.9745
    scale_lr: float = 0.59
    window_influence: float = 0.176
    response_up: int = 16
    min_scale: float = 0.2
    max_scale: float = 5.0

    def __post_init__(self):
        if self.scale_num < 1 or self.scale_num % 2 == 0:
            raise ValueError(f'scale_num must be odd and >= 1, got {self.scale_num}')
        if not 0.0 <= self.window_influence <= 1.0:
            raise ValueError(f'window_influence must be in [0, 1], got {self.window_influence}')
        if self.exemplar_size >= self.instance_size:
            raise ValueError('exemplar_size must be smaller than instance_size')


@register('siamfc', SiamFCConfig,
          'SiamFC-3s, full cross-correlation; AlexNet or MobileNetV2 backbone')
class SiamFCTracker(SiameseTracker):
    """SiamFC: fixed template, n-scale search, cosine window, damped scale update."""

    window = None   # the decoder's Hann window, built for the first maps
    checker = None  # DecisionCheck of a checked precision, set up at init

    def build_net(self, config, backbone: str) -> SiamFCNet:
        return SiamFCNet(build_backbone(backbone))

    def on_init(self, image) -> None:
        cfg = self.config
        self.factors = scale_factors(cfg.scale_num, cfg.scale_step)
        if self.checked:  # measure this precision's error on the target's first frame
            patches = self.search_patches(image)
            reduced, exact = self.respond(patches), self.respond(patches, exact=True)
            self.checker = DecisionCheck(
                exact.shape, cfg.response_up, scale_penalties(cfg.scale_num, cfg.scale_penalty),
                cfg.window_influence, self._window(cfg.response_up * exact.shape[-1]))
            self.checker.measure(reduced, exact)

    def warm_up_other_shapes(self) -> None:
        """A checked precision may redo one scale's map alone: compile that batch size too."""
        if self.checked:
            side = self.config.instance_size
            self.respond(np.zeros((1, side, side, 3), np.uint8), exact=True)

    def search_patches(self, image) -> np.ndarray:
        """The n search crops (instance_size², one per scale factor) at the current state."""
        st, cfg = self.state, self.config
        return np.stack([crop_patch(image, st.center, st.s_x * f, cfg.instance_size,
                                    st.pad_color) for f in self.factors])

    def respond(self, patches: np.ndarray, exact: bool = False) -> np.ndarray:
        """Raw n×r×r response logits of the search crops (exact: the fp32 recomputation)."""
        template = self.state.exact_template if exact else self.state.template
        with torch.inference_mode():
            maps = self.net.respond(template, self.features(patches, exact))[:, 0]
            return maps.float().cpu().numpy()

    def _step(self, image) -> float:
        cfg, clock = self.config, time.perf_counter
        start = clock()
        patches = self.search_patches(image)
        cropped = clock()
        maps = self.respond(patches)
        responded = clock()
        upsampled = finite_upsampled(maps, cfg.response_up)
        if self.checked:
            maps, upsampled = self._checked(patches, maps, upsampled)
        checked = clock()
        self.last_timing.update(crop=cropped - start, network=responded - cropped,
                                check=checked - responded)
        if upsampled is None:
            self.last_timing['decode'] = clock() - checked
            return 0.0
        out = decode(maps, self.factors, self.state.s_x, scale_penalty=cfg.scale_penalty,
                     window_influence=cfg.window_influence, response_up=cfg.response_up,
                     total_stride=self.net.stride, instance_size=cfg.instance_size,
                     window=self._window(upsampled.shape[-1]), upsampled=upsampled)
        self.move(out.displacement, scale_update(cfg.scale_lr, self.factors[out.scale_index]),
                  image.shape)
        self.last_timing['decode'] = clock() - checked
        return 1.0 / (1.0 + math.exp(-out.raw_peak))

    def _checked(self, patches, maps, upsampled):
        """(maps, upsampled maps) whose decision fp32 would make: the reduced-precision maps
        when the check is sure, else with the chosen scale's map or every map redone in fp32."""
        verdict, best = (UNSURE, None) if upsampled is None else self.checker.verdict(maps,
                                                                                       upsampled)
        if verdict == SURE:
            return maps, upsampled
        if verdict == SCALE_SURE:
            exact = self.respond(patches[best:best + 1], exact=True)
            self.checker.measure(maps[best:best + 1], exact)
            maps, upsampled = maps.copy(), upsampled.copy()
            maps[best], upsampled[best] = exact[0], upsample(exact, self.config.response_up)[0]
            self.redone_maps += 1
            return maps, upsampled
        exact = self.respond(patches, exact=True)
        if upsampled is not None:
            self.checker.measure(maps, exact)
        self.redone_maps += len(exact)
        return exact, finite_upsampled(exact, self.config.response_up)

    def _window(self, side: int) -> np.ndarray:
        if self.window is None or self.window.shape[0] != side:
            self.window = hann2d(side, normalise=True)
        return self.window


def finite_upsampled(maps: np.ndarray, response_up: int):
    """`upsample(maps)`, or None when a map holds NaN or inf."""
    return upsample(maps, response_up) if np.isfinite(maps).all() else None
