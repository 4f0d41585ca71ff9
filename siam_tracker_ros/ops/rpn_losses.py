"""RPN-family losses (spec §6 Training, §7 Loss) on B×2k×r×r and B×4k×r×r head maps.

Maps use the channel layout of `ops.anchors` (cls·k + a, d·k + a); labels are B×k×r×r
(1 positive, 0 negative, −1 ignored), deltas B×4×k×r×r and positive masks B×k×r×r, as
stacked from `ops.rpn_labels`. Means are taken over the whole batch (pysot pools the
labelled anchors of all pairs). A batch split over several training processes passes
`AnchorCounts` divisors: the whole batch's counts over the number of processes, so that the
processes' average gradient is the whole batch's (`training/distributed.py`).
"""
from typing import NamedTuple, Optional

import torch
import torch.nn.functional as F

from siam_tracker_ros.ops.anchors import split_channels

SMOOTH_L1_BETA = 1 / 9
SIAMRPN_REG_WEIGHT = 1.2


class AnchorCounts(NamedTuple):
    """What the loss sums are divided by: positive and negative classification anchors and
    regression positives."""

    positive: float
    negative: float
    regression: float


def anchor_counts(labels: torch.Tensor, positive: torch.Tensor) -> AnchorCounts:
    """The batch's own `AnchorCounts` (labels B×k×r×r, positive masks B×k×r×r)."""
    return AnchorCounts(int((labels == 1).sum()), int((labels == 0).sum()),
                        int(positive.bool().sum()))


def mean_or_zero(values: torch.Tensor, divisor: Optional[float] = None) -> torch.Tensor:
    """Mean of a 1-D tensor, 0 (still in the graph) when it is empty; `divisor` replaces
    its count."""
    return values.sum() / (max(values.numel(), 1) if divisor is None else divisor)


def rpn_cls_loss(cls_maps: torch.Tensor, labels: torch.Tensor,
                 divisors: Optional[AnchorCounts] = None) -> torch.Tensor:
    """L_cls = 0.5·CE(positives) + 0.5·CE(negatives), each a mean over its labelled anchors.

    A term with no anchors is 0; ignored anchors (−1) never count.
    """
    log_p = F.log_softmax(split_channels(cls_maps, 2).float(), dim=1)
    flat = labels.reshape(labels.size(0), -1)
    positives = -log_p[:, 1][flat == 1]
    negatives = -log_p[:, 0][flat == 0]
    pos_divisor, neg_divisor = (None, None) if divisors is None else divisors[:2]
    return 0.5 * mean_or_zero(positives, pos_divisor) + \
        0.5 * mean_or_zero(negatives, neg_divisor)


def rpn_reg_loss(reg_maps: torch.Tensor, deltas: torch.Tensor, positive: torch.Tensor,
                 divisors: Optional[AnchorCounts] = None) -> torch.Tensor:
    """Smooth-L1 (β = 1/9) summed over the 4 deltas, averaged over positives (0 when none)."""
    pred = split_channels(reg_maps, 4).float()
    per_anchor = F.smooth_l1_loss(pred, deltas.reshape(pred.shape).to(pred.dtype),
                                  reduction='none', beta=SMOOTH_L1_BETA).sum(1)
    return mean_or_zero(per_anchor[positive.reshape(per_anchor.shape).bool()],
                        None if divisors is None else divisors.regression)


def siamrpn_loss(cls_maps, reg_maps, labels, deltas, positive,
                 reg_weight: float = SIAMRPN_REG_WEIGHT,
                 divisors: Optional[AnchorCounts] = None) -> torch.Tensor:
    """L = L_cls + 1.2·L_reg (§6)."""
    return rpn_cls_loss(cls_maps, labels, divisors) + \
        reg_weight * rpn_reg_loss(reg_maps, deltas, positive, divisors)


def centerness_loss(cls2_maps: torch.Tensor, centerness: torch.Tensor) -> torch.Tensor:
    """L_cls2: BCE-with-logits against the centre-ness target, averaged over all cells."""
    logits = cls2_maps.float()
    return F.binary_cross_entropy_with_logits(logits, centerness.reshape(logits.shape).float())


def dastsiam_loss(cls1_maps, cls2_maps, reg_maps, labels, centerness, deltas, positive,
                  cls1_weight: float = 1.0, cls_weight: float = 1.0,
                  divisors: Optional[AnchorCounts] = None) -> torch.Tensor:
    """L = λ₁·(λ·L_cls1 + L_cls2) + L_reg with λ = `cls1_weight`, λ₁ = `cls_weight` (§7).

    L_cls1 is `rpn_cls_loss` over all cells (DASTSiam labels have no ignore band); L_cls2 is
    a mean over every cell of every map, the same count per sample, so it needs no divisor.
    """
    cls = cls1_weight * rpn_cls_loss(cls1_maps, labels, divisors) + \
        centerness_loss(cls2_maps, centerness)
    return cls_weight * cls + rpn_reg_loss(reg_maps, deltas, positive, divisors)
