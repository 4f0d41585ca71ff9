"""Training with several processes (`torchrun`): the process group, each process's share of
the global batch, the DistributedDataParallel network and the values all processes agree on.

A plain run is a world of one process: no process group is created and every helper is the
identity, so one process trains exactly as without them.
"""
import datetime
import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel

from siam_tracker_ros.training.config import TrainConfigError
from siam_tracker_ros.training.sync_batchnorm import convert_batch_norm, sync_class_for

COLLECTIVE_TIMEOUT = datetime.timedelta(hours=1)   # rank 0 validates while the others wait


@dataclass(frozen=True)
class World:
    """This process's place among the training processes."""

    rank: int = 0
    local_rank: int = 0
    size: int = 1

    @property
    def distributed(self) -> bool:
        return self.size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that logs, validates and writes checkpoints."""
        return self.rank == 0


def world_from_env(environ=None) -> World:
    """RANK, LOCAL_RANK and WORLD_SIZE as torchrun sets them; unset: a world of one."""
    environ = os.environ if environ is None else environ
    try:
        world = World(int(environ.get('RANK', 0)), int(environ.get('LOCAL_RANK', 0)),
                      int(environ.get('WORLD_SIZE', 1)))
    except ValueError as err:
        raise TrainConfigError(f'bad torchrun environment: {err}') from None
    if world.size < 1 or not 0 <= world.rank < world.size:
        raise TrainConfigError(f'bad torchrun environment: RANK {world.rank} of WORLD_SIZE '
                               f'{world.size}')
    return world


def check_world(config, objective, world: World) -> None:
    """Refuse, before any process waits for another, what several processes cannot train."""
    if not world.distributed:
        return
    if not objective.per_sample:
        raise TrainConfigError(f'tracker {config.tracker!r} trains on one sequence per step '
                               f'(batch_size is its clip length), which {world.size} '
                               'processes cannot share: train it in a single process')
    if config.batch_size % world.size:
        raise TrainConfigError(f'batch_size {config.batch_size} is not divisible by the '
                               f'{world.size} processes (WORLD_SIZE): each builds an equal '
                               'share of the global batch')


def share(batch_size: int, world: World) -> range:
    """This process's contiguous slice of the global batch's sample indices."""
    size = batch_size // world.size
    return range(world.rank * size, (world.rank + 1) * size)


def process_device(device: torch.device, world: World) -> torch.device:
    """cuda:LOCAL_RANK for each process of a distributed CUDA run, else `device`."""
    if world.distributed and device.type == 'cuda':
        device = torch.device('cuda', world.local_rank)
        torch.cuda.set_device(device)
    return device


def start(world: World, device: torch.device) -> None:
    """Join the process group from torchrun's MASTER_ADDR/MASTER_PORT: nccl on CUDA, gloo on
    the CPU."""
    if world.distributed and not dist.is_initialized():
        dist.init_process_group('nccl' if device.type == 'cuda' else 'gloo',
                                rank=world.rank, world_size=world.size,
                                timeout=COLLECTIVE_TIMEOUT)


def stop() -> None:
    """Leave the process group, if any."""
    if dist.is_initialized():
        dist.destroy_process_group()


class DistributedNet(DistributedDataParallel):
    """DDP that also answers the wrapped network's attributes (losses read `net.stride`).

    A loss must call the network (its forward) for DDP to average the gradients.
    """

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name == 'module':
                raise
            return getattr(self.module, name)


def wrap(net: nn.Module, world: World, device: torch.device) -> nn.Module:
    """The network the losses call: `net` itself in one process; with several, `net` with
    synchronised BatchNorm (the global batch's statistics) inside DDP."""
    if not world.distributed:
        return net
    convert_batch_norm(net, sync_class_for(device))
    return DistributedNet(net, device_ids=[device.index] if device.type == 'cuda' else None)


def several_processes() -> bool:
    """Whether this process is in a process group of more than one."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def mean_over_processes(value: float, device: torch.device) -> float:
    """The processes' mean of a float (the global batch's loss from the shares' losses)."""
    if not several_processes():
        return value
    total = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(total)
    return float(total) / dist.get_world_size()


def from_main(value: float, device: torch.device) -> float:
    """Rank 0's float in every process (e.g. its validation score)."""
    if not several_processes():
        return value
    shared = torch.tensor([value], dtype=torch.float64, device=device)
    dist.broadcast(shared, src=0)
    return float(shared)


def mean_divisors(counts, device: torch.device) -> tuple:
    """Divisors for a share's sums whose mean is over counts that vary per sample (labelled
    anchors): the global batch's counts (at least 1) over the number of processes, so that
    DDP's average of the shares' gradients is the global mean's gradient."""
    totals = torch.tensor(list(counts), dtype=torch.float64, device=device)
    dist.all_reduce(totals)
    return tuple(max(float(total), 1.0) / dist.get_world_size() for total in totals)


def barrier(world: World) -> None:
    """Wait for every process (rank 0 writing checkpoints)."""
    if world.distributed:
        dist.barrier()


def seed_process(seed: int, epoch: int, world: World) -> None:
    """Give ranks above 0 their own torch stream per epoch (dropout masks); rank 0 keeps the
    single-process stream. The data comes from the per-sample numpy streams instead."""
    if world.rank > 0:
        torch.manual_seed(int(np.random.SeedSequence([seed, epoch, world.rank])
                              .generate_state(1)[0]))
