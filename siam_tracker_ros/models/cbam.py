"""CBAM with the seed-000 weighting (spec §5, §9.6, §9.11): channel then spatial attention.

Channel: M_c = σ(β₁·MLP(MaxPool(Y)) + β₂·MLP(AvgPool(Y))), β₁ = β₂ = 0.5, MLP C→C/r→C with
ReLU and biases, shared by both branches; Y' = M_c ⊙ Y.
Spatial: M_s = σ(conv3×3([mean_c Y'; max_c Y'])), padding 1, with bias; output M_s ⊙ Y'.

Seed 000's Eq. 3 is garbled. It is read here as one sigmoid over the weighted sum of the two
MLP outputs (§5). The other reading, β₁·σ(MLP(Max)) + β₂·σ(MLP(Avg)) (one sigmoid per branch,
§9.11), agrees at zero weights (both give 0.5) but not in general; DYN-4 tests the difference.
"""
import torch
import torch.nn as nn

BRANCH_WEIGHTS = (0.5, 0.5)   # (β₁ max-pool branch, β₂ average-pool branch), seed 000


class ChannelAttention(nn.Module):
    """M_c = σ(β₁·MLP(max) + β₂·MLP(avg)), B×C×1×1."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        hidden = max(channels // reduction, 1)
        self.mlp = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(inplace=True),
                                 nn.Linear(hidden, channels))

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        beta_max, beta_avg = BRANCH_WEIGHTS
        logits = beta_max * self.mlp(y.amax(dim=(2, 3))) + beta_avg * self.mlp(y.mean(dim=(2, 3)))
        return torch.sigmoid(logits)[:, :, None, None]


class SpatialAttention(nn.Module):
    """M_s = σ(conv([mean over channels; max over channels])), B×1×H×W."""

    def __init__(self, kernel_size: int = 3):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat([y.mean(dim=1, keepdim=True), y.amax(dim=1, keepdim=True)], dim=1)
        return torch.sigmoid(self.conv(pooled))


class CBAM(nn.Module):
    """Y'' = M_s(Y') ⊙ Y' with Y' = M_c(Y) ⊙ Y; shape-preserving."""

    def __init__(self, channels: int, reduction: int = 16, spatial_kernel: int = 3):
        super().__init__()
        self.channel = ChannelAttention(channels, reduction)
        self.spatial = SpatialAttention(spatial_kernel)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        y = self.channel(y) * y
        return self.spatial(y) * y
