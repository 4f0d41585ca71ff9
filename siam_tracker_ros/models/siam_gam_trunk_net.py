"""siam_gam's modules on the padded ImageNet MobileNetV2 trunk (docs/trackers/siam_gam.md).

The paper's two AlexNet subnets cannot be trained well here (our SiamFC AlexNet scores 0.540
on sot_val, the MobileNetV2 one 0.647), so the shipped siam_gam keeps the paper's modules and
puts them on the frozen trunk of the shipped siamfc, which both subnets share (it runs once):

* subnet A: three stride-8 taps (features.6, .10, .13: 32, 64, 96 ch) → the paper's fusion
  (BN per tap, concat, 1×1 conv; no max-pool, the taps already share one size) → GAM;
* subnet B: siamfc's neck (1×1 conv + BN over features.6 and .13) → SE;
* R = (R_A + R_B)/2, each subnet with its own SiamFC head (0.001·xcorr + b).

Template features keep their centre half (8 of 16 cells for a 127 crop, 12 of 24 for 191), so
every template size sees the same context; `use_fusion=False` projects the deepest tap alone.
"""
import torch
import torch.nn as nn

from siam_tracker_ros.models.attention import GlobalAttention, SqueezeExcitation
from siam_tracker_ros.models.pretrained_backbones import MobileNetV2Backbone, crop_center
from siam_tracker_ros.models.siam_gam_net import AveragedSubnets, MultiLayerFusion
from siam_tracker_ros.models.siamfc_net import SiamFCNet

TAP_CHANNELS = (32, 64, 96)   # MobileNetV2 features.6, .10, .13
MID_SPLIT = 4                 # features.7–10 of the trunk's `high` part end at the middle tap
OUT_CHANNELS = 256


def centre_half(features: torch.Tensor) -> torch.Tensor:
    """The centre k×k cells of n×n features, k ≈ n/2 with n − k even (the kernel's centre is
    the map's centre, so the zero-displacement response cell is the response's centre)."""
    size = features.size(-1)
    return crop_center(features, size // 2 + (size - size // 2) % 2)


class FusionAttentionHead(nn.Module):
    """Subnet A on the trunk taps: fusion of the three taps (or the deepest alone) → GAM."""

    stride = 8
    out_channels = OUT_CHANNELS

    def __init__(self, use_fusion: bool = True, use_gam: bool = True):
        super().__init__()
        channels = TAP_CHANNELS if use_fusion else TAP_CHANNELS[-1:]
        self.taps_used = len(channels)       # the last ones: all three, or the deepest
        self.fusion = MultiLayerFusion(channels, (1,) * len(channels), OUT_CHANNELS)
        self.gam = GlobalAttention(OUT_CHANNELS, 4) if use_gam else None

    def forward(self, taps: tuple) -> torch.Tensor:
        features = self.fusion(taps[-self.taps_used:])
        return self.gam(features) if self.gam is not None else features

    crop_template = staticmethod(centre_half)


class SENeckHead(nn.Module):
    """Subnet B on the trunk taps: siamfc's neck over features.6 and .13 → SE (r = 16)."""

    stride = 8
    out_channels = OUT_CHANNELS

    def __init__(self, use_se: bool = True):
        super().__init__()
        self.neck = nn.Sequential(
            nn.Conv2d(TAP_CHANNELS[0] + TAP_CHANNELS[-1], OUT_CHANNELS, 1, bias=False),
            nn.BatchNorm2d(OUT_CHANNELS))
        nn.init.kaiming_uniform_(self.neck[0].weight, a=1)
        self.se = SqueezeExcitation(OUT_CHANNELS, 16) if use_se else None

    def forward(self, taps: tuple) -> torch.Tensor:
        features = self.neck(torch.cat([taps[0], taps[-1]], 1))
        return self.se(features) if self.se is not None else features

    crop_template = staticmethod(centre_half)


class TrunkGAMNet(AveragedSubnets):
    """R = (R_A + R_B)/2 of two heads over one shared MobileNetV2 trunk (same contract and
    switches as SiamGAMNet: template → per-subnet kernels, search → per-subnet features)."""

    stride = 8

    def __init__(self, trunk: MobileNetV2Backbone, use_se: bool = True, use_gam: bool = True,
                 use_fusion: bool = True, subnets: str = 'AB'):
        super().__init__(subnets)
        if not isinstance(trunk, MobileNetV2Backbone):
            raise ValueError(f'siam_gam on a pretrained trunk needs MobileNetV2, '
                             f'not {type(trunk).__name__}')
        trunk.neck = None          # subnet B holds its own neck
        self.trunk = trunk
        self.subnet_a = (SiamFCNet(FusionAttentionHead(use_fusion, use_gam))
                         if 'A' in subnets else None)
        self.subnet_b = SiamFCNet(SENeckHead(use_se)) if 'B' in subnets else None

    def shared(self, image: torch.Tensor) -> tuple:
        """The three trunk taps (32, 64, 96 ch at stride 8), computed once for both subnets."""
        low = self.trunk.low(image)
        mid = self.trunk.high[:MID_SPLIT](low)
        return low, mid, self.trunk.high[MID_SPLIT:](mid)

    def trunk_modules(self) -> list:
        """The frozen ImageNet trunk."""
        return [self.trunk.low, self.trunk.high]

    def pretrained_modules(self) -> list:
        """Modules that start from trained weights: the trunk, subnet B's neck and subnet A's
        fusion (siamfc's neck folded in); `freeze_bn` keeps their BN statistics."""
        heads = [net.backbone for net in self.active_subnets()]
        return self.trunk_modules() + [getattr(h, 'neck', None) or h.fusion for h in heads]
