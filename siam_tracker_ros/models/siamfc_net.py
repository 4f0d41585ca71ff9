"""SiamFC network: shared backbone, full cross-correlation and the fixed-gain adjust (§1.3)."""
import torch
import torch.nn as nn

from siam_tracker_ros.models.backbones import template_crop, trunk_of
from siam_tracker_ros.ops.correlation import xcorr

ADJUST_GAIN = 0.001


class SiamFCNet(nn.Module):
    """response = 0.001 · xcorr(φ(z), φ(x)) + b (the network contract of
    docs/architecture.md: template → kernel, search → features, head → maps)."""

    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.backbone = backbone
        self.adjust_bias = nn.Parameter(torch.zeros(1))

    @property
    def stride(self) -> int:
        return self.backbone.stride

    def template(self, z: torch.Tensor) -> torch.Tensor:
        """Template features (centre-cropped by padded backbones): the correlation kernel."""
        return template_crop(self.backbone, self.backbone(z))

    def search(self, x: torch.Tensor) -> torch.Tensor:
        """Search features."""
        return self.backbone(x)

    def head(self, kernel: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """Response logits B×1×r×r."""
        return ADJUST_GAIN * xcorr(kernel, features) + self.adjust_bias

    def trunk_modules(self) -> list:
        """The pretrained trunk's modules (frozen by `freeze_trunk` training)."""
        return trunk_of(self.backbone)

    def forward(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.template(z), self.search(x))
