"""`data.workers`: batches made ahead by worker processes are the trainer's own batches."""
import dataclasses

import numpy as np
import pytest
import torch

from siam_tracker_ros.training.config import TrainConfigError, load_train_config
from siam_tracker_ros.training.trainer import Trainer

from tiny_data import write_media, write_otb, write_train_config

RUNS = {'siamfc': {'backbone': 'alexnet', 'data': {'stills': 1.0, 'augment': {'search_size': 191}}},
        'siamrpn': {'backbone': 'alexnet', 'data': {'augment': {'search_size': 255}}},
        'siam_gam': {'backbone': 'alexnet', 'data': {'augment': {'search_size': 255}}},
        'dsiam': {'backbone': 'alexnet', 'batch_size': 3,
                  'tracker_settings': {'layers': ['conv4', 'conv5']}}}


def trainer(tmp_path, tracker, workers, **fields):
    config = write_train_config(tmp_path, f'{tracker}_{workers}.yaml', tracker=tracker,
                                pairs_per_epoch=6, **{**RUNS[tracker], **fields})
    config = load_train_config(config)
    assert config.data.workers == 0
    data = dataclasses.replace(config.data, workers=workers)
    return Trainer(dataclasses.replace(config, data=data, out_dir=str(tmp_path / f'runs{workers}')),
                   progress=False)


def same(a, b) -> bool:
    """Equal batches: same structure, types and values."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    return a == b


@pytest.mark.parametrize('tracker', sorted(RUNS))
def test_worker_batches_are_the_trainers_own(tmp_path, tracker):
    write_media(tmp_path)
    own = trainer(tmp_path, tracker, 0)
    ahead = trainer(tmp_path, tracker, 2)
    steps = 3
    made_here = list(own.batches(epoch=1, steps=steps))
    made_ahead = list(ahead.batches(epoch=1, steps=steps))
    assert len(made_ahead) == steps
    assert all(same(a, b) for a, b in zip(made_here, made_ahead))
    assert not same(made_here[0], made_here[1]), 'steps differ'


def test_a_run_with_workers_trains_the_same_weights(tmp_path):
    write_media(tmp_path)
    nets = []
    for workers in (0, 2):
        run = trainer(tmp_path, 'siamfc', workers, epochs=2)
        run.run()
        nets.append(run.net.state_dict())
        assert (run.out / 'best_weights.pt').is_file()
    assert all(torch.equal(nets[0][k], nets[1][k]) for k in nets[0])


def test_inputs_the_workers_skip_are_counted_as_the_trainers_own(tmp_path):
    write_media(tmp_path)
    otb = write_otb(tmp_path, count=6)
    for frame in sorted((otb / 'Walker' / 'img').iterdir())[::2]:
        frame.write_bytes(b'not an image')              # half the frames are unreadable
    counts = []
    for workers in (0, 2):
        run = trainer(tmp_path, 'siamfc', workers, data={
            'stills': 0.0, 'synthetic': 0.0, 'datasets': [{'layout': 'otb', 'root': str(otb)}]})
        at_start = run.skipped.count
        list(run.batches(epoch=0, steps=3))
        counts.append(run.skipped.count - at_start)
    assert counts[0] > 0 and counts[1] == counts[0]


def test_negative_workers_are_a_config_error(tmp_path):
    write_media(tmp_path)
    with pytest.raises(TrainConfigError, match='data.workers must be >= 0'):
        load_train_config(write_train_config(tmp_path, data={'workers': -1}))
