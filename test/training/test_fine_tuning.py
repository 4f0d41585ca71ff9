"""Fine-tuning options: `freeze_bn` keeps the pretrained stages' BN statistics while their
weights train; `tracker_settings` trains a variant of the tracker config (an ablation switch)."""
import pytest
import torch
import torch.nn as nn

from siam_tracker_ros.training.config import TrainConfigError, load_train_config
from siam_tracker_ros.training.trainer import Trainer

from tiny_data import write_media, write_train_config

DYCONV = {'name': 'tiny_dyconv', 'tracker': 'dyconv_fusion', 'backbone': 'mobilenetv2',
          'input': 'imagenet', 'epochs': 1, 'data': {'augment': {'search_size': 255}}}


def bn_statistics(module) -> dict:
    return {k: v.clone() for k, v in module.state_dict().items() if 'running_' in k}


def moved(before: dict, module) -> set:
    now = module.state_dict()
    return {k for k, v in before.items() if not torch.equal(v, now[k])}


@pytest.mark.parametrize('freeze_bn', [True, False])
def test_freeze_bn_keeps_the_trained_stages_statistics(tmp_path, freeze_bn):
    write_media(tmp_path)
    config = load_train_config(write_train_config(tmp_path, freeze_bn=freeze_bn, **DYCONV))
    trainer = Trainer(config, tmp_path / 'run', progress=False)
    stages, projection = trainer.net.embedding.stages[:3], trainer.net.embedding.deep_proj
    stage_bn, projection_bn = bn_statistics(stages), bn_statistics(projection)
    weights = {k: v.clone() for k, v in stages.state_dict().items() if k.endswith('.weight')}
    trainer.out.mkdir(parents=True)
    trainer.train_epoch(0)
    assert any(not torch.equal(v, stages.state_dict()[k]) for k, v in weights.items())
    assert bool(moved(stage_bn, stages)) != freeze_bn
    assert moved(projection_bn, projection), 'the new projections keep learning statistics'


def test_tracker_settings_train_and_validate_a_variant(tmp_path, sot_dir):
    write_media(tmp_path)
    config = load_train_config(write_train_config(
        tmp_path, tracker_settings={'use_cbam': False},
        val={'root': str(sot_dir), 'max_frames': 3}, **DYCONV))
    trainer = Trainer(config, tmp_path / 'run', progress=False)
    assert all(isinstance(a, nn.Identity) for a in trainer.net.embedding.stage_attention)
    trainer.run()
    assert trainer.history[-1]['val_auc'] != 'nan'     # validated in the variant's own tracker


def test_bad_tracker_settings_are_config_errors(tmp_path):
    write_media(tmp_path)
    with pytest.raises(TrainConfigError, match='use_cmab'):
        Trainer(load_train_config(write_train_config(
            tmp_path, tracker_settings={'use_cmab': False}, **DYCONV)), progress=False)
    with pytest.raises(TrainConfigError, match='tracker_settings: expected dict'):
        load_train_config(write_train_config(tmp_path, tracker_settings='use_cbam', **DYCONV))


SIAMRPN = {'name': 'tiny_siamrpn', 'tracker': 'siamrpn', 'backbone': 'mobilenetv2',
           'input': 'imagenet', 'epochs': 1, 'data': {'augment': {'search_size': 255}}}


def test_freeze_modules_keep_the_named_module_while_the_rest_trains(tmp_path):
    write_media(tmp_path)
    config = load_train_config(write_train_config(
        tmp_path, freeze_modules=['backbone'], **SIAMRPN))
    trainer = Trainer(config, tmp_path / 'run', progress=False)
    backbone, head = trainer.net.backbone, trainer.net.rpn
    backbone_start = {k: v.clone() for k, v in backbone.state_dict().items()}
    head_start = {k: v.clone() for k, v in head.state_dict().items()}
    trainer.out.mkdir(parents=True)
    trainer.train_epoch(0)
    assert not moved(backbone_start, backbone), 'weights and BN statistics stay as they were'
    assert any(k.endswith('.weight') for k in moved(head_start, head)), 'the head trains'


@pytest.mark.parametrize('names, message', [
    ('backbone', 'expected a list of module names'),
    ([''], 'expected a list of module names'),
    (['backbone.nek'], "no module 'backbone.nek'.*backbone, rpn")])
def test_bad_freeze_modules_are_config_errors(tmp_path, names, message):
    write_media(tmp_path)
    with pytest.raises(TrainConfigError, match=message):
        Trainer(load_train_config(write_train_config(
            tmp_path, freeze_modules=names, **SIAMRPN)), progress=False)


def test_unfreeze_cannot_thaw_a_frozen_module(tmp_path):
    write_media(tmp_path)
    config = write_train_config(tmp_path, freeze_modules=['backbone'], freeze_trunk=True,
                                unfreeze={'epoch': 1, 'stages': 1, 'lr_scale': 0.1}, **SIAMRPN)
    with pytest.raises(TrainConfigError, match='unfreeze would thaw a stage inside '
                                               r"freeze_modules \['backbone'\]"):
        Trainer(load_train_config(config), progress=False)
