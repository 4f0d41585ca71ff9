"""`siam_gam`: lightweight SiamFC with global attention (Wang, He, Cheng 2022), spec §4.

Two SiamFC subnets (A: conv3–5 fusion + GAM, B: SE) whose responses are averaged: the paper's
independent AlexNets (`models/siam_gam_net.py`) or the same modules on one shared ImageNet
MobileNetV2 trunk (`models/siam_gam_trunk_net.py`, the shipped weights). The §1.4 decoder with
the paper's multi-size test (`trackers/multisize.py`), the balanced logistic loss on the fused
response with the multi-size training draw, and siamfc weights as a warm start.
"""
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from siam_tracker_ros.models.alexnet import AlexNet
from siam_tracker_ros.models.backbones import build_backbone
from siam_tracker_ros.models.siam_gam_net import SUBNET_CHOICES, build_siam_gam_net
from siam_tracker_ros.models.siam_gam_trunk_net import TrunkGAMNet
from siam_tracker_ros.models.siam_gam_warm_start import trunk_warm_start
from siam_tracker_ros.models.weights import WeightsError
from siam_tracker_ros.ops.multisize import crop_sides, draw_training_sizes
from siam_tracker_ros.registry import TrackerEntry, register
from siam_tracker_ros.training.data import draw_batch
from siam_tracker_ros.training.models import tracker_config
from siam_tracker_ros.training.objectives import Objective, logistic_pair_loss
from siam_tracker_ros.trackers.multisize import MultiSizePyramidTracker
from siam_tracker_ros.trackers.pyramid import PyramidConfig


@dataclass(frozen=True)
class SiamGAMConfig(PyramidConfig):
    """siam_gam settings (config/siam_gam.yaml): the SiamFC-family fields, the ablation
    switches and the test sizes.

    use_se: SE blocks in subnet B. use_gam: GAM in subnet A. use_fusion: conv3–5 fusion in
    subnet A (else conv5 alone). subnets: 'AB' (both, averaged), 'A' or 'B'.
    test_sizes: (template, search) crop sizes Q1, Q2, flat: [127, 255] is one pair, the
    paper's best [127, 255, 191, 319, 255, 383] three (a flat list is a ROS integer array;
    a list of pairs is accepted too). All pairs must give the same response size.
    multi_size_training: training only: each batch at a drawn size pair (the paper), else
    at the pair sources' 127 / 239.
    """

    CHOICES: ClassVar[dict] = {'subnets': tuple(SUBNET_CHOICES)}

    use_se: bool
    use_gam: bool
    use_fusion: bool
    subnets: str
    test_sizes: tuple
    multi_size_training: bool

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, 'test_sizes', flat_sizes(self.test_sizes))
        crop_sides(1.0, self.size_pairs, AlexNet.stride)   # same response size for every pair

    @property
    def size_pairs(self) -> tuple:
        """test_sizes as ((Q1, Q2), ...)."""
        sizes = self.test_sizes
        return tuple(zip(sizes[0::2], sizes[1::2]))


def flat_sizes(sizes) -> tuple:
    """[Q1, Q2, ...] or [[Q1, Q2], ...] -> (Q1, Q2, ...) of ints; ValueError otherwise."""
    values = [v for item in sizes for v in (item if isinstance(item, (list, tuple)) else [item])]
    if not values or len(values) % 2 or not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values):
        raise ValueError(f'test_sizes must be (template, search) pairs of positive ints, '
                         f'e.g. [127, 255], got {sizes!r}')
    return tuple(values)


TRUNK_BACKBONE = 'mobilenetv2'    # the pretrained trunk the shipped siam_gam uses


def build_net(config, backbone=None, pretrained_dir=None):
    """The paper's SiamGAMNet (SiamFC AlexNet subnets, seeded Xavier init, no ImageNet trunk)
    or, for `backbone='mobilenetv2'`, TrunkGAMNet: the same modules on the shared ImageNet
    MobileNetV2 trunk (loaded from `pretrained_dir` when given)."""
    switches = dict(use_se=config.use_se, use_gam=config.use_gam,
                    use_fusion=config.use_fusion, subnets=config.subnets)
    if backbone == TRUNK_BACKBONE:
        return TrunkGAMNet(build_backbone(TRUNK_BACKBONE, pretrained_dir), **switches)
    if backbone not in (None, '', 'alexnet'):
        raise ValueError(f'siam_gam is built on the SiamFC AlexNet (the paper) or on '
                         f'{TRUNK_BACKBONE!r}, not {backbone!r}')
    if pretrained_dir is not None:
        raise ValueError('the AlexNet siam_gam has no ImageNet-pretrained trunk; set '
                         f'pretrained: false (or backbone: {TRUNK_BACKBONE})')
    return build_siam_gam_net(**switches)


