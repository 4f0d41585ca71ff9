"""Optimisers and the per-epoch log-spaced learning-rate schedule (spec §2)."""
import math

import torch


def epoch_lr(epoch: int, epochs: int, lr_start: float, lr_end: float) -> float:
    """Learning rate of 0-based `epoch`: log-spaced from lr_start to lr_end."""
    if epochs <= 1:
        return lr_start
    ratio = epoch / (epochs - 1)
    return math.exp(math.log(lr_start) + ratio * (math.log(lr_end) - math.log(lr_start)))


def build_optimizer(params, config, slow_params=()) -> torch.optim.Optimizer:
    """SGD with momentum (the spec) or AdamW, from a TrainConfig. `slow_params` (frozen now,
    thawed later) form a second group at `config.unfreeze.lr_scale` times the rate."""
    slow = list(slow_params)
    slow_ids = {id(p) for p in slow}
    groups = [{'params': [p for p in params if p.requires_grad and id(p) not in slow_ids],
               'lr_scale': 1.0}]
    if slow:
        groups.append({'params': slow, 'lr_scale': config.unfreeze.lr_scale})
    if config.optimizer == 'adamw':
        return torch.optim.AdamW(groups, lr=config.lr_start, weight_decay=config.weight_decay)
    return torch.optim.SGD(groups, lr=config.lr_start, momentum=config.momentum,
                           weight_decay=config.weight_decay)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Set the schedule's rate; each group runs at its `lr_scale` times it."""
    for group in optimizer.param_groups:
        group['lr'] = lr * group.get('lr_scale', 1.0)
