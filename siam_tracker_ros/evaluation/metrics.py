"""One-pass (OTB, LaSOT, TrackingNet) and GOT-10k metrics as pure NumPy functions.

Boxes are (N, 4) arrays of 0-based `xywh` rows (left, top, width, height) covering the
continuous region [x, x + w) x [y, y + h). A ground-truth row is *invalid* when it has a NaN
or a non-positive width or height (unknown or absent target); a prediction row is invalid
for the same reasons (a failed tracker). Per-frame scores use NaN for 'no ground truth' and
the worst value (IoU 0, error inf) for an invalid prediction.
"""
import numpy as np

OTB_IOU_THRESHOLDS = np.linspace(0.0, 1.0, 21)
OTB_PIXEL_THRESHOLDS = np.arange(0, 51, dtype=np.float64)
NORM_THRESHOLDS = np.arange(0, 51, dtype=np.float64) / 100.0
GOT10K_IOU_THRESHOLDS = np.linspace(0.0, 1.0, 101)


def valid_boxes(boxes) -> np.ndarray:
    """(N,) bool: rows that are finite with w > 0 and h > 0."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.isfinite(boxes).all(axis=1) & (boxes[:, 2] > 0) & (boxes[:, 3] > 0)


def clip_boxes(boxes, bound) -> np.ndarray:
    """Bound `xywh` rows by the image, `bound` = (W, H), with the got10k toolkit's rule.

    x' = clip(x, 0, W), w' = clip(w, 0, W − x') (y, h alike), as got10k `rect_iou(bound=...)`:
    a box wholly outside becomes zero-area; a box hanging off the left or top edge keeps
    its width (it is moved in, not cut). GOT-10k AO/SR need exactly this rule.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    width, height = bound
    x = np.clip(boxes[:, 0], 0, width)
    y = np.clip(boxes[:, 1], 0, height)
    w = np.clip(boxes[:, 2], 0, width - x)
    h = np.clip(boxes[:, 3], 0, height - y)
    return np.stack([x, y, w, h], axis=1)


def rect_iou(pred, gt, bound=None) -> np.ndarray:
    """Intersection over union of axis-aligned boxes, frame by frame.

    IoU = |P ∩ G| / |P ∪ G| with continuous areas, |P ∩ G| = max(0, min(xp + wp, xg + wg) −
    max(xp, xg)) · max(0, min(yp + hp, yg + hg) − max(yp, yg)) — got10k `utils/metrics.py:
    rect_iou`, pysot `toolkit/utils/statistics.py: overlap_ratio`, OTB toolkit overlap.

    Args:
        pred: (N, 4) predicted `xywh`.
        gt: (N, 4) ground-truth `xywh`.
        bound: optional (W, H); both boxes are first bounded by `clip_boxes` (GOT-10k).

    Returns:
        (N,) IoU in [0, 1]; NaN where `gt` is invalid, 0 where `pred` is invalid.
    """
    pred = np.asarray(pred, dtype=np.float64).reshape(-1, 4)
    gt = np.asarray(gt, dtype=np.float64).reshape(-1, 4)
    if pred.shape != gt.shape:
        raise ValueError(f'pred has {len(pred)} boxes, gt has {len(gt)}')
    gt_ok, pred_ok = valid_boxes(gt), valid_boxes(pred)
    p = np.where(pred_ok[:, None], pred, 0.0)
    g = np.where(gt_ok[:, None], gt, 0.0)
    if bound is not None:
        p, g = clip_boxes(p, bound), clip_boxes(g, bound)
    iw = np.minimum(p[:, 0] + p[:, 2], g[:, 0] + g[:, 2]) - np.maximum(p[:, 0], g[:, 0])
    ih = np.minimum(p[:, 1] + p[:, 3], g[:, 1] + g[:, 3]) - np.maximum(p[:, 1], g[:, 1])
    inter = np.maximum(iw, 0.0) * np.maximum(ih, 0.0)
    union = p[:, 2] * p[:, 3] + g[:, 2] * g[:, 3] - inter
    with np.errstate(invalid='ignore', divide='ignore'):
        iou = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
    iou = np.clip(np.where(pred_ok, iou, 0.0), 0.0, 1.0)
    return np.where(gt_ok, iou, np.nan)


def centers(boxes) -> np.ndarray:
    """(N, 2) box centres c = (x + (w − 1) / 2, y + (h − 1) / 2) (OTB toolkit, got10k)."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return boxes[:, :2] + (boxes[:, 2:] - 1.0) / 2.0


def center_error(pred, gt) -> np.ndarray:
    """Euclidean distance in pixels between the centres of `pred` and `gt` rows.

    e = ‖c(P) − c(G)‖₂ with c from `centers` — got10k `center_error`, OTB toolkit
    `calcSeqErrRobust`, pysot `success_error`.

    Returns:
        (N,) errors; NaN where `gt` is invalid, inf where `pred` is invalid.
    """
    pred = np.asarray(pred, dtype=np.float64).reshape(-1, 4)
    gt = np.asarray(gt, dtype=np.float64).reshape(-1, 4)
    error = np.linalg.norm(centers(pred) - centers(gt), axis=1)
    error = np.where(valid_boxes(pred), error, np.inf)
    return np.where(valid_boxes(gt), error, np.nan)


def normalized_center_error(pred, gt) -> np.ndarray:
    """Centre distance with each axis divided by the ground-truth size (LaSOT, TrackingNet).

    e = ‖(c(P) − c(G)) / (w_G, h_G)‖₂ — pysot `OPEBenchmark.eval_norm_precision`
    (`convert_bb_to_norm_center`), TrackingNet's normalised precision.

    Returns:
        (N,) errors; NaN where `gt` is invalid, inf where `pred` is invalid.
    """
    pred = np.asarray(pred, dtype=np.float64).reshape(-1, 4)
    gt = np.asarray(gt, dtype=np.float64).reshape(-1, 4)
    gt_ok = valid_boxes(gt)
    size = np.where(gt_ok[:, None], gt[:, 2:], 1.0)
    error = np.linalg.norm((centers(pred) - centers(gt)) / size, axis=1)
    error = np.where(valid_boxes(pred), error, np.inf)
    return np.where(gt_ok, error, np.nan)


def _rate(passed, values, exclude_invalid):
    known = ~np.isnan(values)
    if exclude_invalid:
        count = known.sum()
        return passed[known].mean(axis=0) if count else np.full(passed.shape[1], np.nan)
    return passed.mean(axis=0) if len(values) else np.full(passed.shape[1], np.nan)


def success_curve(ious, thresholds=OTB_IOU_THRESHOLDS, exclude_invalid=False) -> np.ndarray:
    """Fraction of frames whose IoU exceeds each threshold: S(t) = |{f : IoU_f > t}| / N.

    OTB success plot: 21 thresholds 0, 0.05, ..., 1 and a strict '>' (OTB toolkit, got10k
    `ExperimentOTB._calc_curves`, pysot `success_overlap`).

    Args:
        ious: (N,) per-frame IoU, NaN where the ground truth is invalid.
        thresholds: IoU thresholds.
        exclude_invalid: drop NaN frames from N (GOT-10k, pytracking's
            `exclude_invalid_frames`); by default they count as failures, as pysot's
            `success_overlap` does (it divides by every frame of the sequence).
    """
    ious = np.asarray(ious, dtype=np.float64).ravel()
    passed = np.nan_to_num(ious, nan=-1.0)[:, None] > np.asarray(thresholds)[None, :]
    return _rate(passed, ious, exclude_invalid)


def auc(curve) -> float:
    """Area under a success curve as the OTB toolkit defines it: the mean of its samples.

    With the 21 OTB thresholds this is got10k's `success_score` and pysot's 'Success'.
    """
    return float(np.mean(curve))


def precision_curve(errors, thresholds=OTB_PIXEL_THRESHOLDS,
                    exclude_invalid=False) -> np.ndarray:
    """Fraction of frames whose centre error is at most each threshold: P(t) = |{e_f ≤ t}| / N.

    OTB precision plot: thresholds 0..50 px, '≤' (got10k `_calc_curves`, pysot
    `success_error`). With `NORM_THRESHOLDS` and normalised errors this is the normalised
    precision plot (pysot `eval_norm_precision`). NaN errors: as in `success_curve`.
    """
    errors = np.asarray(errors, dtype=np.float64).ravel()
    passed = np.nan_to_num(errors, nan=np.inf)[:, None] <= np.asarray(thresholds)[None, :]
    return _rate(passed, errors, exclude_invalid)


def curve_at(curve, thresholds, value) -> float:
    """The curve sample at `value` (P@20 on `OTB_PIXEL_THRESHOLDS`, norm-P@0.2 on NORM...)."""
    index = int(np.argmin(np.abs(np.asarray(thresholds) - value)))
    return float(np.asarray(curve)[index])


def got10k_mask(length, absent=None, cover=None) -> np.ndarray:
    """Frames GOT-10k scores: all but the first, and only where the target is visible.

    got10k `ExperimentGOT10k.report`: `rect_iou(b[1:], anno[1:])` then keeps `cover > 0`;
    without cover labels, frames not marked absent; without either, all frames but the first.
    """
    mask = np.ones(length, dtype=bool)
    mask[:1] = False
    if cover is not None:
        mask &= np.asarray(cover) > 0
    elif absent is not None:
        mask &= ~np.asarray(absent, dtype=bool)
    return mask


def ao_sr(ious, thresholds=(0.5, 0.75)) -> tuple:
    """GOT-10k average overlap and success rates over the frames given.

    AO = mean_f IoU_f and SR_t = |{f : IoU_f > t}| / N (got10k `ExperimentGOT10k._evaluate`).
    Over a dataset, pass the concatenated frames of every sequence (frame-weighted, as the
    got10k toolkit). NaN IoUs (no ground truth) are dropped.

    Returns:
        (AO, (SR_t for t in thresholds)); NaNs when no frame is left.
    """
    ious = np.asarray(ious, dtype=np.float64).ravel()
    ious = ious[~np.isnan(ious)]
    if not len(ious):
        return float('nan'), tuple(float('nan') for _ in thresholds)
    return float(ious.mean()), tuple(float(np.mean(ious > t)) for t in thresholds)
