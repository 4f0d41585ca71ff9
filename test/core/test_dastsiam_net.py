"""Spec §7 DASTSiam network: DAST-1 shapes, DAST-2 residuals, DAST-3 Eq. 2, DAST-7 parameters,
compute, the network contract, ablation switches, unshared trunks and trunk weight files."""
import math

import pytest
import torch
import torch.nn.functional as F

from siam_tracker_ros.models.dast_transformer import FusionEncoder, to_tokens
from siam_tracker_ros.models.dastsiam_net import build_dastsiam
from siam_tracker_ros.models.resnet50 import ResNet50Trunk
from siam_tracker_ros.profiling import count_macs


def n_params(module) -> int:
    return sum(p.numel() for p in module.parameters())


def crops(batch, side, seed):
    return torch.randn(batch, 3, side, side, generator=torch.Generator().manual_seed(seed))


def features(batch, side, seed):
    return torch.randn(batch, 256, side, side, generator=torch.Generator().manual_seed(seed))


@pytest.fixture(scope='module')
def net():
    torch.manual_seed(0)
    return build_dastsiam().eval()


@pytest.fixture(scope='module')
def mobile_net():
    """The same network on the padded MobileNetV2 trunk (cheaper; trainable here)."""
    torch.manual_seed(0)
    return build_dastsiam(trunk='mobilenetv2').eval()


@torch.no_grad()
def test_shapes(net):  # DAST-1
    z, x = crops(1, 127, 0), crops(2, 287, 1)
    assert net.backbone(z).shape == (1, 1024, 16, 16)
    assert net.backbone(x).shape == (2, 1024, 36, 36)
    f_i, f_s = net.embed(z), net.search(x)
    assert f_i.shape == (1, 256, 16, 16) and f_s.shape == (2, 256, 36, 36)
    assert to_tokens(f_i).shape == (1, 256, 256) and to_tokens(f_s).shape == (2, 1296, 256)
    kernel = net.fuse_templates(f_i, f_i, f_i)
    assert kernel.shape == (1, 256, 16, 16)
    cls_map, reg_map = net.rpn.correlate(kernel[..., 4:12, 4:12], f_s)
    assert cls_map.shape == reg_map.shape == (2, 256, 29, 29)
    cls1, cls2, reg = net.head(kernel, f_s)
    assert (cls1.shape, cls2.shape, reg.shape) == ((2, 2, 25, 25), (2, 1, 25, 25), (2, 4, 25, 25))


@torch.no_grad()
def test_residuals_with_zero_last_bn_are_identities(net):  # DAST-2
    f_i, f_a, f_c, f_s = (features(1, 16, 2), features(1, 16, 3), features(1, 16, 4),
                          features(1, 36, 5))
    assert not torch.equal(net.fuse_templates(f_i, f_a, f_c), f_i)
    assert not torch.equal(net.augment_search(f_i, f_s), f_s)
    saved = {}
    for name in ('mf_filter', 'da_filter'):
        last_bn = getattr(net, name)[-1][1]
        saved[name] = (last_bn.weight.clone(), last_bn.bias.clone())
        last_bn.weight.zero_()
        last_bn.bias.zero_()
    try:
        assert torch.equal(net.fuse_templates(f_i, f_a, f_c), f_i)
        assert torch.equal(net.augment_search(f_i, f_s), f_s)
    finally:
        for name, (weight, bias) in saved.items():
            getattr(net, name)[-1][1].weight.copy_(weight)
            getattr(net, name)[-1][1].bias.copy_(bias)


def identity_attention(encoder: FusionEncoder) -> None:
    """One head: identity Q/K/V and output projections, zero biases."""
    attention = encoder.layers[0].attention
    dim = attention.embed_dim
    with torch.no_grad():
        attention.in_proj_weight.copy_(torch.eye(dim).repeat(3, 1))
        attention.in_proj_bias.zero_()
        attention.out_proj.weight.copy_(torch.eye(dim))
        attention.out_proj.bias.zero_()


@torch.no_grad()
def test_first_encoder_attention_is_eq2():  # DAST-3: Q, V from f_c; K from f_a
    encoder = FusionEncoder(heads=1).eval()
    identity_attention(encoder)
    captured = []
    encoder.layers[0].attention.register_forward_hook(lambda m, i, out: captured.append(out[0]))
    f_c, f_a = to_tokens(features(1, 16, 6))[0], to_tokens(features(1, 16, 7))[0]
    encoder(f_c[None], f_a[None])
    by_hand = torch.softmax(f_c @ f_a.T / math.sqrt(256), dim=-1) @ f_c
    torch.testing.assert_close(captured[0][0], by_hand, rtol=0, atol=1e-5)
    paper_k_swapped = torch.softmax(f_c @ f_c.T / math.sqrt(256), dim=-1) @ f_a  # authors' files
    assert (captured[0][0] - paper_k_swapped).abs().max() > 0.1


def test_parameter_counts():  # DAST-7
    net = build_dastsiam()
    parts = {'backbone': 8_543_296, 'neck': 262_912, 'encoder': 3_159_040,
             'decoder': 4_214_272, 'mf_filter': 1_180_672, 'da_filter': 1_180_672,
             'rpn': 4_086_663}
    assert {name: n_params(getattr(net, name)) for name in parts} == parts
    assert n_params(net) == 22_627_527
    assert n_params(build_dastsiam(share_backbone=False)) == 31_170_823


