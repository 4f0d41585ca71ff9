"""SiamFC network: shared backbone, full cross-correlation and the fixed-gain adjust (§1.3)."""
import torch
import torch.nn as nn

from siam_tracker_ros.ops.correlation import xcorr

ADJUST_GAIN = 0.001


class SiamFCNet(nn.Module):
    """response = 0.001 · xcorr(φ(z), φ(x)) + b."""

    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.backbone = backbone
        self.adjust_bias = nn.Parameter(torch.zeros(1))

    @property
    def stride(self) -> int:
        return self.backbone.stride

    def template(self, z: torch.Tensor) -> torch.Tensor:
        """Template features (centre-cropped by padded backbones)."""
        features = self.backbone(z)
        crop = getattr(self.backbone, 'crop_template', None)
        return crop(features) if crop else features

    def search(self, x: torch.Tensor) -> torch.Tensor:
        """Search features."""
        return self.backbone(x)

    def respond(self, z_features: torch.Tensor, x_features: torch.Tensor) -> torch.Tensor:
        """Response logits from features: B×1×r×r."""
        return ADJUST_GAIN * xcorr(z_features, x_features) + self.adjust_bias

    def forward(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.respond(self.template(z), self.search(x))
