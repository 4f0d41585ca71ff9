"""Cross-checks against reference cases written from the published toolkits' definitions.

The reference functions below are re-statements, with plain loops, of:
- got10k toolkit `got10k/experiments/otb.py: ExperimentOTB.report/_calc_curves` and
  `got10k/utils/metrics.py: rect_iou, center_error` (OTB success/precision: first frame
  replaced by the ground truth, 21 IoU thresholds with '>', 51 pixel thresholds with '<=',
  curves averaged over sequences, AUC = mean of the curve, precision score = curve[20]);
- got10k toolkit `got10k/experiments/got10k.py: ExperimentGOT10k.report/_evaluate`
  (IoU of frames 1.. clipped to the image, kept where cover > 0, concatenated over
  sequences; AO = mean, SR = mean(IoU > 0.5));
- pysot toolkit `toolkit/evaluation/ope_benchmark.py: eval_norm_precision` (centres divided
  by the ground-truth size, thresholds 0:0.01:0.5, reported at 0.2);
- pysot toolkit `toolkit/evaluation/eao_benchmark.py` and `toolkit/utils/statistics.py:
  calculate_expected_overlap` (fragments from each re-initialisation, zero padded after a
  failure, Φ(i) averaged over frames 1..i).
No toolkit code is imported or copied; the cases are random but seeded.
"""
import numpy as np
import pytest

from siam_tracker_ros.datasets.sequence import Sequence
from siam_tracker_ros.evaluation import metrics as m
from siam_tracker_ros.evaluation import scoring
from siam_tracker_ros.evaluation import vot_metrics as vm


def _ref_iou(a, b, bound=None):
    a, b = list(map(float, a)), list(map(float, b))
    if bound is not None:
        for r in (a, b):
            r[0], r[1] = min(max(r[0], 0), bound[0]), min(max(r[1], 0), bound[1])
            r[2], r[3] = min(max(r[2], 0), bound[0] - r[0]), min(max(r[3], 0), bound[1] - r[1])
    w = max(min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]), 0)
    h = max(min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]), 0)
    inter = w * h
    union = a[2] * a[3] + b[2] * b[3] - inter
    return min(max(inter / (union + np.finfo(float).eps), 0.0), 1.0)


def _ref_center(r):
    return (r[0] + (r[2] - 1) / 2, r[1] + (r[3] - 1) / 2)


def _ref_otb(preds, gts):
    succ, prec = [], []
    for pred, gt in zip(preds, gts):
        pred = [gt[0]] + list(pred[1:])
        ious = [_ref_iou(p, g) for p, g in zip(pred, gt)]
        errs = [np.hypot(*np.subtract(_ref_center(p), _ref_center(g))) for p, g in zip(pred, gt)]
        succ.append([sum(i > t for i in ious) / len(ious) for t in np.linspace(0, 1, 21)])
        prec.append([sum(e <= t for e in errs) / len(errs) for t in range(51)])
    succ_curve, prec_curve = np.mean(succ, axis=0), np.mean(prec, axis=0)
    return float(np.mean(succ_curve)), float(prec_curve[20])


def _random_run(rng, n):
    gt = np.column_stack([rng.uniform(0, 200, (n, 2)), rng.uniform(5, 60, (n, 2))])
    pred = gt + rng.normal(0, 12, (n, 4))
    pred[:, 2:] = np.abs(pred[:, 2:]) + 1
    return pred, gt


def _sequences(rng, lengths):
    runs = [_random_run(rng, n) for n in lengths]
    seqs = [Sequence(name=f's{i}', frames=tuple(f'f{j}' for j in range(n)), boxes=gt)
            for i, (n, (_, gt)) in enumerate(zip(lengths, runs))]
    return seqs, {s.name: run[0] for s, run in zip(seqs, runs)}


def test_otb_success_and_precision_match_got10k_definition():
    rng = np.random.default_rng(0)
    seqs, preds = _sequences(rng, [40, 75, 13])
    scores = scoring.evaluate_ope(seqs, lambda s: (preds[s.name], np.full(len(s), 0.01)))
    auc, p20 = _ref_otb([preds[s.name] for s in seqs], [s.boxes for s in seqs])
    assert scores['overall']['auc'] == pytest.approx(auc, abs=1e-12)
    assert scores['overall']['p20'] == pytest.approx(p20, abs=1e-12)


