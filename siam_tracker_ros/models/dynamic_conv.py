"""Dynamic convolution (spec §5; Chen et al., CVPR 2020): K kernels mixed per input sample.

W(x) = Σ_k π_k(x)·W_k with π(x) = softmax(FC₂(ReLU(FC₁(GAP(x)))) / τ), so π sums to 1 and lies
in [0, 1] (seed 000, Eqs. 1–2). No bias (§5). Each sample gets its own aggregated kernel; the
batch runs as one grouped convolution (one group block per sample).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

DEFAULT_KERNELS = 4


class KernelAttention(nn.Module):
    """π(x) over K kernels: GAP → FC₁ (no bias) → ReLU → FC₂ (bias) → softmax(· / τ)."""

    def __init__(self, in_channels: int, kernels: int):
        super().__init__()
        hidden = max(in_channels // 4, 4)
        self.fc1 = nn.Linear(in_channels, hidden, bias=False)
        self.fc2 = nn.Linear(hidden, kernels)

    def forward(self, x: torch.Tensor, temperature: float) -> torch.Tensor:
        logits = self.fc2(F.relu(self.fc1(x.mean(dim=(2, 3)))))
        return torch.softmax(logits / temperature, dim=1)


class DynamicConv2d(nn.Module):
    """Conv2d with K bias-free kernels aggregated per sample by `KernelAttention`.

    `temperature` (τ) is a plain attribute, not saved with the weights: set it with
    `set_temperature` from `dynamic_temperature(epoch)` while training. It applies in training
    mode only; in eval mode (inference, validation during training) τ is 1 (§5).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, kernels=DEFAULT_KERNELS):
        super().__init__()
        if in_channels % groups or out_channels % groups:
            raise ValueError(f'channels {in_channels}→{out_channels} not divisible by '
                             f'groups {groups}')
        if kernels < 1:
            raise ValueError(f'kernels must be ≥ 1, got {kernels}')
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size, self.stride = _pair(kernel_size), _pair(stride)
        self.padding, self.dilation = _pair(padding), _pair(dilation)
        self.kernels = kernels
        self.temperature = 1.0
        self.weight = nn.Parameter(torch.empty(kernels, out_channels, in_channels // groups,
                                               *self.kernel_size))
        self.attention = KernelAttention(in_channels, kernels)
        for kernel in self.weight.data:   # independent kernels, nn.Conv2d's default init
            nn.init.kaiming_uniform_(kernel, a=math.sqrt(5))

    @classmethod
    def like(cls, conv: nn.Conv2d, kernels=DEFAULT_KERNELS):
        """Fresh independent kernels with `conv`'s geometry, on its device and dtype."""
        if conv.bias is not None:
            raise ValueError('DynamicConv2d has no bias; the static conv has one')
        if conv.padding_mode != 'zeros' or isinstance(conv.padding, str):
            raise ValueError(f'only explicit zero padding is supported, got {conv.padding!r}')
        layer = cls(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                    conv.padding, conv.dilation, conv.groups, kernels)
        return layer.to(device=conv.weight.device, dtype=conv.weight.dtype)

    @classmethod
    def from_static(cls, conv: nn.Conv2d, kernels=DEFAULT_KERNELS, perturbation=0.01):
        """K copies of `conv`'s kernel, each plus N(0, (perturbation·std(kernel))²) noise.

        Identical copies would give the attention zero gradient (§5), hence the perturbation.
        """
        layer = cls.like(conv, kernels)
        with torch.no_grad():
            static = conv.weight.detach()
            noise = torch.randn_like(layer.weight) * (perturbation * static.std())
            layer.weight.copy_(static.unsqueeze(0) + noise)
        return layer

    def kernel_attention(self, x: torch.Tensor) -> torch.Tensor:
        """π(x): B×K, rows sum to 1; at τ = `temperature` in training mode, else at τ = 1."""
        return self.attention(x, self.temperature if self.training else 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch = x.size(0)
        mix = self.kernel_attention(x)                                   # B×K
        weight = (mix @ self.weight.flatten(1)).view(batch * self.out_channels,
                                                     *self.weight.shape[2:])
        out = F.conv2d(x.reshape(1, -1, *x.shape[2:]), weight, None, self.stride,
                       self.padding, self.dilation, self.groups * batch)
        return out.view(batch, self.out_channels, *out.shape[2:])

    def extra_repr(self) -> str:
        return (f'{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, '
                f'stride={self.stride}, padding={self.padding}, dilation={self.dilation}, '
                f'groups={self.groups}, kernels={self.kernels}')


def make_dynamic(module: nn.Module, kernels=DEFAULT_KERNELS, perturbation=0.01,
                 keep=lambda name: False) -> nn.Module:
    """Replace every nn.Conv2d under `module` (in place) unless `keep(qualified name)`.

    perturbation=None gives independently initialised kernels (training from scratch);
    a number copies the static kernel K times with that noise (`DynamicConv2d.from_static`).
    """
    for name, child in list(module.named_modules()):
        for attr, conv in list(child.named_children()):
            qualified = f'{name}.{attr}' if name else attr
            if not isinstance(conv, nn.Conv2d) or keep(qualified):
                continue
            setattr(child, attr, DynamicConv2d.like(conv, kernels) if perturbation is None
                    else DynamicConv2d.from_static(conv, kernels, perturbation))
    return module


def _pair(value) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def set_temperature(module: nn.Module, temperature: float) -> None:
    """Set τ on every DynamicConv2d under `module`."""
    if not temperature > 0:
        raise ValueError(f'temperature must be > 0, got {temperature}')
    for layer in module.modules():
        if isinstance(layer, DynamicConv2d):
            layer.temperature = float(temperature)


def dynamic_temperature(epoch: float, start=30.0, end=1.0, anneal_epochs=10.0) -> float:
    """τ schedule of §5: `start` at epoch 0, linear to `end` at `anneal_epochs`, then `end`."""
    if epoch < 0:
        raise ValueError(f'epoch must be ≥ 0, got {epoch}')
    return start + (end - start) * min(epoch / anneal_epochs, 1.0)
