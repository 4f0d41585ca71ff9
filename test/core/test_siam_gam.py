"""siam_gam network (spec §4): GAM-1 … GAM-5, the GAM-6 stub swap, multi-size geometry.

GAM-6 itself (C9 through the tracker) belongs with the siam_gam tracker tests.
"""
import cv2
import numpy as np
import pytest
import torch
import torch.nn as nn

from siam_tracker_ros.models.alexnet import AlexNet
from siam_tracker_ros.models.attention import GlobalAttention, SqueezeExcitation
from siam_tracker_ros.models.siam_gam_net import SiamGAMNet, build_siam_gam_net
from siam_tracker_ros.models.siamfc_net import SiamFCNet
from siam_tracker_ros.models.weights import PACKAGE_WEIGHTS_DIR, load_weights
from siam_tracker_ros.profiling import count_macs
from siam_tracker_ros.ops.crop import crop_patch, image_mean_color, template_side
from siam_tracker_ros.ops.multisize import (PAPER_TEST_SIZES, TRAIN_OFFSETS, crop_sides,
                                            draw_training_sizes, response_size, search_side)
from test_siamfc_tracker import AveragePoolStub    # the C9 stub of SFC-3

torch.set_num_threads(1)
SIAMFC_WEIGHTS = PACKAGE_WEIGHTS_DIR / 'siamfc_alexnet.pt'


def count(module):
    return sum(p.numel() for p in module.parameters())


@pytest.fixture(scope='module')
def frame(sot_dir):
    image = cv2.imread(str(sot_dir / 'otb_DragonBaby' / 'img' / '0001.jpg'))
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def crops(frame, template_size=127, search_size=255, scales=(1.0,)):
    """Template and search crops (1×3 and n×3 float tensors) around a fixed box."""
    s_z, colour = template_side(60, 80), image_mean_color(frame)

    def crop(side, size):
        patch = crop_patch(frame, (300.0, 150.0), side, size, colour)
        return torch.from_numpy(patch).permute(2, 0, 1).float()
    x_side = search_side(s_z, template_size, search_size)
    return (crop(s_z, template_size)[None],
            torch.stack([crop(x_side * f, search_size) for f in scales]))


@pytest.fixture(scope='module')
def net():
    torch.manual_seed(0)
    return build_siam_gam_net().eval()


@pytest.mark.parametrize('side,c3,c4,c5', [(127, 10, 8, 6), (255, 26, 24, 22)])
def test_subnet_feature_shapes(net, frame, side, c3, c4, c5):  # GAM-1
    image = crops(frame, side, side)[0]
    with torch.no_grad():
        layers = net.subnet_a.backbone.alexnet.conv_outputs(image)
        fused = net.subnet_a.backbone.fusion(layers)
        assert [tuple(f.shape[1:]) for f in layers] == [(384, c3, c3), (384, c4, c4),
                                                        (256, c5, c5)]
        assert fused.shape == net.subnet_a.search(image).shape == (1, 256, c5, c5)
        assert net.subnet_b.search(image).shape == (1, 256, c5, c5)


@pytest.mark.parametrize('pair,z_side,x_side', [((127, 255), 6, 22), ((191, 319), 14, 30),
                                                 ((255, 383), 22, 38), ((127, 239), 6, 20),
                                                 ((255, 367), 22, 36)])
def test_multi_size_pairs_give_one_response_size(net, frame, pair, z_side, x_side):  # GAM-1
    z, x = crops(frame, *pair, scales=(1 / 1.0375, 1.0, 1.0375))
    with torch.no_grad():
        kernels, features = net.template(z), net.search(x)
        response = net.head(kernels, features)
    assert [k.shape[-1] for k in kernels] == [z_side] * 2
    assert [f.shape[-1] for f in features] == [x_side] * 2
    expected = response_size(*pair)
    assert response.shape == (3, 1, expected, expected)
    assert expected == (17 if pair in PAPER_TEST_SIZES else 15)


def set_linear(layer, weight, bias):
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(weight, dtype=torch.float64).view_as(layer.weight))
        layer.bias.copy_(torch.tensor(bias, dtype=torch.float64))


def small_gam():
    """C = 4, H = W = 2, r = 4 (hidden size 1), float64."""
    return GlobalAttention(channels=4, reduction=4).double()


