"""Training objectives of the RPN family: anchor-target batches for siamrpn (spec §6 Training)
and template-triplet batches with centre-distance labels for dastsiam (§7 Training).

Labels need the head's map size, so they are made in the loss from the network's output;
a batch carries one seed per sample for the random label subsampling, so a batch gives the
same loss every time it is evaluated, and a sample the same labels whichever share of a
distributed batch it is in. The anchor losses are means over the labelled anchors of the
whole batch; a distributed share divides by the global batch's counts
(`distributed.mean_divisors`), so the processes' gradients average to the global batch's.
"""
import numpy as np
import torch

from siam_tracker_ros.ops.anchors import anchor_grid, anchor_sizes
from siam_tracker_ros.ops.rpn_labels import (centerness_targets, dastsiam_targets, iou_targets,
                                             negative_pair_targets, siamrpn_targets)
from siam_tracker_ros.ops.rpn_losses import (AnchorCounts, anchor_counts, dastsiam_loss,
                                             siamrpn_loss)
from siam_tracker_ros.runtime import to_input
from siam_tracker_ros.training import distributed
from siam_tracker_ros.training.data import draw_pairs
from siam_tracker_ros.training.models import tracker_config
from siam_tracker_ros.training.objectives import Objective

NEGATIVE_PAIR_PROB = 0.05   # §6: a search crop from another clip, labelled negative only
NOISE_PROB = 0.5            # §7: Gaussian pixel noise on T_a and T_c, each with p = 0.5
NOISE_MAX_SIGMA = 10.0      #     σ ~ U(0, 10) on the 0–255 scale


def tensors(arrays, input_format, device) -> tuple:
    """uint8 crop batches as network input tensors in the weights' pixel format."""
    return tuple(to_input(a, device, torch.float32, input_format) for a in arrays)


def draw_siamrpn_batch(mixture, rngs, input_format, device) -> tuple:
    """(z, x, targets (N, 4) cx cy w h in x pixels, negative (N,) bool, label seeds (N,)).

    With p = 0.05 a pair becomes negative: its template is that of another pair drawn from
    the mixture (another clip), and only anchors near the search crop's own target are
    labelled, as negatives.
    """
    z, x, targets = draw_pairs(mixture, rngs)
    negative = np.array([rng.random() < NEGATIVE_PAIR_PROB for rng in rngs.samples], bool)
    for index in np.flatnonzero(negative):
        z[index] = mixture.sample(rngs.samples[index])[0]
    seeds = np.array([rng.integers(2 ** 31) for rng in rngs.samples], np.int64)
    return (*tensors((z, x), input_format, device), targets, negative, seeds)


def search_anchors(train, map_size: int, input_size: int, stride: int) -> np.ndarray:
    """(k, r, r, 4) anchors of the tracker's config in search-crop pixels."""
    cfg = tracker_config(train)
    sizes = anchor_sizes(cfg.anchor_ratios, cfg.anchor_scales, stride)
    return anchor_grid(sizes, map_size, stride, center=(input_size - 1) / 2)


def stacked(targets, device) -> tuple:
    """(labels, deltas, positive) tensors stacked over a list of `AnchorTargets`."""
    return tuple(torch.from_numpy(np.stack([getattr(t, name) for t in targets])).to(device)
                 for name in ('labels', 'deltas', 'positive'))


def batch_divisors(labels: torch.Tensor, positive: torch.Tensor):
    """The loss's `AnchorCounts` divisors for a distributed share (None in one process: the
    batch's own counts)."""
    if not distributed.several_processes():
        return None
    return AnchorCounts(*distributed.mean_divisors(anchor_counts(labels, positive),
                                                   labels.device))


def siamrpn_pair_loss(net, batch, train) -> torch.Tensor:
    """L = L_cls + 1.2·L_reg on IoU anchor labels (16 positives, 64 labelled; §6), or with
    `rpn_labels: centre` on §7's centre-distance labels (every anchor of the cells within two
    cells of the target's centre positive, all others negative; the labels ablation)."""
    z, x, targets, negative, seeds = batch
    cls, reg = net(z, x)
    anchors = search_anchors(train, cls.size(-1), x.size(-1), net.stride)
    labels = [negative_pair_targets(gt, anchors, x.size(-1), np.random.default_rng(seed),
                                    stride=net.stride) if neg
              else dastsiam_targets(gt, anchors, x.size(-1), net.stride)
              if train.rpn_labels == 'centre'
              else siamrpn_targets(gt, anchors, np.random.default_rng(seed))
              for gt, neg, seed in zip(targets, negative, seeds)]
    labels, deltas, positive = stacked(labels, cls.device)
    return siamrpn_loss(cls, reg, labels, deltas, positive,
                        divisors=batch_divisors(labels, positive))


def pixel_noise(crop: np.ndarray, rng) -> np.ndarray:
    """The crop, with p = 0.5, plus Gaussian noise of σ ~ U(0, 10), clipped (§7)."""
    if rng.random() >= NOISE_PROB:
        return crop
    sigma = rng.uniform(0, NOISE_MAX_SIGMA)
    noisy = crop.astype(np.float32) + rng.normal(0.0, sigma, crop.shape).astype(np.float32)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def noised(crops: np.ndarray, rngs) -> np.ndarray:
    """`pixel_noise` of each crop with its sample's stream."""
    return np.stack([pixel_noise(crop, rng) for crop, rng in zip(crops, rngs.samples)])


def draw_dastsiam_batch(mixture, rngs, input_format, device) -> tuple:
    """(T_i, T_a, T_c, x, targets): T_a and T_c are the template T_i with independent noise.

    The pair sources give two frames per sample, not §7's three; T_a and T_c are therefore
    the template frame itself, each noised independently (see docs/trackers/dastsiam.md).
    """
    z, x, targets = draw_pairs(mixture, rngs)
    crops = (z, noised(z, rngs), noised(z, rngs), x)
    return (*tensors(crops, input_format, device), targets)


def dastsiam_batch_targets(net, train, cls1, x, targets) -> tuple:
    """(labels, centre-ness, deltas, positive) tensors for a batch's cls1 maps: §7's centre
    distance labels, or SiamRPN's IoU labels with `rpn_labels: iou` (the ablation)."""
    side, size = cls1.size(-1), x.size(-1)
    anchors = search_anchors(train, side, size, net.stride)
    labels, deltas, positive = stacked(
        [iou_targets(gt, anchors) if train.rpn_labels == 'iou'
         else dastsiam_targets(gt, anchors, size, net.stride) for gt in targets], cls1.device)
    centerness = np.stack([centerness_targets(gt, side, size, net.stride) for gt in targets])
    return labels, torch.from_numpy(centerness).to(cls1.device), deltas, positive


def dastsiam_triplet_loss(net, batch, train) -> torch.Tensor:
    """λ₁·(λ·L_cls1 + L_cls2) + L_reg on centre-distance labels and centre-ness (§7)."""
    z, z_a, z_c, x, targets = batch
    cls1, cls2, reg = net(z, x, z_a, z_c)
    labels, centerness, deltas, positive = dastsiam_batch_targets(net, train, cls1, x, targets)
    return dastsiam_loss(cls1, cls2, reg, labels, centerness, deltas, positive,
                         divisors=batch_divisors(labels, positive))


SIAMRPN_ANCHOR_PAIRS = Objective(make_batch=draw_siamrpn_batch, loss=siamrpn_pair_loss)
DASTSIAM_TRIPLETS = Objective(make_batch=draw_dastsiam_batch, loss=dastsiam_triplet_loss)
