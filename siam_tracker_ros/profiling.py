"""Operation counts for benchmarks: multiply-accumulates of conv, linear and attention layers.

Functional correlations (ops/correlation.py) are not modules and are not counted.
"""
import torch
import torch.nn as nn

from siam_tracker_ros.models.dynamic_conv import DynamicConv2d


def attention_macs(layer: nn.MultiheadAttention, query: torch.Tensor, key: torch.Tensor) -> int:
    """Q/K/V and output projections plus the two attention products of one call."""
    batch_first = layer.batch_first and query.dim() == 3
    queries, keys = (query.size(-2), key.size(-2)) if batch_first else (query.size(0), key.size(0))
    batch = query.numel() // (queries * layer.embed_dim)
    dim = layer.embed_dim
    projections = 2 * queries * dim * dim + keys * dim * (layer.kdim + layer.vdim)
    return batch * (projections + 2 * queries * keys * dim)


def count_macs(module: nn.Module, *inputs, call=None) -> int:
    """MACs of Conv2d, Linear and MultiheadAttention layers of `module` while `call(*inputs)`
    runs (default: its forward pass), e.g. `count_macs(net, z, call=net.template)`."""
    total = 0

    def conv_hook(layer, args, output):
        nonlocal total
        per_output = layer.in_channels // layer.groups * layer.kernel_size[0] * layer.kernel_size[1]
        total += output.numel() * per_output
        if isinstance(layer, DynamicConv2d):  # mixing the K kernels per sample
            total += args[0].size(0) * layer.weight.numel()

    def linear_hook(layer, _, output):
        nonlocal total
        total += output.numel() * layer.in_features

    def attention_hook(layer, args, kwargs, _):
        nonlocal total
        named = dict(zip(('query', 'key'), args), **kwargs)
        total += attention_macs(layer, named['query'], named['key'])

    hooks = []
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, DynamicConv2d)):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
        elif isinstance(m, nn.MultiheadAttention):
            hooks.append(m.register_forward_hook(attention_hook, with_kwargs=True))
    try:
        with torch.inference_mode():
            (call or module)(*inputs)
    finally:
        for hook in hooks:
            hook.remove()
    return total