U = np.array([[[0.5, -1.0], [2.0, 0.25]], [[-0.75, 1.5], [0.0, -2.0]],
              [[1.0, 1.0], [-0.5, 0.3]], [[-1.25, 0.6], [0.8, -0.1]]])


def test_gam_matches_numpy_by_hand():  # GAM-2
    gam = small_gam()
    w_r, b_r, w_e, b_e = [0.5, -1.0, 0.25, 2.0], [0.1], [1.0, -0.5, 2.0, 0.3], [0, .2, -.1, .05]
    v_r, c_r, v_c, c_c = [-0.3, 0.8, 0.5, -1.0], [0.2], [0.7], [-0.4]
    set_linear(gam.channel_reduce, w_r, b_r)
    set_linear(gam.channel_expand, w_e, b_e)
    set_linear(gam.spatial_reduce, v_r, c_r)
    set_linear(gam.spatial_collapse, v_c, c_c)
    hidden = max(np.dot(w_r, U.mean(axis=(1, 2))) + b_r[0], 0.0)
    g = np.array(w_e) * hidden + np.array(b_e)                                 # C
    s = v_c[0] * np.maximum(np.einsum('c,chw->hw', v_r, U) + c_r[0], 0) + c_c[0]  # H×W
    expected = U * np.tanh(g[:, None, None] + s[None] + g[:, None, None] * s[None])
    with torch.no_grad():
        out = gam(torch.from_numpy(U)[None])[0].numpy()
    assert np.abs(out - expected).max() < 1e-6
    assert np.abs(expected - U).max() > 0.1    # the attention does change U


def test_gam_zero_parameters_give_zero():  # GAM-2
    gam = small_gam()
    for p in gam.parameters():
        nn.init.zeros_(p)
    with torch.no_grad():
        assert torch.equal(gam(torch.from_numpy(U)[None]), torch.zeros(1, 4, 2, 2, dtype=float))


def test_gam_with_g_zero_and_constant_s_scales_by_tanh_s():  # GAM-2
    gam, s = small_gam(), 0.7
    for p in gam.parameters():
        nn.init.zeros_(p)
    nn.init.constant_(gam.spatial_collapse.bias, s)
    with torch.no_grad():
        out = gam(torch.from_numpy(U)[None])[0].numpy()
    assert np.abs(out - U * np.tanh(s)).max() < 1e-12


def test_se_with_zero_fc_gives_half(frame):  # GAM-3
    se = SqueezeExcitation(96, reduction=16)
    for p in se.parameters():
        nn.init.zeros_(p)
    u = crops(frame, 127, 127)[0].repeat(1, 32, 1, 1)
    with torch.no_grad():
        assert torch.equal(se(u), 0.5 * u)


def test_se_matches_numpy():  # GAM-3 (the non-degenerate case)
    rng = np.random.default_rng(0)
    se = SqueezeExcitation(32, reduction=16).double()
    u = rng.normal(size=(32, 3, 3))
    w1, b1, w2, b2 = [t.detach().numpy() for t in (se.reduce.weight, se.reduce.bias,
                                                   se.expand.weight, se.expand.bias)]
    scale = 1 / (1 + np.exp(-(w2 @ np.maximum(w1 @ u.mean(axis=(1, 2)) + b1, 0) + b2)))
    with torch.no_grad():
        out = se(torch.from_numpy(u)[None])[0].numpy()
    assert np.abs(out - u * scale[:, None, None]).max() < 1e-12


def test_se_follows_every_conv_after_relu_before_pooling(net, frame):  # spec §4 subnet B
    backbone, seen = net.subnet_b.backbone, {}

    def record(name):
        def hook(_, args, out):
            seen[name] = (args[0].clone(), out.clone())
        return hook
    blocks = [m for m in backbone.modules() if isinstance(m, SqueezeExcitation)]
    pools = [backbone.conv1[1], backbone.conv2[1]]
    hooks = [m.register_forward_hook(record(i)) for i, m in enumerate(blocks + pools)]
    image = crops(frame, 127, 127)[0]
    with torch.no_grad():
        conv5 = backbone.conv5(backbone.conv4(backbone.conv3(backbone.conv2(backbone.conv1(
            image)))))
        features = backbone(image)
    for hook in hooks:
        hook.remove()
    assert [b.expand.out_features for b in blocks] == [96, 256, 384, 384, 256]
    assert all(seen[i][0].min() >= 0 for i in range(4))           # after the ReLU
    assert torch.equal(seen[5][0], seen[0][1]) and torch.equal(seen[6][0], seen[1][1])  # pools
    assert torch.equal(seen[4][0], conv5) and conv5.min() < 0     # after the linear conv5
    assert torch.equal(features, seen[4][1])


