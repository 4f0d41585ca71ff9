"""Per-tracker training losses as plain functions."""
import numpy as np
import torch

from siam_tracker_ros.ops.labels import balanced_logistic_loss, logistic_labels


def label_maps(targets, response_size: int, input_size: int, stride: int = 8,
               radius: float = 16.0) -> torch.Tensor:
    """B×1×r×r ±1 labels for targets (cx, cy, w, h) in search-crop pixels; the centre decides
    (spec §1.6)."""
    maps = [logistic_labels(response_size, t, input_size, stride, radius) for t in targets]
    return torch.from_numpy(np.stack(maps)[:, None])


def siamfc_loss(net, z: torch.Tensor, x: torch.Tensor, targets, balanced: bool = True,
                radius: float = 16.0) -> torch.Tensor:
    """Balanced logistic loss of a SiamFC-family net on a batch of pairs."""
    logits = net(z, x)
    labels = label_maps(targets, logits.size(-1), x.size(-1), net.stride, radius)
    return balanced_logistic_loss(logits.float(), labels.to(logits.device), balanced)


LOSSES = {'siamfc': siamfc_loss}
