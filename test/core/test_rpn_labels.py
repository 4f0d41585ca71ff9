"""RPN training targets (spec §6 Training, §7 Label assignment): checks RPN-4 and DAST-4."""
import numpy as np
import pytest

from siam_tracker_ros.datasets.otb import read_otb_sequence
from siam_tracker_ros.ops.anchors import AnchorError, anchor_grid, anchor_sizes, decode
from siam_tracker_ros.ops.crop import template_side
from siam_tracker_ros.ops.rpn_labels import (anchor_iou, centerness_targets, dastsiam_targets,
                                             iou_targets, negative_pair_targets, siamrpn_targets)
from siam_tracker_ros.trackers import rpn_decoder

X, R = 255, 17
ANCHORS = anchor_grid(anchor_sizes(), R, center=(X - 1) / 2)  # crop pixels
DAST_X, DAST_R = 287, 25
DAST_ANCHORS = anchor_grid(anchor_sizes((1.0,)), DAST_R, center=(DAST_X - 1) / 2)


def counts(targets):
    return (targets.labels == 1).sum(), (targets.labels == 0).sum()


@pytest.mark.parametrize('a,i,j', [(0, 8, 8), (2, 5, 10), (3, 12, 4), (4, 8, 13)])
def test_gt_equal_to_an_anchor_makes_it_positive(a, i, j):  # RPN-4
    gt = ANCHORS[a, i, j]
    targets = siamrpn_targets(gt, ANCHORS, np.random.default_rng(0))
    assert targets.labels[a, i, j] == 1 and targets.positive[a, i, j]
    assert np.array_equal(targets.deltas[:, a, i, j], np.zeros(4))
    assert np.array_equal(targets.positive, targets.labels == 1)


def test_never_more_than_16_positives_or_64_labelled():  # RPN-4
    rng = np.random.default_rng(3)
    for _ in range(300):
        gt = np.concatenate([127 + rng.uniform(-64, 64, 2), rng.uniform(16, 200, 2)])
        targets = siamrpn_targets(gt, ANCHORS, rng)
        positives, negatives = counts(targets)
        assert positives <= 16 and negatives <= 48 and positives + negatives <= 64
        candidates = anchor_iou(gt, ANCHORS) > 0.6
        assert np.all(candidates[targets.positive])
        assert np.all(anchor_iou(gt, ANCHORS)[targets.labels == 0] < 0.3)


def test_more_than_16_candidates_keeps_a_random_16():  # RPN-4
    gt = (131.0, 131.0, 50.0, 88.0)  # 20 anchors with IoU > 0.6
    candidates = anchor_iou(gt, ANCHORS) > 0.6
    assert candidates.sum() > 16
    first = siamrpn_targets(gt, ANCHORS, np.random.default_rng(0))
    second = siamrpn_targets(gt, ANCHORS, np.random.default_rng(1))
    assert counts(first) == (16, 48) and counts(second) == (16, 48)
    assert np.all(candidates[first.positive]) and np.all(candidates[second.positive])
    assert not np.array_equal(first.positive, second.positive)


def test_negative_pair_labels_only_negatives_near_the_would_be_centre():  # §6 negative pairs
    gt = (127.0 + 16, 127.0 - 8, 60.0, 40.0)  # would-be centre cell (i, j) = (7, 10)
    targets = negative_pair_targets(gt, ANCHORS, X, np.random.default_rng(0))
    assert (targets.labels == 1).sum() == 0 and not targets.positive.any()
    assert (targets.labels == 0).sum() == 16
    _, rows, cols = np.nonzero(targets.labels == 0)
    assert np.all(np.abs(rows - 7) <= 3) and np.all(np.abs(cols - 10) <= 3)
    everything = negative_pair_targets(gt, ANCHORS, X, np.random.default_rng(0),
                                       negatives=10_000)
    assert (everything.labels == 0).sum() == 5 * 7 * 7


def test_dastsiam_centred_gt_gives_13_positives_around_the_centre():  # DAST-4
    gt = ((DAST_X - 1) / 2, (DAST_X - 1) / 2, 80.0, 60.0)
    targets = dastsiam_targets(gt, DAST_ANCHORS, DAST_X)
    assert targets.labels.shape == (1, DAST_R, DAST_R)
    rows, cols = np.nonzero(targets.labels[0] == 1)
    assert len(rows) == 13
    assert np.all((rows - 12) ** 2 + (cols - 12) ** 2 <= 4)
    assert set(np.unique(targets.labels)) == {0, 1}  # no ignore band
    centreness = centerness_targets(gt, DAST_R, DAST_X)
    assert centreness[12, 12] == pytest.approx(1.0)
    assert centreness.max() == centreness[12, 12]


def test_dastsiam_shift_by_8px_moves_positives_one_column():  # DAST-4
    centred = dastsiam_targets((143.0, 143.0, 80.0, 60.0), DAST_ANCHORS, DAST_X)
    shifted = dastsiam_targets((151.0, 143.0, 80.0, 60.0), DAST_ANCHORS, DAST_X)
    assert np.array_equal(np.roll(centred.labels, 1, axis=2), shifted.labels)


