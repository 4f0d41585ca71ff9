"""`siamrpn`: SiamRPN (Li et al. 2018), spec §6 with the RPN-family decoder of §1.5."""
from dataclasses import dataclass
from typing import ClassVar
from pathlib import Path

from siam_tracker_ros.models.pretrained_backbones import MOBILENETV2_FILE
from siam_tracker_ros.models.siamrpn_net import (SiamRPNNet, build_siamrpn_alexnet,
                                                 build_siamrpn_mobilenetv2)
from siam_tracker_ros.registry import TrackerEntry, register
from siam_tracker_ros.trackers.rpn import RPNConfig, RPNTracker, siamfc_backbone_state
from siam_tracker_ros.training.rpn_objectives import SIAMRPN_ANCHOR_PAIRS

BACKBONES = ('alexnet', 'mobilenetv2')
# §6 presets (DaSiamRPN); config/siamrpn.yaml holds `otb` with the size rate lr 0.10 chosen on
# sot_val for the shipped weights. Use: build_tracker('siamrpn',
# **PRESETS['vot']).
PRESETS = {'otb': {'penalty_k': 0.22, 'window_influence': 0.40, 'lr': 0.30},
           'vot': {'penalty_k': 0.04, 'window_influence': 0.44, 'lr': 0.45}}


@dataclass(frozen=True)
class SiamRPNConfig(RPNConfig):
    """SiamRPN settings (config/siamrpn.yaml): the RPN-family fields plus the backbone."""

    CHOICES: ClassVar[dict] = {'backbone': tuple(BACKBONES)}

    backbone: str


def build_siamrpn_net(config, backbone=None, pretrained_dir=None) -> SiamRPNNet:
    """AlexNet-legacy + UP-channel RPN, or the MobileNetV2 trunk + depthwise RPN (ImageNet
    trunk from `pretrained_dir` when given)."""
    name = backbone or config.backbone
    if name == 'alexnet':
        if pretrained_dir is not None:
            raise ValueError('siamrpn alexnet has no pretrained trunk file; train it from '
                             'scratch (pretrained: false) or use mobilenetv2')
        return build_siamrpn_alexnet()
    if name == 'mobilenetv2':
        weights = Path(pretrained_dir) / MOBILENETV2_FILE if pretrained_dir else None
        if weights is not None and not weights.is_file():
            raise FileNotFoundError(f'pretrained weights not found: {weights} '
                                    '(run scripts/fetch_training_data.sh)')
        return build_siamrpn_mobilenetv2(pretrained=weights is not None, weights_path=weights)
    raise ValueError(f'unknown siamrpn backbone {name!r}; known: {", ".join(BACKBONES)}')


register(TrackerEntry(
    name='siamrpn', tracker_class=RPNTracker, config_class=SiamRPNConfig,
    build_net=build_siamrpn_net, objective=SIAMRPN_ANCHOR_PAIRS,
    start_sources=('siamfc',), adapt_state=siamfc_backbone_state,
    summary='SiamRPN: AlexNet-legacy UP-channel RPN (or MobileNetV2 depthwise), 5 anchors'))
