"""Training under torchrun: two CPU processes (gloo) train the weights one process trains on
the same global batches; rank 0 alone logs and writes; its checkpoint resumes in one process.
Also: batch shares, the RPN losses' global normalisation, and what several processes refuse.
"""
import csv
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from siam_tracker_ros.data.media import SkipCounter
from siam_tracker_ros.ops.rpn_losses import AnchorCounts, anchor_counts, siamrpn_loss
from siam_tracker_ros.registry import get_entry
from siam_tracker_ros.training.config import (DataConfig, TrainConfig, TrainConfigError,
                                              load_train_config)
from siam_tracker_ros.training.data import batch_rngs, build_mixture
from siam_tracker_ros.training.distributed import World, share, world_from_env
from siam_tracker_ros.training.models import INPUT_FORMATS, build_net
from siam_tracker_ros.training.trainer import Trainer, amp_dtype

from tiny_data import write_media, write_otb, write_train_config

REPO = Path(__file__).resolve().parents[2]
SEARCH_SIZES = {'siamfc': 191, 'siamrpn': 255}
OUTPUTS = {'best.pt', 'best_weights.pt', 'config.yaml', 'epochs.csv', 'last.pt',
           'loss_curve.png', 'steps.csv'}


def write_config(root: Path, tracker: str = 'siamfc', epochs: int = 1, **fields) -> Path:
    """Eight synthetic and still pairs a epoch in batches of 4, validated on a tiny OTB clip."""
    if not (root / 'media').is_dir():
        write_media(root)
        write_otb(root)
    fields = {'backbone': 'alexnet', 'pairs_per_epoch': 8, 'batch_size': 4, 'lr_start': 1e-2,
              'data': {'stills': 1.0, 'augment': {'search_size': SEARCH_SIZES[tracker]}},
              'val': {'root': str(root / 'otb')}, **fields}
    return write_train_config(root, f'{tracker}_{epochs}.yaml', name='tiny_ddp',
                              tracker=tracker, epochs=epochs, **fields)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def torchrun(config: Path, out: Path, processes: int = 2) -> subprocess.CompletedProcess:
    """`torchrun --nproc_per_node N -m siam_tracker_ros.cli.train_cmd`, on loopback."""
    env = {**os.environ, 'MASTER_ADDR': '127.0.0.1', 'OMP_NUM_THREADS': '1',
           'PYTHONPATH': os.pathsep.join([str(REPO), os.environ.get('PYTHONPATH', '')])}
    command = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node',
               str(processes), '--master_addr', '127.0.0.1', '--master_port', str(free_port()),
               '-m', 'siam_tracker_ros.cli.train_cmd', '--config', str(config), '--out',
               str(out), '--no-progress']
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)


def steps(run: Path) -> list:
    with (run / 'steps.csv').open(newline='') as handle:
        return [(int(r['epoch']), int(r['step']), float(r['loss']))
                for r in csv.DictReader(handle)]


def model_state(path: Path) -> dict:
    return torch.load(path, map_location='cpu', weights_only=True)['model']


def initial_state(config) -> dict:
    torch.manual_seed(config.seed)
    return build_net(config).state_dict()


def assert_same_training(one: dict, two: dict, start: dict) -> None:
    """Per tensor, |two − one| within 5 % of what training changed (float32 rounding in the
    BatchNorm gradients gives ≈ 1 %; unsynchronised BatchNorm gives 20–60 %), and training
    changed the weights."""
    moved = []
    for key, value in one.items():
        if not value.is_floating_point():
            continue
        update = float((value - start[key]).norm())
        assert float((two[key] - value).norm()) <= 0.05 * update + 1e-6, key
        moved.append(update / (float(start[key].norm()) + 1e-6))
    assert max(moved) > 1e-3


def two_process_run(root: Path, tracker: str, **fields):
    """(config, run folder, torchrun result) of one 2-process epoch."""
    config = write_config(root, tracker, **fields)
    result = torchrun(config, root / 'two')
    assert result.returncode == 0, result.stdout + result.stderr
    return config, root / 'two', result


@pytest.fixture(scope='module')
def siamfc_run(tmp_path_factory):
    return two_process_run(tmp_path_factory.mktemp('ddp_siamfc'), 'siamfc')


@pytest.fixture(scope='module')
def siamrpn_run(tmp_path_factory):
    """With a batch-making worker per process (`data.workers`)."""
    return two_process_run(tmp_path_factory.mktemp('ddp_siamrpn'), 'siamrpn', data={
        'stills': 1.0, 'augment': {'search_size': SEARCH_SIZES['siamrpn']}, 'workers': 1})


