"""Spec §2 SFC-1, SFC-2, SFC-4 and decoder checks C5."""
import numpy as np
import pytest
import torch

from siam_tracker_ros.models.alexnet import AlexNet
from siam_tracker_ros.models.backbones import build_backbone
from siam_tracker_ros.models.siamfc_net import SiamFCNet
from siam_tracker_ros.trackers.siamfc_decoder import decode, scale_factors, scale_update

DECODER = dict(scale_penalty=0.9745, response_up=16, total_stride=8, instance_size=255)


@pytest.mark.parametrize('side,out', [(127, 6), (255, 22), (239, 20)])
def test_alexnet_feature_sizes(side, out):  # SFC-1
    with torch.no_grad():
        features = AlexNet().eval()(torch.zeros(1, 3, side, side))
    assert features.shape == (1, 256, out, out)


def test_three_scales_give_three_17x17_responses():  # SFC-1
    net = SiamFCNet(build_backbone('alexnet')).eval()
    with torch.no_grad():
        response = net(torch.rand(1, 3, 127, 127), torch.rand(3, 3, 255, 255))
    assert response.shape == (3, 1, 17, 17)
    with torch.no_grad():
        train = net(torch.rand(4, 3, 127, 127), torch.rand(4, 3, 239, 239))
    assert train.shape == (4, 1, 15, 15)


def test_parameter_count():  # SFC-2: 2,336,320 (+1 adjust bias), ±0.5 %
    net = SiamFCNet(AlexNet())
    assert sum(p.numel() for p in net.backbone.parameters()) == 2_336_320
    assert sum(p.numel() for p in net.parameters()) == 2_336_321


def test_five_scale_factors():  # SFC-4
    assert np.allclose(scale_factors(5, 1.0255), 1.0255 ** np.arange(-2, 3))
    assert np.allclose(scale_factors(3, 1.0375), [1 / 1.0375, 1, 1.0375])


def gaussian_bump(row, col, size=17, height=1.0):
    ys, xs = np.mgrid[:size, :size]
    return height * np.exp(-((ys - row) ** 2 + (xs - col) ** 2) / 2.0)


@pytest.mark.parametrize('dy,dx', [(0, 0), (2, -3), (-4, 1), (5, 5)])
def test_bump_moves_centre_by_cells_times_stride(dy, dx):  # C5 (a)
    s_x = 300.0
    maps = gaussian_bump(8 + dy, 8 + dx)[None]
    out = decode(maps, np.array([1.0]), s_x, window_influence=0.0, **DECODER)
    expected = np.array([dx, dy]) * 8 * s_x / 255
    assert np.all(np.abs(np.array(out.displacement) - expected) <= 0.5 * s_x / 255)


def test_larger_scale_wins_when_10_percent_higher():  # C5 (b)
    maps = np.stack([gaussian_bump(8, 8), gaussian_bump(8, 8), gaussian_bump(8, 8, height=1.1)])
    factors = scale_factors(3, 1.0375)
    out = decode(maps, factors, 255.0, window_influence=0.176, **DECODER)
    assert out.scale_index == 2
    assert scale_update(0.59, factors[out.scale_index]) == pytest.approx(0.41 + 0.59 * 1.0375)
