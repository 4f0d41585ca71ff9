"""Where and how a network runs: device choice, threads, precision and CPU speed-ups.

Execution paths (`backend`):
    eager     the module as built, fp32.
    fused     conv-BN folded, channels_last memory format.
    compiled  fused + torch.compile with weight freezing (falls back to fused if it fails).
Precision: fp32, bf16 (CPU autocast-free: weights and inputs in bf16) or fp16 (CUDA only).
"""
import copy
import logging
import warnings

import numpy as np
import torch
import torch.nn as nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

LOG = logging.getLogger(__name__)
BACKENDS = ('eager', 'fused', 'compiled')
PRECISIONS = ('fp32', 'bf16', 'fp16')


def resolve_device(requested: str = 'auto') -> torch.device:
    """'auto' | 'cpu' | 'cuda' | 'cuda:N' -> the device that will be used.

    CUDA asked for but absent falls back to the CPU with a warning; a malformed name is an error.
    """
    name = (requested or 'auto').strip().lower()
    if name == 'auto':
        return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"unknown device {requested!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type not in ('cpu', 'cuda'):
        raise ValueError(f"unsupported device {requested!r}; use auto, cpu, cuda or cuda:N")
    if device.type == 'cuda':
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0 or (device.index or 0) >= count:
            warnings.warn(f'{requested} requested but only {count} CUDA device(s); using cpu')
            return torch.device('cpu')
    return device


def set_threads(threads) -> None:
    """Set torch's intra-op thread count when given (None keeps torch's default)."""
    if threads is not None:
        if int(threads) < 1:
            raise ValueError(f'threads must be >= 1, got {threads}')
        torch.set_num_threads(int(threads))


def fuse_conv_bn(module: nn.Module) -> nn.Module:
    """Fold every Conv2d directly followed by BatchNorm2d inside a Sequential (eval copy)."""
    module = copy.deepcopy(module).eval()
    for parent in module.modules():
        if not isinstance(parent, nn.Sequential):
            continue
        names = list(parent._modules)
        for first, second in zip(names, names[1:]):
            conv, bn = parent._modules[first], parent._modules[second]
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                parent._modules[first] = fuse_conv_bn_eval(conv, bn)
                parent._modules[second] = nn.Identity()
    return module


def check_options(device: torch.device, backend: str, precision: str) -> None:
    """Reject unknown or impossible backend/precision combinations."""
    if backend not in BACKENDS:
        raise ValueError(f'unknown backend {backend!r}; use one of {", ".join(BACKENDS)}')
    if precision not in PRECISIONS:
        raise ValueError(f'unknown precision {precision!r}; use one of {", ".join(PRECISIONS)}')
    if precision == 'fp16' and device.type != 'cuda':
        raise ValueError('fp16 needs CUDA; use bf16 on the CPU')


def prepare_module(module: nn.Module, device: torch.device, backend: str, precision: str):
    """Return a callable for inference of `module` on the chosen path."""
    check_options(device, backend, precision)
    module = module.eval().to(device)
    if backend != 'eager':
        module = fuse_conv_bn(module).to(memory_format=torch.channels_last)
    dtype = {'fp32': torch.float32, 'bf16': torch.bfloat16, 'fp16': torch.float16}[precision]
    module = module.to(dtype)
    if backend == 'compiled':
        module = _compile(module)
    return module


def _compile(module: nn.Module):
    try:
        return torch.compile(module, dynamic=False, options={'freezing': True})
    except Exception as err:  # noqa: BLE001  (any compiler failure falls back to fused)
        LOG.warning('torch.compile unavailable (%s); using the fused module', err)
        return module


def to_input(patches: np.ndarray, device: torch.device, dtype: torch.dtype, input_format):
    """N×m×m×3 uint8 RGB patches -> N×3×m×m tensor (channels_last) in the weights' format."""
    tensor = torch.from_numpy(patches).to(device).permute(0, 3, 1, 2)
    if input_format.order == 'BGR':
        tensor = tensor.flip(1)
    tensor = tensor.float()
    if input_format.scale != 1.0:
        tensor = tensor * input_format.scale
    if any(input_format.mean) or any(s != 1.0 for s in input_format.std):
        mean = torch.tensor(input_format.mean, device=device).view(1, 3, 1, 1)
        std = torch.tensor(input_format.std, device=device).view(1, 3, 1, 1)
        tensor = (tensor - mean) / std
    return tensor.to(dtype).contiguous(memory_format=torch.channels_last)
