"""Backbone registry: name -> builder. Every backbone exposes `stride` and `out_channels`.

A padded backbone may also define `crop_template(features)` (centre crop of the template
features, SiamRPN++ style); SiamFCNet calls it when present.
"""
from siam_tracker_ros.models.alexnet import AlexNet, init_xavier
from siam_tracker_ros.models.pretrained_backbones import (EfficientNetLite0Backbone,
                                                          MobileNetV2Backbone, VGG16Backbone)


def build_alexnet():
    """SiamFC AlexNet with Xavier initialisation."""
    net = AlexNet()
    init_xavier(net)
    return net


BACKBONES = {
    'alexnet': build_alexnet,
    'mobilenetv2': MobileNetV2Backbone,          # ImageNet trunk loaded by training, not here
    'efficientnet_lite0': EfficientNetLite0Backbone,
    'vgg16': VGG16Backbone,
}


def build_backbone(name: str):
    """Build backbone `name`, or raise a ValueError listing the known names."""
    if name not in BACKBONES:
        raise ValueError(f'unknown backbone {name!r}; known: {", ".join(sorted(BACKBONES))}')
    return BACKBONES[name]()
