"""Where and how a network runs: device choice, threads, precision and CPU speed-ups.

Execution paths (`backend`):
    eager     the module as built, fp32.
    fused     conv-BN folded, channels_last memory format.
    compiled  fused + torch.compile with weight freezing (falls back to fused if it fails).
    graphs    fused, the per-frame call replayed from CUDA graphs (CUDA only; `cuda_graphs.py`).
    onnx      fused, exported per branch to ONNX and run by onnxruntime (fp32 only;
              `pip install 'siam_tracker_ros[onnx]'`, docs/export.md).
Precision: fp32, bf16 (CPU autocast-free: weights and inputs in bf16) or fp16 (CUDA only).
Step (`step`): host (crop and decode in NumPy/OpenCV, the network on the device), device (the
frame uploaded once; crop, network and the SiamFC family's upsample and decode on the device,
one host transfer per frame; docs/architecture.md, "The step") or auto (device on CUDA, else host).
fp32 is IEEE fp32 on every device: on CUDA, cuDNN's TF32 shortcut is off while a tracker runs.
At bf16/fp16, blocks that lose too much precision on a calibration input stay in fp32.
A `NetworkRunner` applies the path to the whole network (trunk, neck and head).
"""
import copy
import functools
import logging
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
import torch.nn as nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from siam_tracker_ros.onnx_engines import ENGINES, OnnxNetwork, import_engine
from siam_tracker_ros.ops.device_crop import upload

LOG = logging.getLogger(__name__)
BACKENDS = ('eager', 'fused', 'compiled', 'graphs', 'onnx')
PRECISIONS = ('fp32', 'bf16', 'fp16')
STEPS = ('auto', 'host', 'device')
DTYPES = {'fp32': torch.float32, 'bf16': torch.bfloat16, 'fp16': torch.float16}
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


def channels_last(module: nn.Module) -> nn.Module:
    """`module` with its 4-D parameters and buffers in channels_last memory format; others
    (e.g. a dynamic conv's K×out×in×k×k kernel bank) are left as they are."""
    return module._apply(lambda t: t.contiguous(memory_format=torch.channels_last)
                         if t.dim() == 4 else t)


def check_options(device: torch.device, backend: str, precision: str,
                  step: str = 'auto') -> None:
    """Reject unknown or impossible backend/precision/step combinations."""
    if step not in STEPS:
        raise ValueError(f'unknown step {step!r}; use one of {", ".join(STEPS)}')
    if step == 'device' and backend in ENGINES:
        raise ValueError(f'the device step needs a torch backend, not {backend}')
    if backend not in BACKENDS:
        raise ValueError(f'unknown backend {backend!r}; use one of {", ".join(BACKENDS)}')
    if precision not in PRECISIONS:
        raise ValueError(f'unknown precision {precision!r}; use one of {", ".join(PRECISIONS)}')
    if precision == 'fp16' and device.type != 'cuda':
        raise ValueError('fp16 needs CUDA; use bf16 on the CPU')
    if backend == 'graphs' and device.type != 'cuda':
        raise ValueError('the graphs backend replays CUDA graphs and needs CUDA; use fused '
                         'on the CPU')
    if backend in ENGINES:
        if precision != 'fp32':
            raise ValueError(f'the {backend} backend runs fp32 only, not {precision}')
        import_engine(backend, device)


@dataclass(frozen=True)
class ExecutionPath:
    """Where and how a tracker's network runs."""

    device: torch.device
    backend: str = 'fused'
    precision: str = 'fp32'
    step: str = 'auto'

    def __post_init__(self):
        check_options(self.device, self.backend, self.precision, self.step)

    def __str__(self):
        return f'{self.backend}/{self.precision}'

    @property
    def device_step(self) -> bool:
        """Whether the step crops and decodes on the device (`step`; auto: on CUDA with a
        torch backend)."""
        if self.step == 'auto':
            return self.device.type == 'cuda' and self.backend not in ENGINES
        return self.step == 'device'