@pytest.mark.parametrize('run_fixture', ['siamfc_run', 'siamrpn_run'])
def test_two_processes_train_the_weights_of_one(run_fixture, request, tmp_path):
    """siamfc: balanced logistic loss and synchronised BatchNorm; siamrpn: anchor losses
    divided by the global batch's counts, batches made by a worker in each process."""
    config, run, result = request.getfixturevalue(run_fixture)
    train = load_train_config(config)
    Trainer(train, tmp_path / 'one', progress=False).run()
    assert_same_training(model_state(tmp_path / 'one' / 'last.pt'), model_state(run / 'last.pt'),
                         initial_state(train))
    logged, expected = steps(run), steps(tmp_path / 'one')
    assert [row[:2] for row in logged] == [(0, 0), (0, 1)]   # rank 0 alone wrote the steps
    assert [row[2] for row in logged] == pytest.approx([row[2] for row in expected], rel=1e-4)


THAW = {'backbone': 'mobilenetv2', 'input': 'imagenet', 'freeze_trunk': True,
        'unfreeze': {'epoch': 1, 'stages': 1, 'lr_scale': 0.1},
        'data': {'stills': 1.0, 'augment': {'search_size': 127}}}


def test_two_processes_thaw_the_upper_stage_like_one(tmp_path):
    """`unfreeze` under DDP: the stage that thaws at epoch 1 joins the synchronised
    parameters (the network is wrapped again) and trains as in one process."""
    config = write_config(tmp_path, epochs=2, **THAW)
    result = torchrun(config, tmp_path / 'two')
    assert result.returncode == 0, result.stdout + result.stderr
    train = load_train_config(config)
    Trainer(train, tmp_path / 'one', progress=False).run()
    start = initial_state(train)
    one, two = model_state(tmp_path / 'one' / 'last.pt'), model_state(tmp_path / 'two' / 'last.pt')
    high = {k: v for k, v in start.items() if '.high.' in k and k.endswith('weight')}
    assert high and any(not torch.equal(one[k], v) for k, v in high.items())
    assert_same_training(one, two, start)


def test_rank_0_alone_logs_and_writes(siamfc_run):
    config, run, result = siamfc_run
    assert {path.name for path in run.iterdir()} == OUTPUTS
    assert result.stdout.count('epoch 1:') == 1 and result.stdout.count('done:') == 1
    with (run / 'epochs.csv').open(newline='') as handle:
        epochs = list(csv.DictReader(handle))
    assert len(epochs) == 1 and 0.0 <= float(epochs[0]['val_auc']) <= 1.0   # rank 0 validated


def test_a_two_process_checkpoint_resumes_in_one_process(siamfc_run, tmp_path):
    config, run, result = siamfc_run
    longer = load_train_config(write_config(config.parent, 'siamfc', epochs=2))
    shutil.copytree(run, tmp_path / 'resumed')
    resumed = Trainer(longer, tmp_path / 'resumed', progress=False)
    resumed.run(resume=True)
    assert resumed.start_epoch == 1
    Trainer(longer, tmp_path / 'single', progress=False).run()
    assert_same_training(model_state(tmp_path / 'single' / 'last.pt'),
                         model_state(tmp_path / 'resumed' / 'last.pt'), initial_state(longer))
    assert [row[:2] for row in steps(tmp_path / 'resumed')] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert len((tmp_path / 'resumed' / 'epochs.csv').read_text().splitlines()) == 3


@pytest.fixture(scope='module')
def tiny_mixture(tmp_path_factory):
    root = tmp_path_factory.mktemp('mixture')
    write_media(root)
    return build_mixture(DataConfig(cache_dir=str(root), synthetic=1.0, stills=1.0),
                         SkipCounter())


def concatenated(parts: list):
    """Batch tuples of the shares joined along the sample axis (seeds and sizes as they
    are)."""
    joined = []
    for items in zip(*parts):
        if isinstance(items[0], torch.Tensor):
            joined.append(torch.cat(items))
        else:
            joined.append(np.concatenate(items))
    return joined


@pytest.mark.parametrize('tracker', ['siamfc', 'siamrpn', 'dastsiam', 'siam_gam'])
def test_shares_of_a_global_batch_are_its_samples(tiny_mixture, tracker):
    objective = get_entry(tracker).objective
    key, device = (3, 1, 7), torch.device('cpu')

    def batch(indices):
        return objective.make_batch(tiny_mixture, batch_rngs(key, indices),
                                    INPUT_FORMATS['raw'], device)

    whole = batch(range(4))
    halves = [batch(share(4, World(rank, rank, 2))) for rank in range(2)]
    for full, joined in zip(whole, concatenated(halves)):
        if isinstance(full, torch.Tensor):
            assert torch.equal(full, joined)
        else:
            np.testing.assert_array_equal(full, joined)
    other = batch(range(4, 8))
    assert not torch.equal(whole[1], other[1])   # other indices: other samples


