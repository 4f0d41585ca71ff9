"""Correlation operators (spec §1.3): conv2d semantics, no flip, no padding, stride 1."""
import torch
import torch.nn.functional as F


def xcorr(z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Full cross-correlation summed over channels.

    Args:
        z: templates, B×C×h×w (one kernel per sample), or B×K×C×h×w (K kernels per sample,
            e.g. SiamRPN's 2k classification kernels, §6). Batch 1 shares them over the batch.
        x: search features, B×C×H×W.

    Returns:
        B×K×(H−h+1)×(W−w+1), with K = 1 for a 4-D z.
    """
    kernels = z if z.dim() == 5 else z.unsqueeze(1)
    if kernels.size(0) == 1:
        return F.conv2d(x, kernels[0])
    batch, channels = x.shape[:2]
    out = F.conv2d(x.reshape(1, batch * channels, *x.shape[2:]), kernels.flatten(0, 1),
                   groups=batch)
    return out.reshape(batch, kernels.size(1), *out.shape[2:])


def dwxcorr(z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Depthwise cross-correlation: the same sum per channel, B×C×(H−h+1)×(W−w+1)."""
    batch, channels = x.shape[:2]
    if z.size(0) == 1 and batch > 1:
        z = z.expand(batch, -1, -1, -1)
    kernel = z.reshape(batch * channels, 1, *z.shape[2:])
    out = F.conv2d(x.reshape(1, batch * channels, *x.shape[2:]), kernel,
                   groups=batch * channels)
    return out.reshape(batch, channels, *out.shape[2:])
