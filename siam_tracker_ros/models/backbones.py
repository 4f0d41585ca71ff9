"""Backbone registry: name -> builder. Every backbone exposes `stride` and `out_channels`.

A padded backbone may also define `crop_template(features)` (centre crop of the template
features, SiamRPN++ style); SiamFCNet calls it when present. Pretrained trunks load their
ImageNet weights from a registry weight file (docs/training.md) when a directory is given.
"""
from pathlib import Path

from siam_tracker_ros.models import pretrained_backbones as pb
from siam_tracker_ros.models.alexnet import AlexNet, init_xavier


def build_alexnet():
    """SiamFC AlexNet with Xavier initialisation."""
    net = AlexNet()
    init_xavier(net)
    return net


# name -> (builder, file of ImageNet trunk weights or None)
BACKBONES = {
    'alexnet': (build_alexnet, None),
    'mobilenetv2': (pb.MobileNetV2Backbone, pb.MOBILENETV2_FILE),
    'efficientnet_lite0': (pb.EfficientNetLite0Backbone, pb.EFFICIENTNET_LITE0_FILE),
    'vgg16': (pb.VGG16Backbone, pb.VGG16_FILE),
}


def trunk_of(module) -> list:
    """`module.trunk_modules()`: its pretrained trunk (for freezing), none when it has none."""
    trunk = getattr(module, 'trunk_modules', None)
    return trunk() if trunk else []


def template_crop(backbone, features):
    """The backbone's `crop_template(features)` when it has one, else `features`."""
    crop = getattr(backbone, 'crop_template', None)
    return crop(features) if crop else features


def build_backbone(name: str, pretrained_dir=None):
    """Backbone `name`; with `pretrained_dir`, its ImageNet trunk is loaded from the registry
    weight file in that directory. Unknown names and missing files raise a clear error."""
    if name not in BACKBONES:
        raise ValueError(f'unknown backbone {name!r}; known: {", ".join(sorted(BACKBONES))}')
    builder, source = BACKBONES[name]
    net = builder()
    if pretrained_dir is not None:
        if source is None:
            raise ValueError(f'backbone {name!r} has no pretrained weights')
        path = Path(pretrained_dir) / source
        if not path.is_file():
            raise FileNotFoundError(f'pretrained weights not found: {path} '
                                    '(run scripts/fetch_training_data.sh)')
        net.load_source(net.read_source(path))
    return net
