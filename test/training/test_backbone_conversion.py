"""Converted pretrained trunks give the same outputs as the source weights on a real photo.

The reference is an independent functional forward over the source state dict
(`reference_nets`). With the registry files fetched (scripts/fetch_training_data.sh) the real
ImageNet weights are checked, including EfficientNet-Lite0's ImageNet top-5 on the photo;
otherwise random state dicts in the same source layouts are (never skipped).
"""
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from siam_tracker_ros.models import pretrained_backbones as pb

from reference_nets import lite0_forward, mobilenetv2_forward, random_lite0_state, \
    random_mobilenetv2_state

PHOTO = Path(__file__).parent / 'data' / 'squirrel.jpg'   # opencv-doc squirrel_cls.jpg, 256 px
SQUIRREL_CLASSES = {335, 336}   # ImageNet fox squirrel, marmot
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def photo_tensor(size=224) -> torch.Tensor:
    image = cv2.cvtColor(cv2.imread(str(PHOTO)), cv2.COLOR_BGR2RGB)
    h, w = image.shape[:2]
    top, left = (h - size) // 2, (w - size) // 2
    x = torch.from_numpy(image[top:top + size, left:left + size].copy()).permute(2, 0, 1)
    return ((x[None].float() / 255.0) - MEAN) / STD


def source_state(name: str):
    """(state dict, is_real): the fetched registry file when present, else random."""
    filename = pb.MOBILENETV2_FILE if name == 'mobilenetv2' else pb.EFFICIENTNET_LITE0_FILE
    path = pb.default_cache_dir() / 'weights' / filename
    if path.is_file():
        return pb.read_state_dict(path), True
    return (random_mobilenetv2_state() if name == 'mobilenetv2' else random_lite0_state()), False


@torch.no_grad()
def test_mobilenetv2_conversion_matches_source():
    state, _ = source_state('mobilenetv2')
    x = photo_tensor()
    net = pb.MobileNetV2Backbone(dilated=False).eval()
    net.load_source(state)
    low = net.low(x)
    torch.testing.assert_close(low, mobilenetv2_forward(state, x, upto=6), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(net.high(low), mobilenetv2_forward(state, x, upto=13),
                               rtol=1e-4, atol=1e-4)


@torch.no_grad()
def test_efficientnet_lite0_conversion_matches_source():
    state, real = source_state('efficientnet_lite0')
    x = photo_tensor()
    net = pb.EfficientNetLite0Backbone(dilated=False).eval()
    net.load_source(state)
    low = net.low(x)
    torch.testing.assert_close(low, lite0_forward(state, x, upto=5), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(net.high(low), lite0_forward(state, x, upto=11),
                               rtol=1e-4, atol=1e-4)
    if real:   # the source weights themselves are right: ImageNet top-5 on the photo
        top5 = lite0_forward(state, x, upto=16, classify=True)[0].topk(5).indices.tolist()
        assert SQUIRREL_CLASSES & set(top5), top5


@pytest.mark.parametrize('architecture', [pb.MobileNetV2Backbone, pb.EfficientNetLite0Backbone])
@torch.no_grad()
def test_padded_backbone_shapes_and_centre(architecture):
    net = architecture().eval()
    z = net.crop_template(net(torch.zeros(1, 3, 127, 127)))
    assert net.stride == 8 and z.shape == (1, net.out_channels, 8, 8)
    assert net(torch.zeros(1, 3, 255, 255)).shape[-1] == 32
    assert net(torch.zeros(1, 3, 239, 239)).shape[-1] == 30


def test_missing_weight_file_names_itself(tmp_path):
    with pytest.raises(FileNotFoundError, match='nowhere.pt'):
        pb.read_state_dict(tmp_path / 'nowhere.pt')


def test_dilated_trunk_keeps_the_source_weights():
    state, _ = source_state('mobilenetv2')
    dilated, plain = pb.MobileNetV2Backbone(), pb.MobileNetV2Backbone(dilated=False)
    dilated.load_source(state)
    plain.load_source(state)
    for key, value in plain.state_dict().items():
        if not key.startswith('neck.'):
            assert torch.equal(value, dilated.state_dict()[key]), key
    assert np.isclose(float(dilated.high[0].conv[3].dilation[0]), 2.0)
