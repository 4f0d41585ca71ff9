"""Reduced precision with an fp32 prefix: an ill-conditioned block (a small signal on a large
offset, as BN folding can leave) is found on the calibration input and kept in fp32; the
whole network runs on the chosen path, the head in fp32."""
import numpy as np
import torch
import torch.nn as nn

from siam_tracker_ros.models.weights import InputFormat
from siam_tracker_ros.runtime import (BLOCK_TOLERANCE, NetworkRunner, block_errors,
                                      fp32_prefix)


class OffsetNet(nn.Module):
    """Trunk conv → (x − 1000) block → conv, then a 1×1 head on the search features."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        first = nn.Conv2d(3, 8, 3)
        with torch.no_grad():
            first.bias.fill_(1000.0)          # activations ~1000 + signal of ~1
        cancel = nn.Conv2d(8, 8, 1)
        with torch.no_grad():
            cancel.weight.copy_(torch.eye(8).view(8, 8, 1, 1))
            cancel.bias.fill_(-1000.0)
        self.trunk = nn.Sequential(first, cancel, nn.ReLU(), nn.Conv2d(8, 4, 3))
        self.head_conv = nn.Conv2d(4, 1, 1)

    def template(self, z):
        return self.trunk(z)

    def search(self, x):
        return self.trunk(x)

    def head(self, kernel, features):
        return self.head_conv(features) + kernel.mean()


def relative_error(a, b):
    return float((a - b).norm() / a.norm())


def test_the_cancelling_block_is_found_and_kept_fp32():
    net, sample = OffsetNet().eval(), torch.randn(1, 3, 24, 24)
    errors = block_errors(net, torch.bfloat16, sample)
    assert list(errors) == ['trunk.0', 'trunk.1', 'trunk.2', 'trunk.3', ]  # run order
    assert errors['trunk.1'] > BLOCK_TOLERANCE > errors['trunk.3']
    assert fp32_prefix(net, torch.bfloat16, sample) == ['trunk.0', 'trunk.1']


def test_calibrated_bf16_is_closer_to_fp32_and_takes_fp32_input():
    rng = np.random.default_rng(0)
    z, x = (rng.integers(0, 256, (n, s, s, 3), dtype=np.uint8) for n, s in ((1, 24), (2, 40)))
    cpu, raw = torch.device('cpu'), InputFormat()
    exact = NetworkRunner(OffsetNet(), cpu, 'eager', 'fp32', raw)
    plain = NetworkRunner(OffsetNet(), cpu, 'eager', 'bf16', raw)
    mixed = NetworkRunner(OffsetNet(), cpu, 'fused', 'bf16', raw, calibration=z)
    assert plain.input_dtype == torch.bfloat16 and mixed.input_dtype == torch.float32
    maps = {name: runner.respond(runner.template(z), x).float()
            for name, runner in (('exact', exact), ('plain', plain), ('mixed', mixed))}
    assert maps['mixed'].dtype == torch.float32 and maps['exact'].shape == (2, 1, 36, 36)
    assert relative_error(maps['exact'], maps['mixed']) < 0.01 < relative_error(
        maps['exact'], maps['plain'])
    assert mixed.net.trunk[3].block.weight.dtype == torch.bfloat16     # trunk after the prefix,
    assert next(mixed.head_net.head_conv.parameters()).dtype == torch.float32  # maps in fp32