# where a siamfc AlexNet key goes in each subnet: (subnet attribute, backbone prefix)
SIAMFC_PLACES = (('subnet_a', 'subnet_a.backbone.alexnet.'), ('subnet_b', 'subnet_b.backbone.'))


def adapt_siamfc_state(net, state_dict: dict, source) -> dict:
    """The state dict that starts siam_gam from a siamfc file: on the MobileNetV2 trunk,
    `trunk_warm_start`; for the paper's network, the AlexNet file goes into both subnets'
    AlexNets and adjust biases (SE, fusion and GAM keep their seeded init). Every key of the
    file must find its place; shapes are checked on load."""
    if isinstance(net, TrunkGAMNet):
        return trunk_warm_start(net, state_dict)
    state = net.state_dict()
    for subnet, prefix in SIAMFC_PLACES:
        if getattr(net, subnet) is None:
            continue
        for key, value in state_dict.items():
            place = (f'{subnet}.{key}' if not key.startswith('backbone.')
                     else prefix + key[len('backbone.'):])
            if place not in state:
                raise WeightsError(f'siamfc key {key!r} has no place in siam_gam')
            state[place] = value
    return state


def draw_multi_size_batch(mixture, rngs, input_format, device):
    """`draw_batch` pairs and the size pair drawn for the batch (spec §4 multi-size training):
    template 127+δ, search 239+δ, δ ∈ {0, 8, …, 128}, from the batch's shared stream (so every
    process's share has the same sizes), repeated per sample (B×2). The loss applies it when
    the tracker's `multi_size_training` is on."""
    z, x, targets = draw_batch(mixture, rngs, input_format, device)
    sizes = draw_training_sizes(rngs.shared, base_sizes=(z.shape[-1], x.shape[-1]))
    return z, x, targets, np.tile(np.array(sizes), (len(targets), 1))


def multi_size_pair_loss(net, batch, train) -> torch.Tensor:
    """The balanced logistic loss on the pairs, rescaled to the batch's drawn sizes
    (`rescale_pairs`) unless the tracker config's `multi_size_training` is off."""
    z, x, targets, sizes = batch
    if tracker_config(train).multi_size_training:
        z, x, targets = rescale_pairs(z, x, targets, *(int(v) for v in sizes[0]))
    return logistic_pair_loss(net, (z, x, targets), train)


def rescale_pairs(z, x, targets, template_size: int, search_size: int):
    """Resize the templates to template_size and cut the searches to the region that, at the
    templates' new pixel scale, is search_size px wide (centred, same parity), resized to
    search_size. Target boxes (cx, cy, w, h in search px) follow the search."""
    if template_size == z.shape[-1] and search_size == x.shape[-1]:
        return z, x, targets
    side = x.shape[-1]
    keep = side - 2 * int(round((side - search_size * z.shape[-1] / template_size) / 2))
    start = (side - keep) // 2
    x = x[..., start:start + keep, start:start + keep]
    z = F.interpolate(z, size=(template_size, template_size), mode='bilinear',
                      align_corners=False)
    x = F.interpolate(x, size=(search_size, search_size), mode='bilinear', align_corners=False)
    gain = search_size / keep
    targets = np.array(targets, np.float64)
    targets[:, :2] = (targets[:, :2] - start + 0.5) * gain - 0.5
    targets[:, 2:] *= gain
    return z, x, targets


MULTI_SIZE_PAIRS = Objective(make_batch=draw_multi_size_batch, loss=multi_size_pair_loss)

register(TrackerEntry(
    name='siam_gam', tracker_class=MultiSizePyramidTracker, config_class=SiamGAMConfig,
    build_net=build_net, objective=MULTI_SIZE_PAIRS, adapt_state=adapt_siamfc_state,
    weight_sources=('siamfc',),
    summary='two SiamFC subnets (SE; 3-layer fusion + GAM), responses averaged; AlexNet or '
            'MobileNetV2 trunk; multi-size test'))
