"""Operation counts for benchmarks: multiply-accumulates of conv and linear layers."""
import torch
import torch.nn as nn


def count_macs(module: nn.Module, *inputs) -> int:
    """MACs of Conv2d and Linear layers in one forward pass of `module` on `inputs`."""
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
            module(*inputs)
    finally:
        for hook in hooks:
            hook.remove()
    return total
