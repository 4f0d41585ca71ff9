"""Channel and global attention blocks (spec §4): SE (SENet) and GAM (seed 001, Eqs. 3–6).

Both map B×C×H×W to the same shape and can follow any conv layer.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def hidden_width(channels: int, reduction: int) -> int:
    """C/r, or a ValueError when it is not a positive integer."""
    if channels <= 0 or reduction <= 0 or channels % reduction:
        raise ValueError(f'channels {channels} must be a positive multiple of the reduction '
                         f'ratio {reduction}')
    return channels // reduction


class SqueezeExcitation(nn.Module):
    """SE block (spec §4, F from SENet): s = σ(FC₂(ReLU(FC₁(GAP(U))))), U' = U ⊙ s.

    FC₁ is C→C/r and FC₂ is C/r→C, both with biases.
    """

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        hidden = hidden_width(channels, reduction)
        self.reduce = nn.Linear(channels, hidden)
        self.expand = nn.Linear(hidden, channels)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        weights = torch.sigmoid(self.expand(F.relu(self.reduce(u.mean(dim=(2, 3))))))
        return u * weights[:, :, None, None]


class GlobalAttention(nn.Module):
    """GAM (spec §4, seed 001 Eqs. 3–6): U' = U ⊙ tanh((G + S) + G ⊙ S).

    Global (channel) branch: g = W_e·ReLU(W_r·GAP(U) + b_r) + b_e, C→C/r→C, no sigmoid.
    Local (spatial) branch: S = v_c ∗ ReLU(v_r ∗ U + b_r') + b_c', 1×1 convs C→C/r→1.
    g is broadcast over H×W (G) and S over C.
    """

    def __init__(self, channels: int = 256, reduction: int = 4):
        super().__init__()
        hidden = hidden_width(channels, reduction)
        self.channel_reduce = nn.Linear(channels, hidden)
        self.channel_expand = nn.Linear(hidden, channels)
        self.spatial_reduce = nn.Conv2d(channels, hidden, 1)
        self.spatial_collapse = nn.Conv2d(hidden, 1, 1)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        g = self.channel_expand(F.relu(self.channel_reduce(u.mean(dim=(2, 3)))))[:, :, None, None]
        s = self.spatial_collapse(F.relu(self.spatial_reduce(u)))
        return u * torch.tanh((g + s) + g * s)