@torch.no_grad()
def test_forward_equals_head_of_template_and_search(mobile_net):  # contract
    net = mobile_net
    z, z_a, z_c, x = crops(2, 127, 8), crops(2, 127, 9), crops(2, 127, 10), crops(2, 287, 11)
    for got, want in zip(net(z, x), net.head(net.template(z), net.search(x))):
        assert torch.equal(got, want)
    f_i = net.embed(z)
    assert torch.equal(net.template(z), net.fuse_templates(f_i, f_i, f_i))
    kernel = net.fuse_templates(f_i, net.embed(z_a), net.embed(z_c))
    for got, want in zip(net(z, x, z_a, z_c), net.head(kernel, net.search(x))):
        assert torch.equal(got, want)


@torch.no_grad()
def test_one_kernel_is_shared_over_a_search_batch(mobile_net):
    net = mobile_net
    kernel, f_s = net.template(crops(1, 127, 12)), net.search(crops(2, 287, 13))
    shared = net.head(kernel, f_s)
    alone = net.head(kernel, f_s[1:])
    for got, want in zip(shared, alone):
        torch.testing.assert_close(got[1:], want, rtol=1e-4, atol=1e-4)


@torch.no_grad()
def test_ablation_switches_take_the_identity_path(mobile_net):  # §7 ablation flags use_st / use_da
    torch.manual_seed(0)
    net = build_dastsiam(trunk='mobilenetv2', use_st=False, use_da=False).eval()
    assert net.encoder is net.mf_filter is net.decoder is net.da_filter is None
    z, x = crops(1, 127, 14), crops(1, 287, 15)
    f_i, f_s = net.embed(z), net.search(x)
    assert torch.equal(net.fuse_templates(f_i, features(1, 16, 1), features(1, 16, 2)), f_i)
    assert torch.equal(net.template(z), f_i)
    assert torch.equal(net.augment_search(f_i, f_s), f_s)
    assert [m.shape for m in net(z, x)] == [(1, 2, 25, 25), (1, 1, 25, 25), (1, 4, 25, 25)]
    assert n_params(mobile_net) - n_params(net) == 3_159_040 + 4_214_272 + 2 * 1_180_672


@torch.no_grad()
def test_mobilenet_trunk_shapes(mobile_net):  # §7 with the padded MobileNetV2 trunk
    net = mobile_net
    assert net.embed(crops(1, 127, 0)).shape == (1, 256, 16, 16)
    assert net.search(crops(1, 287, 1)).shape == (1, 256, 36, 36)
    outputs = net(crops(1, 127, 0), crops(1, 287, 1))
    assert [m.shape for m in outputs] == [(1, 2, 25, 25), (1, 1, 25, 25), (1, 4, 25, 25)]


@torch.no_grad()
def test_unshared_backbone_embeds_templates_with_its_own_copy():
    net = build_dastsiam(trunk='mobilenetv2', share_backbone=False).eval()
    z, x = crops(1, 127, 16), crops(1, 287, 17)
    before_z, before_x = net.embed(z), net.search(x)
    net.template_backbone.low[0][0].weight.mul_(2.0)
    assert not torch.equal(net.embed(z), before_z)
    assert torch.equal(net.search(x), before_x)


def test_backward_gives_finite_gradients():  # batch 2 on the CPU (DAST-8 adds the losses)
    torch.manual_seed(1)
    net = build_dastsiam().train()
    z, z_a, z_c, x = crops(2, 127, 18), crops(2, 127, 19), crops(2, 127, 20), crops(2, 287, 21)
    cls1, cls2, reg = net(z, x, z_a, z_c)
    loss = F.cross_entropy(cls1, torch.zeros(2, 25, 25).long())
    loss = loss + F.binary_cross_entropy_with_logits(cls2, torch.zeros_like(cls2))
    (loss + F.smooth_l1_loss(reg, torch.zeros_like(reg))).backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def torchvision_layout(trunk: ResNet50Trunk) -> dict:
    """A full ResNet-50 state dict in torchvision's layout (layer4 and fc stand-ins added)."""
    state = dict(trunk.state_dict())
    state['layer4.0.conv1.weight'] = torch.zeros(512, 1024, 1, 1)
    state['fc.weight'], state['fc.bias'] = torch.zeros(1000, 2048), torch.zeros(1000)
    return state


def test_resnet50_trunk_loads_a_torchvision_layout_file(tmp_path):
    torch.manual_seed(3)
    source = ResNet50Trunk()
    path = tmp_path / 'resnet50.pth'
    torch.save(torchvision_layout(source), path)
    net = build_dastsiam(pretrained=True, weights_path=path)
    loaded = net.backbone.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in source.state_dict().items())
    torch.save({'conv1.weight': torch.zeros(64, 3, 7, 7)}, tmp_path / 'partial.pth')
    with pytest.raises(ValueError, match='missing'):
        build_dastsiam(pretrained=True, weights_path=tmp_path / 'partial.pth')
    with pytest.raises(ValueError, match='weights_path'):
        build_dastsiam(pretrained=True)
    with pytest.raises(ValueError, match="unknown dastsiam trunk 'alexnet'"):
        build_dastsiam(trunk='alexnet')


def test_compute(net):  # §7 Compute: template + ST 3.7 GMACs, search 26.1 GMACs
    z, x = torch.zeros(1, 3, 127, 127), torch.zeros(1, 3, 287, 287)
    template = count_macs(net, z, call=net.template)
    with torch.no_grad():
        kernel = net.template(z)
    search = count_macs(net, x, call=lambda x: net.head(kernel, net.search(x)))
    dwxcorr = 2 * 256 * 29 * 29 * 8 * 8   # functional, not counted
    assert round(template / 1e9, 1) == 3.7
    assert round((search + dwxcorr) / 1e9, 1) == 26.1
