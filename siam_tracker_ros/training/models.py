"""Networks to train: backbone by name (pretrained trunks loaded here), tracker net on top."""
from pathlib import Path

import torch.nn as nn

from siam_tracker_ros.models import pretrained_backbones as pb
from siam_tracker_ros.models.backbones import BACKBONES
from siam_tracker_ros.models.siamfc_net import SiamFCNet
from siam_tracker_ros.models.weights import CAFFE_INPUT, IMAGENET_INPUT, InputFormat
from siam_tracker_ros.training.config import TrainConfigError

# name -> (architecture, registry weight file name)
PRETRAINED = {'mobilenetv2': (pb.MobileNetV2Backbone, pb.MOBILENETV2_FILE),
              'efficientnet_lite0': (pb.EfficientNetLite0Backbone, pb.EFFICIENTNET_LITE0_FILE),
              'vgg16': (pb.VGG16Backbone, pb.VGG16_FILE)}
INPUT_FORMATS = {'raw': InputFormat(), 'imagenet': IMAGENET_INPUT, 'caffe': CAFFE_INPUT}


def build_backbone(name: str, pretrained: bool, cache_dir=None) -> nn.Module:
    """A backbone; pretrained trunks are read from `<cache_dir>/weights`."""
    if name in PRETRAINED:
        architecture, filename = PRETRAINED[name]
        net = architecture()
        if pretrained:
            path = Path(cache_dir or pb.default_cache_dir()) / 'weights' / filename
            if not path.is_file():
                raise TrainConfigError(f'pretrained weights not found: {path} '
                                       '(run scripts/fetch_training_data.sh)')
            net.load_source(architecture.read_source(path))
        return net
    if name in BACKBONES:
        if pretrained:
            raise TrainConfigError(f'backbone {name!r} has no pretrained weights')
        return BACKBONES[name]()
    known = sorted(set(BACKBONES) | set(PRETRAINED))
    raise TrainConfigError(f'unknown backbone {name!r}; known: {", ".join(known)}')


def build_net(config) -> nn.Module:
    """The tracker network of a TrainConfig, with the trunk frozen when asked."""
    if config.tracker != 'siamfc':
        raise TrainConfigError(f'no training recipe for tracker {config.tracker!r} yet')
    net = SiamFCNet(build_backbone(config.backbone, config.pretrained, config.data.cache_dir))
    if config.freeze_trunk:
        trunk = getattr(net.backbone, 'trunk_modules', None)
        if trunk is None:
            raise TrainConfigError(f'backbone {config.backbone!r} has no trunk to freeze')
        for module in trunk():
            module.requires_grad_(False)
    return net


def frozen_modules(net: nn.Module) -> list:
    """Modules whose parameters are all frozen (kept in eval mode: BN statistics fixed)."""
    trunk = getattr(net.backbone, 'trunk_modules', None)
    if trunk is None:
        return []
    return [m for m in trunk() if not any(p.requires_grad for p in m.parameters())]


def input_format(config) -> InputFormat:
    """The pixel format the trained weights expect (stored with them)."""
    return INPUT_FORMATS[config.input]
