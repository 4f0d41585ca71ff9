"""`unfreeze`: the upper trunk stages train at a low rate from a given epoch on, BN fixed."""
import pytest
import torch

from siam_tracker_ros.training.config import TrainConfigError, load_train_config
from siam_tracker_ros.training.models import build_net, trunk_modules
from siam_tracker_ros.training.trainer import Trainer

from test_training_loop import write_config

MOBILENET = {'backbone': 'mobilenetv2', 'input': 'imagenet', 'freeze_trunk': True,
             'unfreeze': {'epoch': 1, 'stages': 1, 'lr_scale': 0.1}}


def snapshot(module) -> dict:
    return {k: v.clone() for k, v in module.state_dict().items()}


def changed(before: dict, module) -> set:
    return {k for k, v in module.state_dict().items() if not torch.equal(before[k], v)}


def test_upper_stage_trains_only_after_its_epoch_at_its_rate(tmp_path):
    config = load_train_config(write_config(tmp_path, epochs=2, **MOBILENET))
    trainer = Trainer(config, tmp_path / 'run', progress=False)
    low, high = trunk_modules(trainer.net)
    start_low, start_high = snapshot(low), snapshot(high)
    trainer.out.mkdir(parents=True)
    trainer.train_epoch(0)
    assert not changed(start_low, low) and not changed(start_high, high)
    after_first = snapshot(high)
    trainer.train_epoch(1)
    moved = changed(after_first, high)
    assert any(k.endswith('weight') for k in moved), 'the thawed stage did not train'
    assert not any('running_' in k for k in moved), 'BN statistics must stay fixed'
    assert not changed(start_low, low)
    neck, slow = trainer.optimizer.param_groups
    assert slow['lr'] == pytest.approx(0.1 * neck['lr'])
    assert {id(p) for p in slow['params']} == {id(p) for p in high.parameters()}


def test_resume_thaws_again(tmp_path):
    config = load_train_config(write_config(tmp_path, epochs=2, **MOBILENET))
    first = Trainer(config, tmp_path / 'run', progress=False)
    first.out.mkdir(parents=True)
    first.finish_epoch(0, first.train_epoch(0), float('nan'), 0.0)
    resumed = Trainer(config, tmp_path / 'run', progress=False)
    resumed.run(resume=True)
    assert all(p.requires_grad for p in trunk_modules(resumed.net)[-1].parameters())
    assert not any(p.requires_grad for p in trunk_modules(resumed.net)[0].parameters())


def test_unfreeze_needs_a_frozen_trunk_and_enough_stages(tmp_path):
    with pytest.raises(TrainConfigError, match='freeze_trunk'):
        load_train_config(write_config(
            tmp_path, **{**MOBILENET, 'freeze_trunk': False}))
    config = load_train_config(write_config(
        tmp_path, **{**MOBILENET, 'unfreeze': {'epoch': 1, 'stages': 3, 'lr_scale': 0.1}}))
    with pytest.raises(TrainConfigError, match='stages 3'):
        Trainer(config, tmp_path / 'run', progress=False)
    assert len(trunk_modules(build_net(config))) == 2