def test_dastsiam_regression_targets_decode_to_the_gt():  # §7: reg trained on positives
    gt = np.array([150.3, 131.7, 71.0, 45.0])
    targets = dastsiam_targets(gt, DAST_ANCHORS, DAST_X)
    deltas = targets.deltas.reshape(4, -1).T[targets.positive.ravel()]
    boxes = decode(deltas, DAST_ANCHORS.reshape(-1, 4)[targets.positive.ravel()])
    assert np.abs(boxes - gt).max() < 1e-3  # float32 targets


def test_iou_labels_ablation_labels_every_anchor_by_iou():  # dastsiam `rpn_labels: iou`
    square = ((DAST_X - 1) / 2, (DAST_X - 1) / 2, 64.0, 64.0)   # the anchor's own shape
    targets = iou_targets(square, DAST_ANCHORS)
    iou = anchor_iou(np.asarray(square), DAST_ANCHORS)
    assert np.array_equal(targets.labels == 1, iou > 0.6)     # none subsampled
    assert np.array_equal(targets.labels == 0, iou < 0.3)
    assert np.array_equal(targets.labels == -1, (iou >= 0.3) & (iou <= 0.6))
    assert np.array_equal(targets.positive, targets.labels == 1)
    assert targets.labels[0, 12, 12] == 1 and (targets.labels == 1).sum() >= 5
    elongated = ((DAST_X - 1) / 2, (DAST_X - 1) / 2, 110.0, 30.0)  # no 64×64 anchor fits
    assert (iou_targets(elongated, DAST_ANCHORS).labels == 1).sum() == 0
    assert (dastsiam_targets(elongated, DAST_ANCHORS, DAST_X).labels == 1).sum() == 13


def test_centerness_is_zero_outside_and_follows_fcos_inside():  # §7 cls2 target
    gt = (143.0, 143.0, 40.0, 24.0)  # corners 123…163 × 131…155
    target = centerness_targets(gt, DAST_R, DAST_X)
    assert target[12, 15] == 0.0 and target[14, 12] == 0.0  # x = 167, y = 159: outside
    left, right, top, bottom = 151 - 123, 163 - 151, 135 - 131, 155 - 135  # cell (11, 13)
    expected = np.sqrt(min(left, right) / max(left, right) * min(top, bottom) / max(top, bottom))
    assert target[11, 13] == pytest.approx(expected)


def test_origin_follows_input_and_map_size():  # §7 origin 47 generalised
    gt = (127.0, 127.0, 64.0, 64.0)
    targets = dastsiam_targets(gt, anchor_grid(anchor_sizes((1.0,)), R, center=127.0), X)
    rows, cols = np.nonzero(targets.labels[0] == 1)
    assert len(rows) == 13 and rows.mean() == 8 and cols.mean() == 8


def test_bad_gt_raises():
    with pytest.raises(AnchorError, match='w, h > 0'):
        siamrpn_targets((127, 127, 0, 10), ANCHORS, np.random.default_rng(0))
    with pytest.raises(AnchorError, match='w, h > 0'):
        dastsiam_targets((127, 127, 10), DAST_ANCHORS, DAST_X)


def crop_pairs(sequence):
    """Consecutive frames as a tracker sees them: gt of frame t+1 in the search crop of
    frame t (centred on frame t's box, X / s_x = 127 / s_z crop pixels per image pixel)."""
    boxes = sequence.boxes
    centres = boxes[:, :2] + (boxes[:, 2:] - 1) / 2
    for t in range(len(boxes) - 1):
        scale_z = 127 / template_side(*boxes[t, 2:])
        gt = np.concatenate([(centres[t + 1] - centres[t]) * scale_z + (X - 1) / 2,
                             boxes[t + 1, 2:] * scale_z])
        yield boxes[t, 2:], scale_z, gt, centres[t + 1] - centres[t]


def test_labels_on_real_gt_drive_the_decoder_to_the_true_motion(sot_sequences):
    """An oracle head (logit +10 on the positives, regression = targets) makes the §1.5
    decoder return the true motion: labels (crop pixels) and decoder (centre-relative
    anchors) share one geometry. RPN-4's limits hold on every real pair."""
    rng = np.random.default_rng(0)
    anchors, window = ANCHORS.reshape(-1, 4) - [127, 127, 0, 0], rpn_decoder.anchor_window(R, 5)
    pairs = with_positives = 0
    for folder in sot_sequences:
        for size, scale_z, gt, motion in crop_pairs(read_otb_sequence(folder)[0]):
            targets = siamrpn_targets(gt, ANCHORS, rng)
            positives, negatives = counts(targets)
            assert positives <= 16 and positives + negatives <= 64
            pairs += 1
            if positives == 0:
                continue
            with_positives += 1
            p = np.where(targets.positive.ravel(), 1 / (1 + np.exp(-10)), 1 / (1 + np.exp(10)))
            out = rpn_decoder.decode(p, targets.deltas.reshape(4, -1).T, anchors, window,
                                     size, scale_z, penalty_k=0.22, window_influence=0.4, lr=0.3)
            assert targets.positive.ravel()[out.best]
            assert np.allclose(out.displacement, motion, atol=1e-3)
    assert pairs > 800 and with_positives > 0.8 * pairs
