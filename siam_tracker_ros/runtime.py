"""Where and how a network runs: device choice, threads, precision and CPU speed-ups.

Execution paths (`backend`):
    eager     the module as built, fp32.
    fused     conv-BN folded, channels_last memory format.
    compiled  fused + torch.compile with weight freezing (falls back to fused if it fails).
Precision: fp32, bf16 (CPU autocast-free: weights and inputs in bf16) or fp16 (CUDA only).
`bf16-checked` / `fp16-checked`: that precision, with each frame's decision checked against
its rounding and recomputed in fp32 when unsure (trackers/decision_check.py).
fp32 is IEEE fp32 on every device: on CUDA, cuDNN's TF32 shortcut is off while a tracker runs.
At bf16/fp16, blocks that lose too much precision on a calibration input stay in fp32.
"""
import copy
import logging
import warnings
from contextlib import contextmanager
from typing import Optional

import numpy as np
import torch
import torch.nn as nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

LOG = logging.getLogger(__name__)
BACKENDS = ('eager', 'fused', 'compiled')
PRECISIONS = ('fp32', 'bf16', 'fp16', 'bf16-checked', 'fp16-checked')
CHECKED = '-checked'
# A block whose output is off by more than this (relative L2) at reduced precision stays fp32.
# bf16 blocks are typically 0.2–0.7 % off; an ill-conditioned BN-folded block up to 8 %.
BLOCK_TOLERANCE = 0.009


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


@contextmanager
def exact_fp32(device: torch.device):
    """Within this block fp32 convolutions on CUDA are IEEE fp32, not TF32 (cuDNN's default
    on Ampere and later, ~1e-3 relative error), so CUDA fp32 matches the CPU path."""
    if device.type != 'cuda':
        yield
        return
    saved = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32 = saved


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


def split_precision(name: str):
    """'bf16-checked' -> ('bf16', True); 'fp32' -> ('fp32', False); unknown names are errors."""
    if name not in PRECISIONS:
        raise ValueError(f'unknown precision {name!r}; use one of {", ".join(PRECISIONS)}')
    return (name[:-len(CHECKED)], True) if name.endswith(CHECKED) else (name, False)


def check_options(device: torch.device, backend: str, precision: str) -> None:
    """Reject unknown or impossible backend/precision combinations."""
    if backend not in BACKENDS:
        raise ValueError(f'unknown backend {backend!r}; use one of {", ".join(BACKENDS)}')
    precision, _ = split_precision(precision)
    if precision == 'fp16' and device.type != 'cuda':
        raise ValueError('fp16 needs CUDA; use bf16 on the CPU')


def prepare_module(module: nn.Module, device: torch.device, backend: str, precision: str,
                   calibration: Optional[torch.Tensor] = None):
    """Return a callable for inference of `module` on the chosen path; it takes fp32 input.

    With `calibration` (an fp32 input), bf16/fp16 run an fp32 prefix up to the last block
    that loses more than BLOCK_TOLERANCE at that precision (see `fp32_prefix`).
    """
    check_options(device, backend, precision)
    module = module.eval().to(device)
    if backend != 'eager':
        module = fuse_conv_bn(module).to(memory_format=torch.channels_last)
    elif precision != 'fp32':
        module = copy.deepcopy(module)  # the caller's module stays fp32
    dtype = {'fp32': torch.float32, 'bf16': torch.bfloat16, 'fp16': torch.float16}[precision]
    if dtype is not torch.float32 and calibration is not None:
        module = calibrated(module, dtype, calibration.to(device))
    elif dtype is not torch.float32:
        module = mixed_precision(module, dtype, [])
    if backend == 'compiled':
        module = _compile(module)
    return module


class Cast(nn.Module):
    """Runs `block` (may be empty) on its input, then casts the result to `dtype`."""

    def __init__(self, dtype, block: Optional[nn.Module] = None):
        super().__init__()
        self.dtype, self.block = dtype, block

    def forward(self, x):
        return (self.block(x) if self.block is not None else x).to(self.dtype)


def blocks(module: nn.Module):
    """(parent, key, name) of each block: the elements of Sequential children, other children."""
    for name, child in module.named_children():
        if isinstance(child, nn.Sequential):
            for key in child._modules:
                yield child, key, f'{name}.{key}'
        else:
            yield module, name, name


@torch.no_grad()
def block_errors(module: nn.Module, dtype, sample: torch.Tensor) -> dict:
    """Relative L2 error of each block at `dtype` given its exact fp32 input, in run order."""
    found = list(blocks(module))
    records = {}

    def recorder(name):
        def record(_, args, out):  # clones: a later in-place ReLU must not change them
            records.setdefault(name, (args[0].clone(), out.clone()))
        return record

    hooks = [parent._modules[key].register_forward_hook(recorder(name))
             for parent, key, name in found]
    try:
        module(sample.to(memory_format=torch.channels_last))
    finally:
        for hook in hooks:
            hook.remove()
    modules = {name: parent._modules[key] for parent, key, name in found}
    errors = {}
    for name, (x, exact) in records.items():
        low = copy.deepcopy(modules[name]).to(dtype)(x.to(dtype)).float()
        errors[name] = float((low - exact).norm() / exact.norm().clamp_min(1e-12))
    return errors


def fp32_prefix(module: nn.Module, dtype, sample: torch.Tensor) -> list:
    """Blocks, in run order, up to the last one more than BLOCK_TOLERANCE off at `dtype`.

    Such a block (e.g. a BN-folded conv whose output is a small signal on a large offset)
    also amplifies the rounding of its input, so everything before it stays fp32 too.
    """
    errors = block_errors(module, dtype, sample)
    names = list(errors)
    bad = [i for i, name in enumerate(names) if errors[name] > BLOCK_TOLERANCE]
    if bad:
        LOG.info('fp32 up to %s at %s (%.1f %% off in it)', names[bad[-1]], dtype,
                 100 * errors[names[bad[-1]]])
    return names[:bad[-1] + 1] if bad else []


def calibrated(module: nn.Module, dtype, sample: torch.Tensor) -> nn.Module:
    """`mixed_precision` with the prefix `fp32_prefix` finds; fp32 if that split cannot run."""
    mixed = mixed_precision(copy.deepcopy(module), dtype, fp32_prefix(module, dtype, sample))
    try:
        with torch.no_grad():
            mixed(sample.to(memory_format=torch.channels_last))
    except RuntimeError as err:  # e.g. the prefix ends inside one of two branches
        LOG.warning('no %s split for this network (%s); running it in fp32', dtype, err)
        return module
    return mixed


def mixed_precision(module: nn.Module, dtype, prefix: list) -> nn.Module:
    """`module` at `dtype` taking fp32 input; the `prefix` blocks (run order) stay fp32."""
    if not prefix:
        return nn.Sequential(Cast(dtype), module.to(dtype))
    exact = {name: parent._modules[key] for parent, key, name in blocks(module)}
    kept = {name: copy.deepcopy(exact[name]) for name in prefix}
    module = module.to(dtype)
    for parent, key, name in blocks(module):
        if name in kept:
            last = name == prefix[-1]
            parent._modules[key] = Cast(dtype, kept[name]) if last else kept[name]
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
