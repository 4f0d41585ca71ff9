"""Training targets for the RPN family: SiamRPN anchor labels (spec §6 Training) and
DASTSiam centre-distance labels with the cls2 centre-ness target (§7 Label assignment).

Ground truth and anchors are centre form (cx, cy, w, h) in search-crop pixels; build the
anchors with `anchor_grid(sizes, r, stride, center=(X − 1)/2)`. Outputs keep the
(k, r, r) layout, so `labels.reshape(-1)` is in flat anchor order a·r² + i·r + j and
`deltas` (4, k, r, r) reshapes to the 4k×r×r regression channels d·k + a.
"""
from dataclasses import dataclass

import numpy as np

from siam_tracker_ros.evaluation.metrics import rect_iou
from siam_tracker_ros.ops.anchors import AnchorError, cell_origin, encode
from siam_tracker_ros.ops.labels import logistic_labels

IGNORE, NEGATIVE, POSITIVE = -1, 0, 1


@dataclass(frozen=True)
class AnchorTargets:
    """labels (k, r, r) int64 (1, 0, −1 ignore); deltas (4, k, r, r) float32; positive mask."""

    labels: np.ndarray
    deltas: np.ndarray
    positive: np.ndarray


def anchor_iou(gt, anchors: np.ndarray) -> np.ndarray:
    """(k, r, r) IoU of every anchor with the ground truth, continuous corners cx ± w/2."""
    corners = np.asarray(anchors, np.float64).reshape(-1, 4).copy()
    corners[:, :2] -= corners[:, 2:] / 2
    gt_corner = check_gt(gt).copy()
    gt_corner[:2] -= gt_corner[2:] / 2
    iou = rect_iou(corners, np.broadcast_to(gt_corner, corners.shape))
    return iou.reshape(anchors.shape[:-1])


def regression_targets(gt, anchors: np.ndarray) -> np.ndarray:
    """(4, k, r, r) float32 deltas of the ground truth against every anchor (§1.5 encode)."""
    return np.moveaxis(encode(check_gt(gt), anchors), -1, 0).astype(np.float32)


def keep_at_most(mask: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """A copy of a boolean mask with at most `count` of its True entries, chosen at random."""
    chosen = np.flatnonzero(mask)
    if len(chosen) > count:
        chosen = rng.choice(chosen, size=count, replace=False)
    kept = np.zeros(mask.size, dtype=bool)
    kept[chosen] = True
    return kept.reshape(mask.shape)


def siamrpn_targets(gt, anchors: np.ndarray, rng: np.random.Generator, *,
                    high: float = 0.6, low: float = 0.3, positives: int = 16,
                    total: int = 64) -> AnchorTargets:
    """SiamRPN labels: IoU > high positive, IoU < low negative, the rest ignored.

    Up to `positives` positives and up to `total − positives` negatives are kept, each chosen
    at random (pysot: 16 and 48); every other anchor is ignored.
    """
    gt = check_gt(gt)
    iou = anchor_iou(gt, anchors)
    keep_pos = keep_at_most(iou > high, positives, rng)
    keep_neg = keep_at_most(iou < low, total - positives, rng)
    labels = np.full(iou.shape, IGNORE, dtype=np.int64)
    labels[keep_neg] = NEGATIVE
    labels[keep_pos] = POSITIVE
    return AnchorTargets(labels, regression_targets(gt, anchors), keep_pos)


def negative_pair_targets(gt, anchors: np.ndarray, input_size: int, rng: np.random.Generator,
                          *, stride: int = 8, radius: int = 3,
                          negatives: int = 16) -> AnchorTargets:
    """Labels for a search crop from another video: only negatives, none positive.

    Anchors within ±`radius` cells of the cell nearest the would-be centre (the ground
    truth's centre) are candidates; up to `negatives` of them are kept at random.
    """
    gt = check_gt(gt)
    map_size = anchors.shape[1]
    origin = cell_origin(input_size, map_size, stride)
    col, row = (int(np.floor((c - origin) / stride + 0.5)) for c in gt[:2])
    near = np.zeros(anchors.shape[:-1], dtype=bool)
    near[:, max(row - radius, 0):max(row + radius + 1, 0),
         max(col - radius, 0):max(col + radius + 1, 0)] = True
    labels = np.full(near.shape, IGNORE, dtype=np.int64)
    labels[keep_at_most(near, negatives, rng)] = NEGATIVE
    return AnchorTargets(labels, np.zeros((4, *near.shape), np.float32),
                         np.zeros(near.shape, dtype=bool))


def dastsiam_targets(gt, anchors: np.ndarray, input_size: int, stride: int = 8,
                     radius_cells: float = 2.0) -> AnchorTargets:
    """DASTSiam cls1 labels: 1 where the centre distance in cells is ≤ 2, else 0 (no ignore).

    Cell (i, j) is centred at origin + stride·(j, i), origin = `cell_origin` (47 for
    X = 287, r = 25); regression is trained on the positives. `anchors` is (1, r, r, 4).
    """
    gt = check_gt(gt)
    map_size = anchors.shape[1]
    near = logistic_labels(map_size, gt[:2], input_size, stride, radius_cells * stride) > 0
    positive = np.broadcast_to(near, anchors.shape[:-1]).copy()
    return AnchorTargets(positive.astype(np.int64), regression_targets(gt, anchors), positive)


def iou_targets(gt, anchors: np.ndarray, high: float = 0.6, low: float = 0.3) -> AnchorTargets:
    """SiamRPN's IoU labels on every anchor, none subsampled: IoU > high positive, IoU < low
    negative, the rest ignored. The DASTSiam labels ablation (`rpn_labels: iou`)."""
    every = int(np.prod(anchors.shape[:-1]))
    return siamrpn_targets(gt, anchors, np.random.default_rng(0), high=high, low=low,
                           positives=every, total=2 * every)


def centerness_targets(gt, map_size: int, input_size: int, stride: int = 8) -> np.ndarray:
    """(r, r) float32 FCOS centre-ness √(min(l,r)/max(l,r) · min(t,b)/max(t,b)) of each cell
    centre in the ground-truth box (corners cx ± w/2), and 0 outside it (§7 cls2 target)."""
    gt = check_gt(gt)
    cells = cell_origin(input_size, map_size, stride) + stride * np.arange(map_size)
    cx, cy, w, h = gt
    left, right = cells - (cx - w / 2), (cx + w / 2) - cells
    top, bottom = cells - (cy - h / 2), (cy + h / 2) - cells
    across = np.minimum(left, right) / np.maximum(np.maximum(left, right), 1e-12)
    down = np.minimum(top, bottom) / np.maximum(np.maximum(top, bottom), 1e-12)
    inside = (down[:, None] > 0) & (across[None, :] > 0)
    return np.where(inside, np.sqrt(np.clip(down[:, None] * across[None, :], 0, None)),
                    0.0).astype(np.float32)


def check_gt(gt) -> np.ndarray:
    """The ground truth as a float array; it must be 4 finite numbers with w, h > 0."""
    values = np.asarray(gt, dtype=np.float64)
    if values.shape != (4,) or not np.isfinite(values).all() or min(values[2:]) <= 0:
        raise AnchorError(f'ground truth must be (cx, cy, w, h) with w, h > 0, got {gt!r}')
    return values
