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
from siam_tracker_ros.trackers.siamese import SiameseTracker
from siam_tracker_ros.trackers.siamfc_decoder import decode, scale_factors, scale_update


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


@register('siamfc', SiamFCConfig, 'SiamFC-3s, full cross-correlation; AlexNet or MobileNetV2 backbone')
class SiamFCTracker(SiameseTracker):
    """SiamFC: fixed template, n-scale search, cosine window, damped scale update."""

    def build_net(self, config, backbone: str) -> SiamFCNet:
        return SiamFCNet(build_backbone(backbone))

    def on_init(self, image) -> None:
        self.factors = scale_factors(self.config.scale_num, self.config.scale_step)
        self.window = None

    def responses(self, image) -> np.ndarray:
        """Raw n×r×r response logits at the current state, timing crop and network."""
        st, cfg = self.state, self.config
        start = time.perf_counter()
        patches = np.stack([crop_patch(image, st.center, st.s_x * f, cfg.instance_size,
                                       st.pad_color) for f in self.factors])
        cropped = time.perf_counter()
        with torch.inference_mode():
            maps = self.net.respond(st.template, self.features(patches))[:, 0]
            maps = maps.float().cpu().numpy()
        self.last_timing.update(crop=cropped - start, network=time.perf_counter() - cropped)
        return maps

    def _step(self, image) -> float:
        cfg = self.config
        maps = self.responses(image)
        start = time.perf_counter()
        if not np.isfinite(maps).all():
            self.last_timing['decode'] = time.perf_counter() - start
            return 0.0
        if self.window is None:
            self.window = hann2d(cfg.response_up * maps.shape[-1], normalise=True)
        out = decode(maps, self.factors, self.state.s_x, scale_penalty=cfg.scale_penalty,
                     window_influence=cfg.window_influence, response_up=cfg.response_up,
                     total_stride=self.net.stride, instance_size=cfg.instance_size,
                     window=self.window)
        self.move(out.displacement, scale_update(cfg.scale_lr, self.factors[out.scale_index]),
                  image.shape)
        self.last_timing['decode'] = time.perf_counter() - start
        return 1.0 / (1.0 + math.exp(-out.raw_peak))