class NetworkRunner:
    """A tracker network on one execution path; its methods take N×m×m×3 uint8 RGB patches.

    The network contract (docs/architecture.md): `template(z) -> kernel`,
    `search(x) -> features`, `head(kernel, features) -> maps`. The whole network is
    prepared: conv-BN folding and channels_last (fused, compiled), bf16/fp16 weights with an
    fp32 prefix where a block loses too much precision on `calibration` (a template-sized
    uint8 batch), torch.compile of the per-frame call (compiled), or onnxruntime sessions of
    the fused branches (onnx). The head runs in fp32 on every path, so the maps are fp32;
    kernels and features are in the path's dtype.
    """

    def __init__(self, net: nn.Module, device: torch.device, backend: str, precision: str,
                 input_format, calibration: Optional[np.ndarray] = None):
        check_options(device, backend, precision)
        self.device, self.input_format = device, input_format
        dtype = DTYPES[precision]
        module = net.eval().to(device)
        if backend in ENGINES:
            module = OnnxNetwork(fuse_conv_bn(module), device, backend)
        elif backend != 'eager':
            module = channels_last(fuse_conv_bn(module))
        elif dtype is not torch.float32:
            module = copy.deepcopy(module)  # the caller's network stays fp32
        self.input_dtype = torch.float32
        self.head_net = module   # the head always runs in fp32 (see `_search_head`)
        if dtype is not torch.float32:
            sample = self.inputs(calibration) if calibration is not None else None
            module, self.input_dtype = reduced_precision(copy.deepcopy(module), dtype, sample)
        self.net = module
        self._respond = self._search_head
        if backend == 'compiled':
            self._respond = _compile(self._search_head)
        elif backend == 'graphs':
            from siam_tracker_ros.cuda_graphs import GraphedCall   # imports this module
            self._respond = GraphedCall(self._search_head)

    def inputs(self, patches) -> torch.Tensor:
        """Patches (N×m×m×3 uint8 array, or N×3×m×m RGB 0–255 tensor from a device crop) as
        the network's input tensor (the weights' pixel format)."""
        return to_input(patches, self.device, torch.float32, self.input_format)

    def template(self, patches: np.ndarray):
        """The kernel of template patches (N×Z×Z×3)."""
        with torch.inference_mode():
            return self.net.template(self.inputs(patches).to(self.input_dtype))

    def search(self, patches: np.ndarray):
        """The search features of patches (N×X×X×3)."""
        with torch.inference_mode():
            return self.net.search(self.inputs(patches).to(self.input_dtype))

    def respond(self, kernel, patches: np.ndarray):
        """head(kernel, search(patches)): the per-frame network call."""
        with torch.inference_mode():
            return self._respond(kernel, self.inputs(patches).to(self.input_dtype))

    def head(self, kernel, features):
        """The head on a kernel and search features as `search` returns them (e.g. a slice of
        a batch holding several targets' crops)."""
        with torch.inference_mode():
            return self._head(kernel, features)

    def _search_head(self, kernel, x):
        return self._head(kernel, self.net.search(x))

    def _head(self, kernel, features):
        """The head in fp32 on the (possibly bf16/fp16) kernel and features: maps rounded to
        bf16 break near-ties of the decoders' argmax far more often than bf16 features do
        (docs/trackers/siamfc.md, "bf16 agreement")."""
        to_fp32 = floats_to(torch.float32)
        return self.head_net.head(map_tensors(to_fp32, kernel), map_tensors(to_fp32, features))


def reduced_precision(net: nn.Module, dtype, sample: Optional[torch.Tensor]):
    """(`net` at `dtype`, the input dtype it takes). With an fp32 `sample` (template input),
    the blocks up to the last one that loses more than BLOCK_TOLERANCE stay fp32 (see
    `fp32_prefix`); then the network takes fp32 input."""
    prefix = fp32_prefix(net, dtype, sample) if sample is not None else []
    mixed = mixed_precision(copy.deepcopy(net) if prefix else net, dtype, prefix)
    if not prefix:
        return mixed, dtype
    try:
        with torch.no_grad():
            inputs = sample.to(memory_format=torch.channels_last)
            mixed.head(mixed.template(inputs), mixed.search(inputs))   # the whole frame call
    except RuntimeError as err:  # e.g. the prefix ends inside one of two branches
        LOG.warning('no %s split for this network (%s); running it in fp32', dtype, err)
        return net, torch.float32
    return mixed, torch.float32


def blocks(module: nn.Module, prefix: str = ''):
    """(parent, key, name) of each block in module order: the elements of Sequentials, and
    children without Sequentials inside; other children, and modules with methods besides
    `forward` (`template`: a siam_gam subnet; `crop_template`: a backbone), are searched
    recursively."""
    for name, child in module.named_children():
        path = f'{prefix}{name}'
        if isinstance(child, nn.Sequential):
            for key in child._modules:
                yield child, key, f'{path}.{key}'
        elif (hasattr(child, 'template') or hasattr(child, 'crop_template')
              or any(isinstance(m, nn.Sequential) for m in child.modules())):
            yield from blocks(child, f'{path}.')
        else:
            yield module, name, path


@torch.no_grad()
def block_errors(net: nn.Module, dtype, sample: torch.Tensor) -> dict:
    """Relative L2 error of each block at `dtype` given its exact fp32 input, in run order
    of `net.template(sample)`."""
    found = list(blocks(net))
    records = {}

    def recorder(name):
        def record(_, args, out):  # clones: a later in-place ReLU must not change them
            if torch.is_tensor(out):   # a tuple output (e.g. a whole branch) is not measured
                records.setdefault(name, (map_tensors(torch.clone, args), out.clone()))
        return record

    hooks = [parent._modules[key].register_forward_hook(recorder(name))
             for parent, key, name in found]
    try:
        net.template(sample.to(memory_format=torch.channels_last))
    finally:
        for hook in hooks:
            hook.remove()
    modules = {name: parent._modules[key] for parent, key, name in found}
    errors = {}
    for name, (inputs, exact) in records.items():
        # all inputs: a block may take two (an attention layer) or a tuple (a layer fusion)
        low = copy.deepcopy(modules[name]).to(dtype)(*map_tensors(floats_to(dtype), inputs))
        low = low.float()
        errors[name] = float((low - exact).norm() / exact.norm().clamp_min(1e-12))
    return errors


