"""Spec §5 DYN-2 (dynamic convolution), DYN-3 (τ schedule), DYN-4 (CBAM, §9.11 reading)."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from siam_tracker_ros.models.cbam import CBAM
from siam_tracker_ros.models.dynamic_conv import (DynamicConv2d, dynamic_temperature,
                                                  make_dynamic, set_temperature)
from siam_tracker_ros.models.resnest import ResNeSt50
from siam_tracker_ros.profiling import count_macs


def random_dynamic(cin=16, cout=8, kernel=3, seed=0, **geometry):
    """A DynamicConv2d with distinct kernels and an attention that is far from uniform."""
    torch.manual_seed(seed)
    layer = DynamicConv2d(cin, cout, kernel, **geometry)
    with torch.no_grad():
        for fc in (layer.attention.fc1, layer.attention.fc2):
            fc.weight.normal_(0, 2.0)
    return layer


def per_sample_reference(layer, x):
    """Each sample convolved alone with Σ_k π_k W_k (einsum), the definition of Eq. 1."""
    mix = layer.kernel_attention(x)
    outs = []
    for b in range(x.size(0)):
        weight = torch.einsum('k,koihw->oihw', mix[b], layer.weight)
        outs.append(F.conv2d(x[b:b + 1], weight, None, layer.stride, layer.padding,
                             layer.dilation, layer.groups))
    return torch.cat(outs)


@pytest.mark.parametrize('temperature', [1.0, 30.0])
def test_dyn2_attention_sums_to_one_in_unit_interval(temperature):  # DYN-2
    layer = random_dynamic()
    set_temperature(layer, temperature)
    mix = layer.kernel_attention(torch.randn(6, 16, 9, 9) * 3)
    assert mix.shape == (6, 4)
    assert torch.allclose(mix.sum(1), torch.ones(6, dtype=mix.dtype), atol=1e-6)
    assert mix.min() >= 0 and mix.max() <= 1


@pytest.mark.parametrize('temperature', [1.0, 30.0])
def test_dyn2_attention_is_softmax_of_fc_logits_over_tau(temperature):  # DYN-2, §5 π(x)
    layer, x = random_dynamic(), torch.randn(6, 16, 9, 9) * 3
    set_temperature(layer, temperature)
    fc1, fc2 = layer.attention.fc1, layer.attention.fc2
    assert fc1.bias is None and fc2.bias is not None and fc1.out_features == 4   # max(16//4, 4)
    logits = F.linear(torch.relu(F.linear(x.mean(dim=(2, 3)), fc1.weight)), fc2.weight, fc2.bias)
    expected = torch.softmax(logits / temperature, dim=1)
    assert torch.allclose(layer.kernel_attention(x), expected, atol=1e-6)


@pytest.mark.parametrize('geometry', [dict(padding=1), dict(stride=2, padding=2, dilation=2),
                                      dict(padding=1, groups=2)])
def test_dyn2_equal_kernels_equal_static_conv(geometry):  # DYN-2
    torch.manual_seed(1)
    static = nn.Conv2d(16, 8, 3, bias=False, **geometry)
    layer = DynamicConv2d.from_static(static, kernels=4, perturbation=0.0)
    x = torch.randn(3, 16, 13, 13)
    assert torch.allclose(layer(x), static(x), atol=1e-5)


@pytest.mark.parametrize('geometry', [dict(padding=1), dict(padding=1, groups=2),
                                      dict(stride=2, padding=2, dilation=2, groups=4)])
def test_dyn2_batch_equals_samples_alone(geometry):  # DYN-2 (incl. groups = 2)
    layer, x = random_dynamic(**geometry), torch.randn(4, 16, 11, 11)
    batch = layer(x)
    alone = torch.cat([layer(x[b:b + 1]) for b in range(4)])
    assert torch.allclose(batch, alone, atol=1e-5)
    assert torch.allclose(batch, per_sample_reference(layer, x), atol=1e-5)
    assert (batch[0] - batch[1]).abs().max() > 1e-3   # samples really get different kernels


def test_dyn2_from_static_perturbs_each_copy():  # §5 initialisation from pretrained kernels
    torch.manual_seed(2)
    static = nn.Conv2d(32, 64, 3, padding=1, bias=False)
    layer = DynamicConv2d.from_static(static, kernels=4, perturbation=0.01)
    deviation = layer.weight - static.weight.detach()
    scale = static.weight.std().item()
    assert 0.005 * scale < deviation.std().item() < 0.02 * scale
    assert (layer.weight[0] - layer.weight[1]).abs().max() > 0


def test_dyn2_bad_layers_raise():
    with pytest.raises(ValueError, match='bias'):
        DynamicConv2d.from_static(nn.Conv2d(4, 4, 3))
    with pytest.raises(ValueError, match='groups'):
        DynamicConv2d(5, 4, 3, groups=2)
    with pytest.raises(ValueError, match='temperature'):
        set_temperature(random_dynamic(), 0.0)


def test_dyn2_resnest_dynamic_convs_where_spec_says():  # §5 "every conv except …"
    trunk = ResNeSt50(dynamic=True)
    dynamic = [m for stage in trunk.stages()[:3] for m in stage.modules()
               if isinstance(m, DynamicConv2d)]
    assert len(dynamic) == 3 + 3 * 3 + 4 * 3   # stem; conv1, split 3×3, conv3 per block
    assert sorted({m.groups for m in dynamic}) == [1, 2]
    for stage in trunk.stages()[3:]:
        assert not any(isinstance(m, DynamicConv2d) for m in stage.modules())
    static = [n for n, m in trunk.layer2.named_modules() if type(m) is nn.Conv2d]
    assert sorted({n.split('.', 1)[1] for n in static}) == [
        'shortcut.1', 'split_attention.fc1', 'split_attention.fc2']


def test_count_macs_counts_dynamic_conv_mixing_and_attention():
    layer = DynamicConv2d(16, 8, 3, padding=1, groups=2)     # hidden max(16 // 4, 4) = 4
    conv_macs = 2 * 8 * 10 * 10 * (16 // 2) * 9
    mixing, attention = 2 * layer.weight.numel(), 2 * (16 * 4 + 4 * 4)
    assert count_macs(layer, torch.zeros(2, 16, 10, 10)) == conv_macs + mixing + attention


def test_make_dynamic_keeps_named_convs():
    block = nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.Conv2d(4, 4, 1, bias=False))
    make_dynamic(block, keep=lambda name: name == '1')
    assert isinstance(block[0], DynamicConv2d) and type(block[1]) is nn.Conv2d


def test_dyn3_temperature_schedule():  # DYN-3
    assert dynamic_temperature(0) == 30.0
    assert dynamic_temperature(5) == pytest.approx(15.5)
    assert dynamic_temperature(10) == 1.0 and dynamic_temperature(80) == 1.0
    assert dynamic_temperature(2.5) == pytest.approx(30 - 29 * 0.25)
    with pytest.raises(ValueError, match='epoch'):
        dynamic_temperature(-1)


def test_temperature_applies_in_training_mode_only():  # inference and validation: τ = 1
    layer = random_dynamic()
    x = torch.randn(2, layer.in_channels, 9, 9)
    at_one = layer.kernel_attention(x)
    set_temperature(layer, 30.0)
    assert not torch.allclose(layer.kernel_attention(x), at_one)
    layer.eval()
    assert torch.equal(layer.kernel_attention(x), at_one)


def test_dyn3_set_temperature_reaches_every_layer():  # DYN-3
    trunk = ResNeSt50(dynamic=True)
    set_temperature(trunk, dynamic_temperature(5))
    temperatures = {m.temperature for m in trunk.modules() if isinstance(m, DynamicConv2d)}
    assert temperatures == {15.5}


def zeroed_cbam(channels):
    cbam = CBAM(channels)
    for p in cbam.parameters():
        nn.init.zeros_(p)
    return cbam


def test_dyn4_zero_cbam_quarters_input():  # DYN-4
    y = torch.randn(2, 32, 7, 9)
    assert torch.allclose(zeroed_cbam(32)(y), 0.25 * y, atol=1e-7)


def test_dyn4_hand_made_mlp_confirms_half_half_inside_one_sigmoid():  # DYN-4, §9.11
    channels = 16                          # hidden = 16 // 16 = 1
    cbam = zeroed_cbam(channels)
    with torch.no_grad():
        cbam.channel.mlp[0].weight.fill_(1.0 / channels)   # hidden = mean over channels
        cbam.channel.mlp[2].weight.fill_(1.0)              # every channel gets it back
    torch.manual_seed(3)
    y = torch.rand(1, channels, 6, 6) * 4
    max_branch = y.amax(dim=(2, 3)).mean()                 # MLP(MaxPool(Y))
    avg_branch = y.mean(dim=(2, 3)).mean()                 # MLP(AvgPool(Y))
    chosen = torch.sigmoid(0.5 * max_branch + 0.5 * avg_branch)
    other = 0.5 * torch.sigmoid(max_branch) + 0.5 * torch.sigmoid(avg_branch)
    out = cbam(y)
    assert torch.allclose(out, 0.5 * chosen * y, atol=1e-6)   # M_s = σ(0) = 0.5
    assert abs(chosen - other) > 1e-2                         # the readings differ here
    assert not torch.allclose(out, 0.5 * other * y, atol=1e-3)
    unweighted = torch.sigmoid(max_branch + avg_branch)
    assert not torch.allclose(out, 0.5 * unweighted * y, atol=1e-3)


def test_dyn4_spatial_attention_is_mean_then_max_3x3():  # §5 M_s, padding 1
    cbam = zeroed_cbam(8)
    assert cbam.spatial.conv.kernel_size == (3, 3)
    with torch.no_grad():
        cbam.spatial.conv.weight[0, 1, 1, 1] = 1.0       # centre tap of the max map only
    y = torch.randn(1, 8, 5, 5)
    expected = 0.5 * y * torch.sigmoid(0.5 * y.amax(dim=1, keepdim=True))
    assert torch.allclose(cbam(y), expected, atol=1e-6)
