"""timm `resnest50d` weights → our ResNeSt50 (spec §5 backbone; the conversion a user runs).

The reference (`timm_resnest_reference`) builds timm's layout and forward independently; a
randomly initialised one, converted, must give our undilated static trunk the same outputs.
"""
import subprocess
import sys

import pytest
import torch
import torch.nn as nn

from siam_tracker_ros.models.dynamic_conv import DynamicConv2d
from siam_tracker_ros.models.dyconv_fusion_net import DyConvFusionNet
from siam_tracker_ros.models.resnest import ResNeSt50, convert_timm_resnest50d

from timm_resnest_reference import random_reference

RESNEST50D_PARAMS = 27_483_240   # timm resnest50d with its 1000-class fc


@pytest.fixture(scope='module')
def reference():
    torch.set_num_threads(1)
    return random_reference(seed=0)


def test_reference_has_the_timm_size(reference):
    assert sum(p.numel() for p in reference.parameters()) == RESNEST50D_PARAMS


def test_converted_reference_equals_our_undilated_trunk(reference):
    ours = ResNeSt50(dilated=False).eval()
    ours.load_state_dict(convert_timm_resnest50d(reference.state_dict()))
    x = torch.randn(2, 3, 128, 128)
    with torch.no_grad():
        expected, got = reference.forward_features(x), ours(x)
    assert got.shape == expected.shape == (2, 2048, 4, 4)
    assert (got - expected).abs().max() <= 1e-5 * expected.abs().max()


def test_converter_names_a_missing_key(reference):
    state = dict(reference.state_dict())
    del state['layer2.0.conv2.fc1.weight']
    with pytest.raises(ValueError, match='layer2.0.split_attention.fc1.weight'):
        convert_timm_resnest50d(state)


def test_convert_command_output_initialises_the_dynamic_net(reference, tmp_path, repo_root):
    source, target = tmp_path / 'resnest50d.pth', tmp_path / 'trunk.pt'
    torch.save(reference.state_dict(), source)
    run = subprocess.run([sys.executable, '-m', 'siam_tracker_ros.models.resnest', '--convert',
                          str(source), str(target)], cwd=repo_root, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    net = DyConvFusionNet(trunk_weights=target)
    stem_conv, layer3 = net.embedding.stages[0][0][0], net.embedding.stages[3]
    assert isinstance(stem_conv, DynamicConv2d)
    pretrained = reference.conv1[0].weight.detach()
    deviation = (stem_conv.weight - pretrained).abs().max()
    assert 0 < deviation <= 0.06 * pretrained.std()          # copies + 1 % noise (§5)
    assert torch.equal(layer3[5].conv3.weight, reference.layer3[5].conv3.weight)
    assert type(net.embedding.stages[1][0].shortcut[1]) is nn.Conv2d


def test_timm_layout_file_is_refused_with_a_hint(reference, tmp_path):
    path = tmp_path / 'resnest50d.pth'
    torch.save(reference.state_dict(), path)
    with pytest.raises(ValueError, match='--convert'):
        DyConvFusionNet(trunk_weights=path)
