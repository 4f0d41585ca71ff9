"""`siamfc`: SiamFC-3s (Bertinetto et al. 2016), spec §2 with the decoder of §1.4."""
from dataclasses import dataclass

from siam_tracker_ros.models.backbones import build_backbone
from siam_tracker_ros.models.siamfc_net import SiamFCNet
from siam_tracker_ros.registry import TrackerEntry, register
from siam_tracker_ros.training.objectives import LOGISTIC_PAIRS
from siam_tracker_ros.trackers.pyramid import PyramidConfig, ScalePyramidTracker


@dataclass(frozen=True)
class SiamFCConfig(PyramidConfig):
    """SiamFC settings (config/siamfc.yaml): the SiamFC-family fields plus the backbone."""

    backbone: str


def build_siamfc_net(config, backbone=None, pretrained_dir=None) -> SiamFCNet:
    """SiamFCNet on `backbone` (the weights file's), else the config's backbone."""
    return SiamFCNet(build_backbone(backbone or config.backbone, pretrained_dir))


register(TrackerEntry(
    name='siamfc', tracker_class=ScalePyramidTracker, config_class=SiamFCConfig,
    build_net=build_siamfc_net, objective=LOGISTIC_PAIRS,
    summary='SiamFC-3s, full cross-correlation; AlexNet or MobileNetV2 backbone'))
