"""The SiamFC family layer (spec §1.4): a scale pyramid of search crops, s_x and its clamp to
[min_scale, max_scale]·s_x0, the cosine window and the §1.4 decoder.

Used by siamfc, dsiam, siam_gam and dyconv_fusion: their networks return B×1×r×r logits.
"""
import math
from dataclasses import dataclass

import numpy as np
import torch

from siam_tracker_ros.ops.crop import crop_patch, template_side
from siam_tracker_ros.ops.windows import hann2d
from siam_tracker_ros.trackers.siamese import SiameseConfig, SiameseTracker, TargetState
from siam_tracker_ros.trackers.siamfc_decoder import (Decoded, decode, scale_factors,
                                                      scale_update, upsample)


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

    def __post_init__(self):
        super().__post_init__()
        if not 0.0 <= self.hold_score < 1.0:
            raise ValueError(f'hold_score must be in [0, 1), got {self.hold_score}')
        if self.scale_num < 1 or self.scale_num % 2 == 0:
            raise ValueError(f'scale_num must be odd and >= 1, got {self.scale_num}')
        if not 0.0 <= self.window_influence <= 1.0:
            raise ValueError(f'window_influence must be in [0, 1], got {self.window_influence}')


@dataclass
class PyramidState(TargetState):
    """TargetState plus the search side s_x and its value at init, s_x0."""

    s_x: float
    s_x0: float


class ScalePyramidTracker(SiameseTracker):
    """n-scale search, cosine window, damped scale update; the template is fixed."""

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.factors = scale_factors(config.scale_num, config.scale_step)
        self._window = None

    def start_state(self, center, size, pad_color, kernel) -> PyramidState:
        cfg = self.config
        s_x = template_side(size[0], size[1], cfg.context) * cfg.instance_size / cfg.exemplar_size
        return PyramidState(center, size, pad_color, kernel, s_x, s_x)

    def search_crops(self, image) -> np.ndarray:
        """The n search crops (instance_size², one per scale factor)."""
        st, cfg = self.state, self.config
        return np.stack([crop_patch(image, st.center, st.s_x * f, cfg.instance_size,
                                    st.pad_color) for f in self.factors])

    def responses(self, crops) -> np.ndarray:
        """n×r×r float32 response logits."""
        with torch.inference_mode():
            return super().responses(crops)[:, 0].float().cpu().numpy()

    def decode(self, maps: np.ndarray):
        """The §1.4 decision on the upsampled maps; None when a map holds NaN or inf."""
        if not np.isfinite(maps).all():
            return None
        cfg = self.config
        upsampled = upsample(maps, cfg.response_up)
        return decode(maps, self.factors, self.state.s_x, scale_penalty=cfg.scale_penalty,
                      window_influence=cfg.window_influence, response_up=cfg.response_up,
                      total_stride=self.net.stride, instance_size=cfg.instance_size,
                      window=self.window(upsampled.shape[-1]), upsampled=upsampled)

    def update(self, decoded: Decoded, image_shape) -> float:
        """Move, rescale by the damped factor of the chosen scale; score = sigmoid(raw peak).
        Below `hold_score` the target keeps its place and size (occluded or out of view:
        the peak is then on something else)."""
        score = sigmoid(decoded.raw_peak)
        if score < self.config.hold_score:
            return score
        self.move_center(decoded.displacement, image_shape)
        self.rescale(scale_update(self.config.scale_lr, self.factors[decoded.scale_index]))
        return score

    def decoded_map(self, maps: np.ndarray, decoded: Decoded) -> np.ndarray:
        """The chosen (pair, scale) r×r logit map."""
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


def sigmoid(value: float) -> float:
    """1 / (1 + e^−v), 0 for very negative v (no overflow)."""
    return 0.0 if value < -700 else 1.0 / (1.0 + math.exp(-value))
