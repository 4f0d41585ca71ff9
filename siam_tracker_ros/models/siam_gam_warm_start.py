"""Warm start of the trunk siam_gam (`TrunkGAMNet`) from a trained siamfc MobileNetV2 file.

The network starts as close to that siamfc as its modules allow, so training adds what the
paper's modules learn instead of relearning the neck:

* the trunk is copied; subnet B takes siamfc's neck and adjust bias;
* subnet A's fusion takes siamfc's neck folded into its 1×1 conv (BN per tap set to the
  identity, the middle tap's weights zero; with `use_fusion` off, the deepest tap's part);
* SE and GAM start nearly transparent: zero last-layer weights, so SE scales by σ(6) ≈ 0.998
  and GAM by tanh(3) ≈ 0.995 (zero weights and biases would halve or zero the features).

At the start both subnets give siamfc's response within about 1 %.
"""
import torch

from siam_tracker_ros.models.alexnet import BN_EPS
from siam_tracker_ros.models.siam_gam_trunk_net import TAP_CHANNELS
from siam_tracker_ros.models.weights import WeightsError

SE_OPEN_BIAS = 6.0       # σ(6) ≈ 0.9975
GAM_OPEN_BIAS = 3.0      # tanh(3) ≈ 0.9951
NECK, ADJUST = 'backbone.neck.', 'adjust_bias'
A_HEAD, B_HEAD = 'subnet_a.backbone.', 'subnet_b.backbone.'
NECK_BN_EPS = 1e-5       # siamfc's neck BN (torch's default)


def trunk_warm_start(net, siamfc_state: dict) -> dict:
    """The state dict that starts `net` (a TrunkGAMNet, any switches) from a siamfc
    MobileNetV2 state dict; every siamfc key must find its place."""
    state = net.state_dict()
    for key, value in siamfc_state.items():
        if key.startswith(NECK) or key == ADJUST:
            continue
        place = 'trunk.' + key[len('backbone.'):] if key.startswith('backbone.') else key
        if place not in state or state[place].shape != value.shape:
            raise WeightsError(f'siamfc key {key!r} has no place in the MobileNetV2 siam_gam '
                               '(its warm start takes siamfc MobileNetV2 weights only)')
        state[place] = value
    neck = {k[len(NECK):]: v.float() if v.is_floating_point() else v
            for k, v in siamfc_state.items() if k.startswith(NECK)}
    for subnet in ('subnet_a', 'subnet_b'):
        if f'{subnet}.adjust_bias' in state:
            state[f'{subnet}.adjust_bias'] = siamfc_state[ADJUST].clone()
    if B_HEAD + 'neck.0.weight' in state:
        state.update({B_HEAD + 'neck.' + k: v.clone() for k, v in neck.items()})
        _open(state, B_HEAD + 'se.expand.', SE_OPEN_BIAS)
    if A_HEAD + 'fusion.reduce.weight' in state:
        _fold_neck_into_fusion(state, neck)
        _open(state, A_HEAD + 'gam.channel_expand.', GAM_OPEN_BIAS)
        _open(state, A_HEAD + 'gam.spatial_collapse.', 0.0)
    return state


def _open(state: dict, prefix: str, bias: float) -> None:
    """Zero weights and a constant bias for the layer `prefix` (if the network has it)."""
    if prefix + 'weight' in state:
        state[prefix + 'weight'] = torch.zeros_like(state[prefix + 'weight'])
        state[prefix + 'bias'] = torch.full_like(state[prefix + 'bias'], bias)


def _fold_neck_into_fusion(state: dict, neck: dict) -> None:
    """Subnet A's fusion = siamfc's neck: BN per tap = identity, 1×1 conv = neck conv with
    the neck's BN folded in, over the [shallow, middle, deep] taps (middle weights zero)."""
    prefix = A_HEAD + 'fusion.'
    weight = state[prefix + 'reduce.weight']
    scale = neck['1.weight'] / torch.sqrt(neck['1.running_var'] + NECK_BN_EPS)
    conv = neck['0.weight'][:, :, 0, 0] * scale[:, None]
    shallow, deep = conv[:, :TAP_CHANNELS[0]], conv[:, TAP_CHANNELS[0]:]
    parts = (shallow, torch.zeros(conv.shape[0], TAP_CHANNELS[1]), deep)
    if weight.shape[1] == TAP_CHANNELS[-1]:      # use_fusion off: the deepest tap alone
        parts = (deep,)
    state[prefix + 'reduce.weight'] = torch.cat(parts, 1)[:, :, None, None]
    state[prefix + 'reduce.bias'] = neck['1.bias'] - scale * neck['1.running_mean']
    for i, part in enumerate(parts):
        channels, norm = part.shape[1], f'{prefix}norms.{i}.'
        state[norm + 'weight'] = torch.ones(channels)
        state[norm + 'bias'] = torch.zeros(channels)
        state[norm + 'running_mean'] = torch.zeros(channels)
        state[norm + 'running_var'] = torch.full((channels,), 1.0 - BN_EPS)