def test_attention_rejects_channels_not_divisible_by_ratio():
    with pytest.raises(ValueError, match='multiple of the reduction ratio'):
        SqueezeExcitation(100, reduction=16)
    with pytest.raises(ValueError, match='multiple of the reduction ratio'):
        GlobalAttention(channels=6, reduction=4)


def cell_centre(layers, index):
    """Input-px centre of cell `index` after a chain of padding-free convs and pools."""
    start, jump = 0.0, 1
    for layer in layers:
        kernel = layer.kernel_size if isinstance(layer.kernel_size, int) else layer.kernel_size[0]
        stride = layer.stride if isinstance(layer.stride, int) else layer.stride[0]
        start += (kernel - 1) / 2 * jump
        jump *= stride
    return start + jump * index


def test_pooled_cells_share_conv5_centre(net):  # GAM-4
    chain = [m for m in net.subnet_a.backbone.alexnet.modules()
             if isinstance(m, (nn.Conv2d, nn.MaxPool2d))]
    conv3, conv4, conv5 = chain[:5], chain[:6], chain
    pool3, pool4, _ = net.subnet_a.backbone.fusion.pools
    for i in range(22):
        assert cell_centre(conv5, i) == 8 * i + 43
        assert cell_centre(conv3, i + 2) == cell_centre(conv4, i + 1) == 8 * i + 43
        assert cell_centre(conv3 + [pool3], i) == cell_centre(conv4 + [pool4], i) == 8 * i + 43


