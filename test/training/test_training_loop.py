"""The trainer on tiny generated media: loss goes down, checkpoints, resume, config errors."""
import argparse

import pytest
import torch

from siam_tracker_ros import build_tracker
from siam_tracker_ros.cli import train_cmd
from siam_tracker_ros.models.siamfc_net import SiamFCNet
from siam_tracker_ros.models.weights import load_weights
from siam_tracker_ros.training.checkpoint import load_checkpoint, save_checkpoint
from siam_tracker_ros.training.config import TrainConfigError, load_train_config
from siam_tracker_ros.training.models import build_net
from siam_tracker_ros.training.schedule import epoch_lr
from siam_tracker_ros.training.trainer import Trainer

from tiny_data import write_media, write_train_config

def write_config(tmp_path, epochs=2, optimizer='sgd', lr=1e-2, **fields) -> str:
    """A tiny siamfc/AlexNet run on the written media (synthetic and still pairs)."""
    if not (tmp_path / 'media').is_dir():
        write_media(tmp_path)
    fields = {'backbone': 'alexnet', 'pairs_per_epoch': 4, 'lr_end': 1e-4,
              'data': {'stills': 1.0, 'augment': {'search_size': 191}}, **fields}
    return str(write_train_config(tmp_path, f'tiny_{epochs}_{optimizer}.yaml', epochs=epochs,
                                  optimizer=optimizer, lr_start=lr, **fields))


def test_short_run_lowers_loss_on_fixed_batch(tmp_path):
    trainer = Trainer(load_train_config(write_config(tmp_path, optimizer='adamw', lr=1e-3)),
                      progress=False)
    batch = trainer.make_batch(epoch=0, step=0)
    trainer.train_mode()
    losses = [trainer.step(batch) for _ in range(8)]
    assert losses[-1] < 0.7 * losses[0], losses


def test_checkpoint_round_trip_is_exact(tmp_path):
    config = load_train_config(write_config(tmp_path))
    net = build_net(config)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    path = save_checkpoint(tmp_path / 'c.pt', net, optimizer, 3, 0.5, [{'epoch': 1}])
    other = build_net(config)
    state = load_checkpoint(path, other, torch.optim.SGD(other.parameters(), lr=0.1))
    assert state['epoch'] == 3 and state['best_auc'] == 0.5
    z, x = torch.rand(1, 3, 127, 127) * 255, torch.rand(1, 3, 191, 191) * 255
    net.eval(), other.eval()
    with torch.no_grad():
        assert torch.equal(net(z, x), other(z, x))


def test_resume_continues_the_schedule(tmp_path):
    config = load_train_config(write_config(tmp_path, epochs=2))
    full = Trainer(config, tmp_path / 'full', progress=False)
    full.run()
    first = Trainer(config, tmp_path / 'split', progress=False)
    first.out.mkdir(parents=True)
    first.finish_epoch(0, first.train_epoch(0), float('nan'), 0.0)
    resumed = Trainer(config, tmp_path / 'split', progress=False)
    resumed.run(resume=True)
    assert resumed.start_epoch == 1
    assert resumed.optimizer.param_groups[0]['lr'] == pytest.approx(epoch_lr(1, 2, 1e-2, 1e-4))
    for key, value in full.net.state_dict().items():
        assert torch.equal(value, resumed.net.state_dict()[key]), key
    epochs = (tmp_path / 'split' / 'epochs.csv').read_text().splitlines()
    assert len(epochs) == 3 and (tmp_path / 'split' / 'loss_curve.png').is_file()
    assert not list((tmp_path / 'split').glob('epoch_*')), 'keep_epochs is off by default'
    payload = load_weights(tmp_path / 'split' / 'best_weights.pt')
    assert payload['backbone'] == 'alexnet'
    assert all(v.dtype == torch.float16 for v in payload['state_dict'].values()
               if v.is_floating_point())
    tracker = build_tracker('siamfc', weights=tmp_path / 'split' / 'best_weights.pt')
    assert isinstance(tracker.net, SiamFCNet)   # the exported weights fit the tracker


def test_keep_epochs_exports_every_epochs_weights(tmp_path):
    trainer = Trainer(load_train_config(write_config(tmp_path, keep_epochs=True)),
                      tmp_path / 'kept', progress=False)
    trainer.run()
    kept = [load_weights(tmp_path / 'kept' / f'epoch_{n}_weights.pt') for n in (1, 2)]
    assert [k['meta']['epoch'] for k in kept] == [1, 2]
    last = {k: v.half() if v.is_floating_point() else v
            for k, v in trainer.net.state_dict().items()}
    assert all(torch.equal(kept[1]['state_dict'][k], v) for k, v in last.items())
    assert any(not torch.equal(kept[0]['state_dict'][k], v) for k, v in last.items())
    build_tracker('siamfc', weights=tmp_path / 'kept' / 'epoch_1_weights.pt')


def test_unknown_key_fails_before_training(tmp_path, capsys):
    path = write_config(tmp_path, learning_rate=0.1)
    with pytest.raises(TrainConfigError, match='learning_rate'):
        load_train_config(path)
    parser = argparse.ArgumentParser()
    train_cmd.add_parser(parser.add_subparsers())
    args = parser.parse_args(['train', '--config', path, '--no-progress'])
    assert args.func(args) == 2
    assert 'learning_rate' in capsys.readouterr().err
    assert not (tmp_path / 'runs').exists()


def test_missing_paths_name_themselves(tmp_path):
    path = write_train_config(tmp_path, 'missing.yaml', data={
        'stills': 1.0, 'datasets': [{'layout': 'got10k', 'root': '/no/such/got10k'}]})
    with pytest.raises(TrainConfigError, match=str(tmp_path / 'media')):
        Trainer(load_train_config(path), progress=False)
    write_media(tmp_path)
    with pytest.raises(TrainConfigError, match='/no/such/got10k'):
        Trainer(load_train_config(path), progress=False)


def test_shipped_train_configs_parse(repo_root):
    paths = sorted((repo_root / 'config' / 'train').glob('*.yaml'))
    assert paths
    for path in paths:
        config = load_train_config(path)
        assert config.name == path.stem
