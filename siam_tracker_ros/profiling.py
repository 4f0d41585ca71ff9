"""Operation counts for benchmarks: multiply-accumulates of conv and linear layers."""
import torch
import torch.nn as nn

from siam_tracker_ros.models.dynamic_conv import DynamicConv2d


def count_macs(module: nn.Module, *inputs) -> int:
    """MACs of Conv2d and Linear layers in one forward pass of `module` on `inputs`.

    A DynamicConv2d counts as its conv plus the per-sample kernel mixing (K·|W| per sample);
    its attention FCs are Linear layers.
    """
    total = 0

    def conv_hook(layer, inputs, output):
        nonlocal total
        per_output = layer.in_channels // layer.groups * layer.kernel_size[0] * layer.kernel_size[1]
        total += output.numel() * per_output
        if isinstance(layer, DynamicConv2d):
            total += inputs[0].size(0) * layer.weight.numel()

    def linear_hook(layer, _, output):
        nonlocal total
        total += output.numel() * layer.in_features

    hooks = [m.register_forward_hook(linear_hook if isinstance(m, nn.Linear) else conv_hook)
             for m in module.modules() if isinstance(m, (nn.Conv2d, DynamicConv2d, nn.Linear))]
    try:
        with torch.inference_mode():
            module(*inputs)
    finally:
        for hook in hooks:
            hook.remove()
    return total