def test_rect_iou_matches_got10k_definition_with_bound():
    rng = np.random.default_rng(1)
    pred, gt = _random_run(rng, 200)
    pred[:20, :2] -= 150                                    # some boxes leave the image
    ours = m.rect_iou(pred, gt, bound=(160, 120))
    ref = [_ref_iou(p, g, (160, 120)) for p, g in zip(pred, gt)]
    np.testing.assert_allclose(ours, ref, atol=1e-12)


def test_got10k_ao_sr_match_got10k_definition(tmp_path):
    import cv2
    rng = np.random.default_rng(2)
    frame = tmp_path / '00000001.jpg'
    cv2.imwrite(str(frame), np.zeros((120, 160, 3), np.uint8))
    seqs, preds, all_ious = [], {}, []
    for i, n in enumerate([30, 55]):
        pred, gt = _random_run(rng, n)
        cover = rng.integers(0, 9, n)
        seqs.append(Sequence(name=f'g{i}', frames=(str(frame),) * n, boxes=gt,
                             extra={'cover': cover}))
        preds[f'g{i}'] = pred
        ious = [_ref_iou(p, g, (160, 120)) for p, g in zip(pred[1:], gt[1:])]
        all_ious += [iou for iou, c in zip(ious, cover[1:]) if c > 0]
    scores = scoring.evaluate_got10k(seqs, lambda s: (preds[s.name], np.full(len(s), 0.01)))
    assert scores['overall']['ao'] == pytest.approx(np.mean(all_ious), abs=1e-12)
    assert scores['overall']['sr50'] == pytest.approx(np.mean(np.array(all_ious) > 0.5))
    assert scores['overall']['sr75'] == pytest.approx(np.mean(np.array(all_ious) > 0.75))


def test_normalized_precision_matches_pysot_definition():
    rng = np.random.default_rng(3)
    pred, gt = _random_run(rng, 300)
    norm = [np.hypot((_ref_center(p)[0] - _ref_center(g)[0]) / g[2],
                     (_ref_center(p)[1] - _ref_center(g)[1]) / g[3]) for p, g in zip(pred, gt)]
    ref = [sum(e <= t for e in norm) / len(norm) for t in np.arange(51) / 100]
    ours = m.precision_curve(m.normalized_center_error(pred, gt), m.NORM_THRESHOLDS)
    np.testing.assert_allclose(ours, ref, atol=1e-12)


def _ref_eao(runs, skip, low, high):
    """pysot-style fragments and expected overlaps (equal weights)."""
    max_len = max(len(o) for o, _ in runs)
    rows = []
    for overlaps, failures in runs:
        points = [0] + [f + skip for f in failures]
        for k, start in enumerate(points):
            row = [np.nan] * max_len
            if k < len(points) - 1:
                row = [0.0] * max_len
                piece = overlaps[start:points[k + 1] + 1]
            else:
                piece = overlaps[start:]
            row[:len(piece)] = [0.0 if np.isnan(v) else v for v in piece]
            rows.append(row)
    rows = np.array(rows)
    curve = [1.0] + [np.nan] * (max_len - 1)
    for i in range(1, max_len):
        keep = ~np.isnan(rows[:, i])
        if keep.any():
            curve[i] = float(np.mean(rows[keep, 1:i + 1].mean(axis=1)))
    window = [c for c in curve[low - 1:high] if not np.isnan(c)]
    return float(np.mean(window))


def test_eao_matches_pysot_definition():
    rng = np.random.default_rng(4)
    runs = []
    for n, failures in ((60, [10, 30]), (45, []), (80, [5, 40, 70])):
        overlaps = list(rng.uniform(0.2, 0.9, n))
        for f in failures:
            overlaps[f] = np.nan                       # failure frame
            for j in range(f + 1, f + 5):
                overlaps[j] = np.nan                   # skipped frames
            overlaps[f + 5] = np.nan                   # re-initialisation frame
        overlaps[0] = np.nan
        runs.append((overlaps, failures))
    fragments = [frag for o, f in runs for frag in vm.eao_fragments(o, f, skip=5)]
    for low, high in ((2, 79), (10, 50), (40, 80), (70, 356)):
        assert vm.expected_average_overlap(fragments, 80, (low, high)) == pytest.approx(
            _ref_eao(runs, 5, low, high), abs=1e-12)
