"""Reduced precision with an fp32 prefix: an ill-conditioned block (a small signal on a large
offset, as BN folding can leave) is found on the calibration input and kept in fp32."""
import torch
import torch.nn as nn

from siam_tracker_ros.runtime import BLOCK_TOLERANCE, block_errors, fp32_prefix, prepare_module


def offset_net() -> nn.Sequential:
    """conv → (x - 1000) block → conv: the middle block cancels a large offset."""
    torch.manual_seed(0)
    first = nn.Conv2d(3, 8, 3)
    with torch.no_grad():
        first.bias.fill_(1000.0)          # activations ~1000 + signal of ~1
    cancel = nn.Conv2d(8, 8, 1)
    with torch.no_grad():
        cancel.weight.copy_(torch.eye(8).view(8, 8, 1, 1))
        cancel.bias.fill_(-1000.0)
    return nn.Sequential(first, cancel, nn.ReLU(), nn.Conv2d(8, 4, 3)).eval()


def relative_error(a, b):
    return float((a - b).norm() / a.norm())


def test_the_cancelling_block_is_found_and_kept_fp32():
    net, sample = offset_net(), torch.randn(1, 3, 24, 24)
    errors = block_errors(net, torch.bfloat16, sample)
    assert list(errors) == ['0', '1', '2', '3']               # run order
    assert errors['1'] > BLOCK_TOLERANCE > errors['3']
    assert fp32_prefix(net, torch.bfloat16, sample) == ['0', '1']


def test_calibrated_bf16_is_closer_to_fp32_and_takes_fp32_input():
    net, sample, x = offset_net(), torch.randn(1, 3, 24, 24), torch.randn(2, 3, 24, 24)
    with torch.no_grad():
        exact = net(x)
        plain = prepare_module(net, torch.device('cpu'), 'eager', 'bf16')(x).float()
        mixed = prepare_module(net, torch.device('cpu'), 'eager', 'bf16', sample)(x).float()
    assert relative_error(exact, mixed) < 0.01 < relative_error(exact, plain)
