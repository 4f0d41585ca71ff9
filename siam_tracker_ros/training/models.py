"""The network to train: the tracker's own builder from the registry, trunk frozen on request."""
from pathlib import Path

import torch.nn as nn

from siam_tracker_ros.build import load_into
from siam_tracker_ros.config import load_config
from siam_tracker_ros.models.backbones import trunk_of
from siam_tracker_ros.models.weights import CAFFE_INPUT, IMAGENET_INPUT, InputFormat
from siam_tracker_ros.registry import get_entry
from siam_tracker_ros.training.config import TrainConfigError

INPUT_FORMATS = {'raw': InputFormat(), 'imagenet': IMAGENET_INPUT, 'caffe': CAFFE_INPUT}


def tracker_config(config):
    """The tracker's config (config/<tracker>.yaml) that training, tracking and the node share,
    with the training config's `tracker_settings` over it (e.g. an ablation switch)."""
    entry = get_entry(config.tracker)
    try:
        return load_config(entry.config_class, entry.name, entry.config_path,
                           **config.tracker_settings)
    except ValueError as err:
        raise TrainConfigError(f'tracker_settings: {err}') from None


def build_net(config) -> nn.Module:
    """The tracker network of a TrainConfig (ImageNet trunk from `<cache_dir>/weights` when
    `pretrained`, then the `init_weights` file when given), with the trunk frozen when
    asked."""
    entry = get_entry(config.tracker)
    pretrained_dir = Path(config.data.cache_dir) / 'weights' if config.pretrained else None
    try:
        net = entry.build_net(tracker_config(config), config.backbone or None, pretrained_dir)
        if config.init_weights:
            load_into(entry, net, config.init_weights)
    except (ValueError, FileNotFoundError) as err:
        raise TrainConfigError(str(err)) from None
    if config.freeze_trunk:
        trunk = trunk_modules(net)
        if not trunk:
            raise TrainConfigError(f'backbone {config.backbone!r} has no trunk to freeze')
        for module in trunk:
            module.requires_grad_(False)
    for module in named_modules(net, config.freeze_modules):
        module.requires_grad_(False)
    return net


def named_modules(net: nn.Module, names) -> list:
    """The submodules of `net` called `names` (dotted, e.g. `backbone.neck`)."""
    modules = []
    for name in names:
        try:
            modules.append(net.get_submodule(name))
        except AttributeError:
            children = ', '.join(n for n, _ in net.named_children())
            raise TrainConfigError(f'freeze_modules: the network has no module {name!r}; '
                                   f'its top-level modules: {children}') from None
    return modules


def trunk_modules(net: nn.Module) -> list:
    """The network's pretrained trunk modules (`net.trunk_modules()`, none if undefined)."""
    return trunk_of(net)


def frozen_modules(net: nn.Module, names=()) -> list:
    """Trunk modules whose parameters are all frozen, and the `freeze_modules` named (kept in
    eval mode: BN statistics fixed)."""
    trunk = [m for m in trunk_modules(net) if not any(p.requires_grad for p in m.parameters())]
    return trunk + named_modules(net, names)


def pretrained_modules(net: nn.Module) -> list:
    """Every module that starts from pretrained weights, trained or not
    (`net.pretrained_modules()`, else the trunk): `freeze_bn` keeps their BN statistics."""
    pretrained = getattr(net, 'pretrained_modules', None)
    return pretrained() if pretrained else trunk_modules(net)


def thawed_modules(net: nn.Module, config) -> list:
    """The upper trunk stages that `config.unfreeze` trains (none when it never does)."""
    if config.unfreeze.epoch < 0:
        return []
    trunk = trunk_modules(net)
    if config.unfreeze.stages > len(trunk):
        raise TrainConfigError(f'unfreeze.stages {config.unfreeze.stages} > the '
                               f'{len(trunk)} trunk module(s) of {config.backbone!r}')
    thawed = trunk[-config.unfreeze.stages:]
    frozen = {id(p) for m in named_modules(net, config.freeze_modules) for p in m.parameters()}
    if any(id(p) in frozen for m in thawed for p in m.parameters()):
        raise TrainConfigError('unfreeze would thaw a stage inside freeze_modules '
                               f'{list(config.freeze_modules)}: drop one of the two')
    return thawed


def apply_unfreeze(modules: list, epoch: int, config) -> bool:
    """Thaw `modules` from `config.unfreeze.epoch` on (again at every epoch: resume-safe);
    True when this changed which parameters train."""
    thaw = epoch >= config.unfreeze.epoch
    changed = any(p.requires_grad != thaw for m in modules for p in m.parameters())
    for module in modules:
        module.requires_grad_(thaw)
    return changed


def input_format(config) -> InputFormat:
    """The pixel format the trained weights expect (stored with them)."""
    return INPUT_FORMATS[config.input]
