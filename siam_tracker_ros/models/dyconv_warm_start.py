"""Warm start of the MobileNetV2 `dyconv_fusion` network from a trained siamfc MobileNetV2 file.

Both networks share the ImageNet trunk and its two stride-8 taps; siamfc's neck is one 1×1 conv
+ BN over [shallow; deep] = BN(W_s·shallow + W_d·deep). The warm start makes the fusion network
start as close to that siamfc as its modules allow:

* trunk blocks are copied; each dynamic conv gets K copies of the static kernel plus a fixed
  1 % perturbation (§5, seeded so the start is reproducible);
* CBAM starts nearly transparent: zero last-layer weights and bias +6 in both attentions, so
  each map is σ(6) ≈ 0.998 (zero weights would halve every stage's output);
* F_fuse = BN_s(W_s·pool(shallow)) + BN_d(W_d·deep) takes siamfc's neck split in two (BN_d
  with no shift, so the sum carries the neck's shift once); F_deep = BN(W_d·deep);
* the score fusion starts on the fused path alone (weights 1, 0) with siamfc's adjust bias.

What differs from siamfc at the start: the 3×3 max pool on the shallow tap, CBAM's ≈0.2 %
damping per map and the kernel perturbation. Training then learns the rest.
"""
import torch

from siam_tracker_ros.models.dyconv_fusion_net import MOBILENETV2_STAGES, PERTURBATION
from siam_tracker_ros.models.weights import WeightsError

OPEN_ATTENTION_BIAS = 6.0            # σ(6) ≈ 0.9975
LOW_BLOCKS = MOBILENETV2_STAGES[2][1]   # siamfc's `low` = blocks 0–6, `high` = 7–13
NECK, ADJUST = 'backbone.neck.', 'adjust_bias'


def siamfc_warm_start(net, siamfc_state: dict, source=None,
                      perturbation: float = PERTURBATION) -> dict:
    """The state dict that starts `net` (MobileNetV2 trunk, any ablation switches) from
    a siamfc MobileNetV2 state dict; every siamfc key must find its place. `perturbation`:
    the dynamic kernels' noise, relative to each static kernel's std (§5: 1 %)."""
    state = net.state_dict()
    generator = torch.Generator().manual_seed(0)
    for key, value in siamfc_state.items():
        if key.startswith(NECK) or key == ADJUST:
            continue
        place = _trunk_place(key)
        if place not in state:
            raise WeightsError(f'siamfc key {key!r} has no place in dyconv_fusion (its '
                               'warm start takes siamfc MobileNetV2 weights only)')
        state[place] = _fit(value, state[place], generator, perturbation)
    _open_attention(state)
    _split_neck(state, siamfc_state)
    return state


def _trunk_place(key: str) -> str:
    """`backbone.low.4.conv.0.weight` → `embedding.stages.2.0.conv.0.weight`."""
    parts = key.split('.')
    if len(parts) < 4 or parts[0] != 'backbone' or parts[1] not in ('low', 'high'):
        return key
    block = int(parts[2]) + (LOW_BLOCKS if parts[1] == 'high' else 0)
    stage = next((i for i, (a, b) in enumerate(MOBILENETV2_STAGES) if a <= block < b), None)
    if stage is None:
        return key  # a block MobileNetV2 does not have: no place (the caller says so)
    local = block - MOBILENETV2_STAGES[stage][0]
    return '.'.join(['embedding', 'stages', str(stage), str(local)] + parts[3:])


def _fit(value: torch.Tensor, target: torch.Tensor, generator,
         perturbation: float) -> torch.Tensor:
    """A static kernel for a dynamic place (K × kernel): K perturbed copies; else as is."""
    value = value.to(target.dtype)
    if target.dim() != value.dim() + 1:
        return value
    noise = torch.randn(target.shape, generator=generator) * (perturbation * value.std())
    return value.unsqueeze(0) + noise


def _open_attention(state: dict) -> None:
    for key in list(state):
        if key.endswith(('channel.mlp.2.weight', 'spatial.conv.weight')):
            state[key] = torch.zeros_like(state[key])
        elif key.endswith(('channel.mlp.2.bias', 'spatial.conv.bias')):
            state[key] = torch.full_like(state[key], OPEN_ATTENTION_BIAS)


def _split_neck(state: dict, siamfc_state: dict) -> None:
    weight = siamfc_state[NECK + '0.weight']
    shallow_channels = weight.shape[1] - state['embedding.deep_proj.0.weight'].shape[1]
    bn = {name: siamfc_state[NECK + '1.' + name] for name in
          ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked')}
    fused = 'embedding.fuse_shallow_proj.0.weight' in state
    _set_projection(state, 'embedding.deep_proj.', weight[:, shallow_channels:], bn)
    if fused:
        _set_projection(state, 'embedding.fuse_shallow_proj.', weight[:, :shallow_channels], bn)
        no_shift = dict(bn, bias=torch.zeros_like(bn['bias']),
                        running_mean=torch.zeros_like(bn['running_mean']))
        _set_projection(state, 'embedding.fuse_deep_proj.', weight[:, shallow_channels:],
                        no_shift)
    fusion = torch.zeros_like(state['score_fusion.weight'])
    fusion[0, 0] = 1.0
    state['score_fusion.weight'] = fusion
    state['score_fusion.bias'] = siamfc_state[ADJUST].reshape(state['score_fusion.bias'].shape)


def _set_projection(state: dict, prefix: str, weight: torch.Tensor, bn: dict) -> None:
    state[prefix + '0.weight'] = weight.to(state[prefix + '0.weight'].dtype)
    for name, value in bn.items():
        state[f'{prefix}1.{name}'] = value.to(state[f'{prefix}1.{name}'].dtype)