def test_siamrpn_negative_pairs_are_the_same_in_any_share(tiny_mixture):
    """A negative pair's other template comes from its own sample stream (§6, p = 0.05)."""
    objective, device = get_entry('siamrpn').objective, torch.device('cpu')
    for step in range(60):
        whole = objective.make_batch(tiny_mixture, batch_rngs((0, 0, step), range(4)),
                                     INPUT_FORMATS['raw'], device)
        if whole[3].any():
            break
    assert whole[3].any(), 'no negative pair in 60 batches of 4'
    index = int(np.flatnonzero(whole[3])[0])
    alone = objective.make_batch(tiny_mixture, batch_rngs((0, 0, step), [index]),
                                 INPUT_FORMATS['raw'], device)
    assert alone[3][0] and torch.equal(alone[0][0], whole[0][index])
    assert alone[4][0] == whole[4][index]


def test_shares_split_the_batch_in_rank_order():
    assert [list(share(8, World(rank, rank, 4))) for rank in range(4)] == \
        [[0, 1], [2, 3], [4, 5], [6, 7]]
    assert list(share(8, World())) == list(range(8))


def test_rpn_shares_divided_by_the_global_counts_average_to_the_batch_loss():
    """What DDP averages (one share each) equals one process's loss, value and gradient."""
    gen = torch.Generator().manual_seed(0)
    cls = torch.randn(4, 10, 5, 5, generator=gen, requires_grad=True)
    reg = torch.randn(4, 20, 5, 5, generator=gen, requires_grad=True)
    labels = torch.randint(-1, 2, (4, 5, 5, 5), generator=gen)
    labels[2:] = torch.where(labels[2:] == 1, 0, labels[2:])   # positives in one share only
    deltas = torch.randn(4, 4, 5, 5, 5, generator=gen)
    positive = labels == 1
    whole = siamrpn_loss(cls, reg, labels, deltas, positive)
    divisors = AnchorCounts(*(max(count, 1) / 2 for count in anchor_counts(labels, positive)))
    shares = [siamrpn_loss(cls[part], reg[part], labels[part], deltas[part], positive[part],
                           divisors=divisors) for part in (slice(0, 2), slice(2, 4))]
    averaged = (shares[0] + shares[1]) / 2
    torch.testing.assert_close(averaged, whole)
    grad_whole = torch.autograd.grad(whole, (cls, reg))
    grad_shares = torch.autograd.grad(averaged, (cls, reg))
    for a, b in zip(grad_whole, grad_shares):
        torch.testing.assert_close(a, b)
    with torch.no_grad():
        own = [siamrpn_loss(cls[part], reg[part], labels[part], deltas[part], positive[part])
               for part in (slice(0, 2), slice(2, 4))]
    assert abs(((own[0] + own[1]) / 2 - whole).item()) > 1e-3   # each share's own mean is not


def test_batch_size_must_divide_among_the_processes(tmp_path):
    config = load_train_config(write_config(tmp_path))
    with pytest.raises(TrainConfigError, match='batch_size 4 is not divisible by the 3'):
        Trainer(config, tmp_path / 'run', world=World(rank=1, local_rank=1, size=3))
    assert not (tmp_path / 'run').exists()


def test_dsiam_clips_are_refused_under_several_processes(tmp_path):
    config = TrainConfig(name='clips', tracker='dsiam', batch_size=4, device='cpu')
    with pytest.raises(TrainConfigError, match='single process'):
        Trainer(config, tmp_path / 'run', world=World(rank=0, local_rank=0, size=2))


def test_world_comes_from_the_torchrun_environment():
    assert world_from_env({}) == World(0, 0, 1) and not World().distributed
    world = world_from_env({'RANK': '3', 'LOCAL_RANK': '1', 'WORLD_SIZE': '4'})
    assert world == World(3, 1, 4) and world.distributed and not world.is_main
    for bad in ({'RANK': '4', 'WORLD_SIZE': '4'}, {'WORLD_SIZE': 'two'}):
        with pytest.raises(TrainConfigError, match='torchrun environment'):
            world_from_env(bad)


@pytest.mark.parametrize('value, mode', [('bf16', 'bf16'), ('fp16', 'fp16'), ('none', 'none'),
                                         ('true', 'fp16'), ('false', 'none')])
def test_amp_modes_and_the_older_booleans(tmp_path, value, mode):
    path = write_config(tmp_path, amp=yaml.safe_load(value))
    config = load_train_config(path)
    assert config.amp == mode
    assert amp_dtype(config.amp, torch.device('cpu')) is None   # the CPU ignores amp
    expected = {'bf16': torch.bfloat16, 'fp16': torch.float16, 'none': None}[mode]
    assert amp_dtype(config.amp, torch.device('cuda')) is expected


def test_unknown_amp_mode_is_an_error(tmp_path):
    path = write_config(tmp_path, amp='fp8')
    with pytest.raises(TrainConfigError, match="amp must be one of bf16, fp16, none"):
        load_train_config(path)
