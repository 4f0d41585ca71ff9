"""An epoch's training batches, made in the training process or ahead by worker processes.

Every batch comes from the per-sample streams of (seed, epoch, step) (`data.batch_rngs`), so a
worker makes exactly the batch the training process would: `data.workers` changes how fast
batches come, never which. Workers build them on the CPU (torch's DataLoader, one thread
each); the training process moves their tensors to its device.
"""
import torch
from torch.utils.data import DataLoader, Dataset

from siam_tracker_ros.training.data import batch_rngs

BATCHES_AHEAD = 2    # per worker (float batches pass through shared memory: /dev/shm)


class EpochBatches(Dataset):
    """Batch `step` of one epoch, made on the CPU, with the inputs it skipped doing so."""

    def __init__(self, objective, mixture, skipped, key: tuple, share, input_format,
                 steps: int):
        self.objective, self.mixture, self.skipped = objective, mixture, skipped
        self.key, self.share, self.input_format, self.steps = key, share, input_format, steps

    def __len__(self) -> int:
        return self.steps

    def __getitem__(self, step: int):
        before = self.skipped.count
        rngs = batch_rngs((*self.key, step), self.share)
        batch = self.objective.make_batch(self.mixture, rngs, self.input_format, 'cpu')
        return batch, self.skipped.count - before


def worker_batches(batches: EpochBatches, workers: int, device: torch.device):
    """Yield the epoch's batches in step order, made by `workers` processes ahead of use,
    their tensors on `device`; inputs the workers skipped are added to `batches.skipped`."""
    loader = DataLoader(batches, batch_size=None, shuffle=False, num_workers=workers,
                        collate_fn=unchanged, prefetch_factor=BATCHES_AHEAD,
                        pin_memory=device.type == 'cuda')
    for batch, skipped in loader:
        batches.skipped.count += skipped
        yield on_device(batch, device)


def unchanged(sample):
    """The batch as the worker made it (the DataLoader's default would turn arrays into
    tensors)."""
    return sample


def on_device(batch, device: torch.device):
    """`batch` with every tensor in it (at any depth of tuples and lists) on `device`."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, (tuple, list)):
        parts = [on_device(part, device) for part in batch]
        return type(batch)(*parts) if hasattr(batch, '_fields') else type(batch)(parts)
    return batch
