"""DSiam's RLR and CirConv layers (spec §3, Eqs. 3–8), differentiable through torch.fft.

Per channel k of B×C×H×W features, with N = H·W and ⊛ 2-D circular convolution:
    RLR(X, Y, λ):  T̂_k = conj(X̂_k)·Ŷ_k / (|X̂_k|² + λ·N),  X̂ = FFT2(h⊙X_k), Ŷ = FFT2(h⊙Y_k)
    apply(T̂, Z):   real(IFFT2(T̂_k · FFT2(h⊙Z_k)))
Without the window h, T = IFFT2(T̂) minimises ‖T ⊛ X − Y‖² + λN‖T‖² (check DS-1).
Spectra are one-sided (torch.fft.rfft2): B×C×H×(W//2+1) complex.
"""
from typing import Optional

import torch

from siam_tracker_ros.ops.windows import hann2d


class TransformShapeError(ValueError):
    """Features or a transform do not have the shapes RLR/CirConv need."""


def feature_window(like: torch.Tensor) -> torch.Tensor:
    """The H×W Hann window h of spec §3 for features `like` (…×H×W), in their dtype/device."""
    height, width = like.shape[-2:]
    return torch.as_tensor(hann2d(height, width), dtype=like.dtype, device=like.device)


def spectrum(features: torch.Tensor, window: Optional[torch.Tensor] = None) -> torch.Tensor:
    """FFT2(h⊙F) over the last two dimensions, one-sided."""
    if window is not None:
        features = features * window
    return torch.fft.rfft2(features)


def rlr(x: torch.Tensor, y: torch.Tensor, lam, window: Optional[torch.Tensor] = None):
    """The per-channel transform T̂ that maps x to y (Eq. 4 with λ per element).

    Args:
        x, y: features of equal shape …×H×W (float32 or float64).
        lam: λ ≥ 0, a float or a tensor broadcastable to the spectrum (differentiable).
        window: optional H×W window h applied before each FFT.

    Returns:
        T̂, the one-sided spectrum …×H×(W//2+1), complex.
    """
    if x.shape != y.shape or x.dim() < 2:
        raise TransformShapeError(f'RLR needs two feature tensors of one shape (…×H×W), got '
                                  f'{tuple(x.shape)} and {tuple(y.shape)}')
    x_hat, y_hat = spectrum(x, window), spectrum(y, window)
    lam = torch.as_tensor(lam, dtype=x.dtype, device=x.device)
    power = x_hat.real ** 2 + x_hat.imag ** 2  # |X̂|², smooth at 0 unlike abs()
    return x_hat.conj() * y_hat / (power + lam * x.shape[-2] * x.shape[-1])


def apply_transform(t_hat: Optional[torch.Tensor], z: torch.Tensor,
                    window: Optional[torch.Tensor] = None) -> torch.Tensor:
    """CirConv: T ⊛ (h⊙Z) per channel, as a real tensor shaped like z; None is "off" (z).

    T̂ broadcasts over leading dimensions, e.g. one 1×C transform over n search scales.
    """
    if t_hat is None:
        return z
    height, width = z.shape[-2:]
    if t_hat.shape[-2:] != (height, width // 2 + 1):
        raise TransformShapeError(f'transform spectrum {tuple(t_hat.shape)} does not fit '
                                  f'features {tuple(z.shape)} (expected …×{height}×'
                                  f'{width // 2 + 1})')
    return torch.fft.irfft2(t_hat * spectrum(z, window), s=(height, width))


def blend(features: torch.Tensor, transformed: torch.Tensor, alpha: float) -> torch.Tensor:
    """(1 − α)·F + α·apply(T̂, F), the official code's blended use (α = 1: Eq. 2 literally)."""
    return (1 - alpha) * features + alpha * transformed