@pytest.mark.parametrize('layer,shift', [(0, 2), (1, 1)])
@pytest.mark.parametrize('side', [6, 22])
def test_single_activation_shows_at_pooled_cell(net, layer, shift, side):  # GAM-4
    pool = net.subnet_a.backbone.fusion.pools[layer]
    for i, j in [(0, 0), (side - 1, side - 1), (2, side // 2)]:
        conv = torch.zeros(1, 384, side + 2 * shift, side + 2 * shift)
        conv[0, 7, i + shift, j + shift] = 3.0
        pooled = pool(conv)[0, 7]
        assert pooled.shape == (side, side) and pooled[i, j] == 3.0
        rows, cols = np.nonzero(pooled.numpy())
        assert np.abs(rows - i).max() <= shift and np.abs(cols - j).max() <= shift


def test_response_is_mean_of_subnets(frame):  # GAM-5
    net = build_siam_gam_net().eval()
    z, x = crops(frame, scales=(1 / 1.0375, 1.0, 1.0375))
    with torch.no_grad():
        net.subnet_a.adjust_bias.fill_(0.3)
        net.subnet_b.adjust_bias.fill_(-0.1)
        (z_a, z_b), (x_a, x_b) = net.template(z), net.search(x)
        r_a, r_b = net.subnet_a.head(z_a, x_a), net.subnet_b.head(z_b, x_b)
        response = net(z, x)
    assert torch.equal(response, (r_a + r_b) / 2)
    assert not torch.allclose(r_a, r_b)


def test_parameter_counts(net):  # GAM-5: 5,042,551 (+2 adjust biases)
    a, b = net.subnet_a.backbone, net.subnet_b.backbone
    assert (count(a.alexnet), count(a.fusion), count(a.gam), count(b)) == (
        2_336_320, 264_448, 49_601, 2_392_182)
    assert count(a) + count(b) == 5_042_551
    assert count(net) == 5_042_553
    shared = {id(p) for p in a.parameters()} & {id(p) for p in b.parameters()}
    assert not shared    # independent subnets


@pytest.mark.parametrize('side,expected', [(127, 0.93e9), (255, 5.57e9)])
def test_macs_per_crop(net, side, expected):  # §4 Compute: template 0.93, search 5.57 GMACs
    crop = torch.zeros(1, 3, side, side)    # convs and FCs; the xcorr adds < 0.1 %
    macs = sum(count_macs(subnet.backbone, crop) for subnet in net.active_subnets())
    assert macs == pytest.approx(expected, rel=0.005)


@pytest.mark.parametrize('options,a_params,b_params', [
    (dict(use_fusion=False), 2_336_320 + 49_601, 2_392_182),
    (dict(use_gam=False), 2_336_320 + 264_448, 2_392_182),
    (dict(use_se=False), 2_650_369, 2_336_320),
    (dict(subnets='A'), 2_650_369, None),
    (dict(subnets='B'), None, 2_392_182)])
def test_ablation_switches(frame, options, a_params, b_params):
    net = SiamGAMNet(**options).eval()
    found = [count(sub.backbone) if sub else None for sub in (net.subnet_a, net.subnet_b)]
    assert found == [a_params, b_params]
    z, x = crops(frame)
    with torch.no_grad():
        kernels = net.template(z)
        response = net.head(kernels, net.search(x))
    assert len(kernels) == len(net.active_subnets()) and response.shape == (1, 1, 17, 17)
    if len(kernels) == 1:
        with torch.no_grad():
            assert torch.equal(response, net.active_subnets()[0](z, x))


def test_bad_subnets_and_feature_tuples_raise(net, frame):
    with pytest.raises(ValueError, match='subnets must be one of'):
        SiamGAMNet(subnets='C')
    z, x = crops(frame)
    with torch.no_grad(), pytest.raises(ValueError, match='one per subnet'):
        net.head(net.template(z)[:1], net.search(x))


def test_subnets_take_siamfc_weights(frame):
    """The shipped SiamFC AlexNet warm-starts both subnets; A without fusion/GAM is SiamFC."""
    state = load_weights(SIAMFC_WEIGHTS)['state_dict']
    state = {k: v.float() for k, v in state.items()}
    siamfc = SiamFCNet(AlexNet()).eval()
    siamfc.load_state_dict(state)
    net = SiamGAMNet(use_fusion=False, use_gam=False).eval()
    net.subnet_a.load_state_dict({k.replace('backbone.', 'backbone.alexnet.'): v
                                  for k, v in state.items()})
    missing, unexpected = net.subnet_b.load_state_dict(state, strict=False)
    se_keys = {f'backbone.{name}.{key}' for name, module in net.subnet_b.backbone.named_modules()
               if isinstance(module, SqueezeExcitation) for key in module.state_dict()}
    assert not unexpected and sorted(missing) == sorted(se_keys) and len(se_keys) == 4 * 5
    z, x = crops(frame)
    with torch.no_grad():
        assert torch.equal(net.subnet_a(z, x), siamfc(z, x))


def test_stub_replaces_whole_embedding(frame):  # GAM-6 set-up (C9 stub)
    """With the C9 stub as each subnet's `backbone`, fusion, GAM and SE are bypassed."""
    stubbed = build_siam_gam_net().eval()
    stubbed.subnet_a.backbone = AveragePoolStub()
    stubbed.subnet_b.backbone = AveragePoolStub()
    z, x = crops(frame, scales=(1 / 1.0375, 1.0, 1.0375))
    with torch.no_grad():
        response = stubbed(z, x)
        assert response.shape == (3, 1, 17, 17)
        assert torch.equal(response, SiamFCNet(AveragePoolStub())(z, x))
    assert count(stubbed) == 2


def test_multi_size_crop_sides():  # §4 multi-size testing
    sides = crop_sides(100.0, PAPER_TEST_SIZES)
    assert sides == [(100.0, 100.0 * 255 / 127), (100.0, 100.0 * 319 / 191),
                     (100.0, 100.0 * 383 / 255)]
    with pytest.raises(ValueError, match='different response sizes'):
        crop_sides(100.0, [(127, 255), (127, 263)])
    with pytest.raises(ValueError, match='multiple of the stride'):
        crop_sides(100.0, [(127, 250)])
    with pytest.raises(ValueError, match='empty'):
        crop_sides(100.0, [])


def test_multi_size_training_draw():  # §4 multi-size training
    rng = np.random.default_rng(0)
    draws = [draw_training_sizes(rng) for _ in range(3400)]
    deltas = np.array([z - 127 for z, _ in draws])
    assert all(x - z == 112 and response_size(z, x) == 15 for z, x in draws)
    values, counts = np.unique(deltas, return_counts=True)
    assert tuple(values) == TRAIN_OFFSETS == tuple(range(0, 129, 8))
    assert counts.min() > 150 and counts.max() < 250    # 200 expected per value

