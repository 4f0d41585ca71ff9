"""Operation counts for benchmarks: multiply-accumulates of conv and linear layers."""
import torch
import torch.nn as nn


def count_macs(module: nn.Module, *inputs, call=None) -> int:
    """MACs of `module`'s Conv2d and Linear layers in one forward pass on `inputs`, or in
    `call()` when given (e.g. one method of a network)."""
    total = 0

    def conv_hook(layer, _, output):
        nonlocal total
        per_output = layer.in_channels // layer.groups * layer.kernel_size[0] * layer.kernel_size[1]
        total += output.numel() * per_output

    def linear_hook(layer, _, output):
        nonlocal total
        total += output.numel() * layer.in_features

    hooks = [m.register_forward_hook(conv_hook if isinstance(m, nn.Conv2d) else linear_hook)
             for m in module.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        with torch.inference_mode():
            call() if call is not None else module(*inputs)
    finally:
        for hook in hooks:
            hook.remove()
    return total
