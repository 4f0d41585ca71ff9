"""`dastsiam`: DASTSiam (Huang et al., seed 003), spec §7: ST template fusion, DA search
augmentation, p = (p₁ + p₂)/2 in the §1.5 decoder and the confidence-gated template update."""
from dataclasses import dataclass
from typing import ClassVar
from pathlib import Path

import numpy as np
import torch

from siam_tracker_ros.models.dastsiam_net import TRUNKS, DASTSiamNet, build_dastsiam
from siam_tracker_ros.models.pretrained_backbones import MOBILENETV2_FILE
from siam_tracker_ros.registry import TrackerEntry, register
from siam_tracker_ros.trackers import rpn_device_decoder as device_decoder
from siam_tracker_ros.trackers.rpn import (RPNConfig, RPNState, RPNTracker,
                                           siamfc_backbone_state)
from siam_tracker_ros.trackers.rpn_decoder import (DastConfidence, RpnDecoded, dastsiam_gate,
                                                   dastsiam_probabilities)
from siam_tracker_ros.training.rpn_objectives import DASTSIAM_TRIPLETS

RESNET50_FILE = 'resnet50.pth'   # torchvision layout, in the training cache's weights/
TRUNK_FILES = {'resnet50': RESNET50_FILE, 'mobilenetv2': MOBILENETV2_FILE}
# §7 presets (pysot SiamRPN++ r50); config/dastsiam.yaml holds `vot`.
PRESETS = {'vot': {'penalty_k': 0.05, 'window_influence': 0.42, 'lr': 0.38},
           'otb': {'penalty_k': 0.24, 'window_influence': 0.5, 'lr': 0.25}}


@dataclass(frozen=True)
class DASTSiamConfig(RPNConfig):
    """DASTSiam settings (config/dastsiam.yaml).

    trunk: resnet50 | mobilenetv2; share_backbone: one trunk for both branches.
    use_st, use_da: the ST encoder and DA decoder (ablations; both off = "Modified SiamRPN").
    template_update: the gated update on/off; update_threshold: c = p₁ + p₂ above it updates.
    """

    CHOICES: ClassVar[dict] = {'trunk': tuple(TRUNKS)}

    trunk: str
    share_backbone: bool
    use_st: bool
    use_da: bool
    template_update: bool
    update_threshold: float

    def __post_init__(self):
        super().__post_init__()
        if not 0.0 <= self.update_threshold <= 2.0:
            raise ValueError(f'update_threshold must be in [0, 2] (c = p1 + p2), got '
                             f'{self.update_threshold}')


def build_dastsiam_net(config, backbone=None, pretrained_dir=None) -> DASTSiamNet:
    """The §7 network on `backbone` (the weights file's trunk), else the config's trunk;
    ImageNet trunk weights from `pretrained_dir` when given."""
    trunk = backbone or config.trunk
    weights = Path(pretrained_dir) / TRUNK_FILES.get(trunk, '') if pretrained_dir else None
    if weights is not None and not weights.is_file():
        raise FileNotFoundError(f'pretrained weights not found: {weights}')
    return build_dastsiam(trunk, config.share_backbone, config.use_st, config.use_da,
                          pretrained=weights is not None, weights_path=weights)


@dataclass(frozen=True)
class DastDecoded:
    """The §1.5 step on p = (p₁ + p₂)/2, and the confidence c that gates the update."""

    step: RpnDecoded
    confidence: DastConfidence


@dataclass
class DastState(RPNState):
    """RPNState plus f_i, the first template's embedding (never changes). `kernel` is f_z*."""

    first: object = None


class DASTSiamTracker(RPNTracker):
    """RPN decoder on (p₁ + p₂)/2; f_z* = ST(f_i, f_a, f_c) updated when c > threshold."""

    engine_unsupported = 'its init and template update call embed and fuse_templates'

    def start_state(self, center, size, pad_color, kernel) -> DastState:
        return DastState(center, size, pad_color, kernel, self.scale_z(size))

    def on_init(self, image) -> None:
        """Cache f_i = N(B(z₁)); the kernel f_z* = ST(f_i, f_i, f_i) is already in the state."""
        st = self.state
        st.first = self.embed(self.exemplar_crop(image, st.center, st.size, st.pad_color))

    def probabilities(self, maps: tuple) -> list:
        """[p = (p₁ + p₂)/2, p₁, p₂] (§7 Inference step 2)."""
        p1, p2 = dastsiam_probabilities(maps[0], maps[1])
        return [(p1 + p2) / 2, p1, p2]

    def device_probabilities(self, maps: tuple) -> list:
        p1 = device_decoder.foreground_probability(maps[0])
        p2 = device_decoder.logistic(maps[1])
        return [(p1 + p2) / 2, p1, p2]

    def decoded(self, step: RpnDecoded, at_best: tuple) -> DastDecoded:
        """The step and the gate on c = p₁[best] + p₂[best]."""
        return DastDecoded(step, dastsiam_gate(at_best[1], at_best[2],
                                               self.config.update_threshold))

    def update(self, decoded: DastDecoded, image_shape) -> float:
        """The §1.5 update; the score p[best] = (p₁[best] + p₂[best])/2 = c/2 (§7)."""
        return super().update(decoded.step, image_shape)

    def after_step(self, image, decoded: DastDecoded) -> None:
        """§7 step 3: if c > threshold, f_c = N(B(z_t)) at the new box, f_a = the previous
        f_z*, f_z* = ST(f_i, f_a, f_c)."""
        if not (self.config.template_update and decoded.confidence.update):
            return
        st = self.state
        current = self.embed(self.exemplar_crop(image, st.center, st.size, st.pad_color))
        with torch.inference_mode():
            st.kernel = self._runner.net.fuse_templates(st.first, st.kernel, current)

    def embed(self, patch):
        """N(B(z)) of one template crop on the execution path."""
        runner = self.runner()
        with torch.inference_mode():
            return runner.net.embed(runner.inputs(patch[None]).to(runner.input_dtype))


register(TrackerEntry(
    name='dastsiam', tracker_class=DASTSiamTracker, config_class=DASTSiamConfig,
    build_net=build_dastsiam_net, objective=DASTSIAM_TRIPLETS,
    start_sources=('siamfc',), adapt_state=siamfc_backbone_state,
    summary='DASTSiam: ResNet-50 RPN, ST template fusion, DA search decoder, gated update'))