def floats_to(dtype):
    """A function casting a floating-point tensor to `dtype` (other tensors unchanged)."""
    return lambda t: t.to(dtype) if t.is_floating_point() else t


def map_tensors(function, value):
    """`function` applied to a tensor, or to each tensor of a tuple or list (a block such as
    siam_gam's layer fusion takes a tuple of maps); anything else is returned as it is."""
    if torch.is_tensor(value):
        return function(value)
    if isinstance(value, (tuple, list)):
        return type(value)(map_tensors(function, v) for v in value)
    return value


def fp32_prefix(net: nn.Module, dtype, sample: torch.Tensor) -> list:
    """Blocks, in run order, up to the last one more than BLOCK_TOLERANCE off at `dtype`.

    Such a block (e.g. a BN-folded conv whose output is a small signal on a large offset)
    also amplifies the rounding of its input, so everything before it stays fp32 too.
    """
    errors = block_errors(net, dtype, sample)
    names = list(errors)
    bad = [i for i, name in enumerate(names) if errors[name] > BLOCK_TOLERANCE]
    if bad:
        LOG.info('fp32 up to %s at %s (%.1f %% off in it)', names[bad[-1]], dtype,
                 100 * errors[names[bad[-1]]])
    return names[:bad[-1] + 1] if bad else []


class Cast(nn.Module):
    """Runs `block` on its floating-point inputs cast to the block's own `dtype`, then casts
    the result to `output` when given. With every block wrapped, blocks of two precisions meet
    correctly whatever the topology (a skip connection or an attention product that reaches
    past the end of the fp32 prefix)."""

    def __init__(self, block: nn.Module, dtype, output=None):
        super().__init__()
        self.block, self.dtype, self.output = block, dtype, output

    def forward(self, *inputs):
        out = self.block(*map_tensors(floats_to(self.dtype), inputs))
        return out.to(self.output) if self.output is not None else out


def mixed_precision(net: nn.Module, dtype, prefix: list) -> nn.Module:
    """`net` at `dtype`; the `prefix` blocks (run order) stay fp32, the last one casting its
    output to `dtype` (so the network then takes fp32 input). With a prefix, each block takes
    its input in its own precision (`Cast`)."""
    exact = {name: parent._modules[key] for parent, key, name in blocks(net)}
    kept = {name: copy.deepcopy(exact[name]) for name in prefix}
    net = net.to(dtype)
    if not prefix:
        return net
    for parent, key, name in blocks(net):
        if name in kept:
            output = dtype if name == prefix[-1] else None
            parent._modules[key] = Cast(kept[name], torch.float32, output)
        else:
            parent._modules[key] = Cast(parent._modules[key], dtype)
    return net


def _compile(function):
    """torch.compile with frozen weights; the function itself if the compiler is missing."""
    try:
        return torch.compile(function, dynamic=False, options={'freezing': True})
    except Exception as err:  # noqa: BLE001  (any compiler failure falls back to fused)
        LOG.warning('torch.compile unavailable (%s); using the fused module', err)
        return function


def to_input(patches, device: torch.device, dtype: torch.dtype, input_format):
    """N×m×m×3 uint8 RGB patches (array), or N×3×m×m RGB 0–255 float patches (tensor, e.g.
    `ops/device_crop.py`) -> N×3×m×m tensor (channels_last) in the weights' format."""
    if torch.is_tensor(patches):
        tensor = patches.to(device)
    else:
        tensor = upload(patches, device).permute(0, 3, 1, 2)
    if input_format.order == 'BGR':
        tensor = tensor.flip(1)
    tensor = tensor.float()
    if input_format.scale != 1.0:
        tensor = tensor * input_format.scale
    if any(input_format.mean) or any(s != 1.0 for s in input_format.std):
        mean, std = normalisation(input_format, torch.device(device))
        tensor = (tensor - mean) / std
    return tensor.to(dtype).contiguous(memory_format=torch.channels_last)


@functools.lru_cache(maxsize=16)
def normalisation(input_format, device: torch.device) -> tuple:
    """(mean, std) of `input_format` as 1×3×1×1 float32 tensors on `device`, uploaded once
    per (format, device) rather than on every frame."""
    return (upload(input_format.mean, device, torch.float32).view(1, 3, 1, 1),
            upload(input_format.std, device, torch.float32).view(1, 3, 1, 1))
