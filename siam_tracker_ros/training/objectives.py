"""Training objectives: how a tracker's training batch is built, and its loss.

Each registry entry names one (`registry.TrackerEntry.objective`); the trainer only calls
`make_batch` and `loss`, so a new tracker brings its own without touching the trainer.
"""
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import torch

from siam_tracker_ros.ops.labels import balanced_logistic_loss, logistic_labels
from siam_tracker_ros.training.data import draw_batch


@dataclass(frozen=True)
class Objective:
    """make_batch(mixture, rngs: data.BatchRngs, input_format, device) -> batch (a tuple):
    one sample per stream of `rngs.samples`, batch-wide choices from `rngs.shared`;
    loss(net, batch, train_config) -> scalar tensor, the mean over the batch's samples (so
    that DistributedDataParallel's average over equal shares is the global batch's mean);
    start_epoch(net, epoch, train_config), optional: called before each epoch (e.g. a
    temperature schedule);
    per_sample: False when a batch is one indivisible sequence (dsiam's BPTT clip), which
    several training processes cannot share."""

    make_batch: Callable
    loss: Callable
    start_epoch: Optional[Callable] = None
    per_sample: bool = True


def label_maps(centers, response_size: int, input_size: int, stride: int = 8,
               radius: float = 16.0) -> torch.Tensor:
    """B×1×r×r ±1 labels for target centres (tx, ty) in search-crop pixels (spec §1.6)."""
    maps = [logistic_labels(response_size, c, input_size, stride, radius) for c in centers]
    return torch.from_numpy(np.stack(maps)[:, None])


def logistic_pair_loss(net, batch, train) -> torch.Tensor:
    """Balanced logistic loss of a B×1×r×r response network on (z, x, targets) pairs;
    targets' first two columns are the centres in x pixels (spec §1.6)."""
    z, x, targets = batch
    logits = net(z, x)
    labels = label_maps(np.asarray(targets)[:, :2], logits.size(-1), x.size(-1), net.stride,
                        train.label_radius)
    return balanced_logistic_loss(logits.float(), labels.to(logits.device), train.balanced_loss)


LOGISTIC_PAIRS = Objective(make_batch=draw_batch, loss=logistic_pair_loss)
