"""Hand-computed cases for the one-pass and GOT-10k metrics, edge cases included."""
import math

import numpy as np
import pytest

from siam_tracker_ros.evaluation import metrics as m

NAN = float('nan')


def test_rect_iou_hand_computed():
    pred = [[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]]
    gt = [[5, 5, 10, 10], [0, 0, 10, 10], [10, 0, 10, 10], [2, 2, 4, 4]]
    # overlap 5x5 = 25, union 175; identical; touching edge; gt inside pred (16 / 100)
    np.testing.assert_allclose(m.rect_iou(pred, gt), [25 / 175, 1.0, 0.0, 0.16])


def test_rect_iou_invalid_predictions_score_zero():
    gt = [[0, 0, 10, 10]] * 4
    pred = [[NAN, 0, 10, 10], [0, 0, 0, 10], [0, 0, 10, -3], [0, 0, math.inf, 10]]
    np.testing.assert_array_equal(m.rect_iou(pred, gt), [0.0, 0.0, 0.0, 0.0])


def test_rect_iou_invalid_ground_truth_is_nan():
    pred = [[0, 0, 10, 10]] * 3
    gt = [[NAN, NAN, NAN, NAN], [0, 0, 0, 0], [NAN, 0, 10, 10]]
    assert np.isnan(m.rect_iou(pred, gt)).all()


def test_rect_iou_bound_clips_boxes_at_the_image_border():
    gt = [[95, 95, 10, 10], [95, 95, 10, 10], [0, 0, 10, 10]]
    pred = [[90, 90, 10, 10], [200, 200, 10, 10], [-10, -10, 20, 20]]
    # unbounded: 25 / 175; bounded to 100x100: gt becomes (95, 95, 5, 5) -> 25 / 100
    np.testing.assert_allclose(m.rect_iou(pred, gt)[:2], [1 / 7, 0.0])
    bounded = m.rect_iou(pred, gt, bound=(100, 100))
    # a prediction wholly outside the image has zero area -> 0; a box hanging off the
    # top-left keeps its size after x, y are clipped to 0 (got10k rule) -> 100 / 400
    np.testing.assert_allclose(bounded, [0.25, 0.0, 0.25])


def test_rect_iou_shape_mismatch():
    with pytest.raises(ValueError, match='pred has 2 boxes, gt has 1'):
        m.rect_iou([[0, 0, 1, 1]] * 2, [[0, 0, 1, 1]])


def test_center_error_uses_otb_centres():
    # centres x + (w - 1) / 2: (4.5, 4.5) vs (7.5, 8.5) -> 5
    np.testing.assert_allclose(m.center_error([[0, 0, 10, 10]], [[3, 4, 10, 10]]), [5.0])
    # different sizes: (0, 0) vs (1, 1) -> sqrt(2)
    np.testing.assert_allclose(m.center_error([[0, 0, 1, 1]], [[0, 0, 3, 3]]), [math.sqrt(2)])


def test_center_error_invalid_rows():
    errors = m.center_error([[NAN, 0, 1, 1], [0, 0, 1, 1]], [[0, 0, 1, 1], [0, 0, 0, 1]])
    assert errors[0] == math.inf and np.isnan(errors[1])


def test_normalized_center_error_divides_by_gt_size():
    # x offset 10 on a 10x20 target -> 1.0; y offset 10 -> 0.5
    errors = m.normalized_center_error([[10, 0, 10, 20], [0, 10, 10, 20]], [[0, 0, 10, 20]] * 2)
    np.testing.assert_allclose(errors, [1.0, 0.5])


def test_success_curve_strict_threshold_and_nan_handling():
    ious = [1.0, 0.5, 0.0, NAN]
    curve = m.success_curve(ious, thresholds=[0.0, 0.5, 1.0])
    np.testing.assert_allclose(curve, [2 / 4, 1 / 4, 0.0])     # NaN frame is a failure
    curve = m.success_curve(ious, thresholds=[0.0, 0.5, 1.0], exclude_invalid=True)
    np.testing.assert_allclose(curve, [2 / 3, 1 / 3, 0.0])     # NaN frame dropped


def test_auc_of_constant_overlaps():
    # IoU 0.5 everywhere passes thresholds 0 .. 0.45 (10 of 21): AUC = 10 / 21
    assert m.auc(m.success_curve([0.5] * 7)) == pytest.approx(10 / 21)
    # a perfect tracker passes every threshold but 1.0 (strict '>'): 20 / 21
    assert m.auc(m.success_curve([1.0] * 3)) == pytest.approx(20 / 21)
    assert len(m.OTB_IOU_THRESHOLDS) == 21


def test_precision_curve_and_p20():
    errors = [0.0, 20.0, 20.5, math.inf, NAN]
    curve = m.precision_curve(errors)
    assert len(curve) == 51
    assert m.curve_at(curve, m.OTB_PIXEL_THRESHOLDS, 20) == pytest.approx(2 / 5)
    assert curve[0] == pytest.approx(1 / 5)
    assert curve[50] == pytest.approx(3 / 5)


def test_normalized_precision_at_0_2():
    errors = [0.1, 0.2, 0.3, 0.05]
    curve = m.precision_curve(errors, m.NORM_THRESHOLDS)
    assert m.curve_at(curve, m.NORM_THRESHOLDS, 0.2) == pytest.approx(3 / 4)


def test_ao_sr_hand_computed():
    ao, (sr50, sr75) = m.ao_sr([0.8, 0.6, 0.4, 0.0])
    assert ao == pytest.approx(0.45)
    assert (sr50, sr75) == (pytest.approx(0.5), pytest.approx(0.25))


def test_ao_sr_drops_nan_and_handles_empty():
    ao, (sr50,) = m.ao_sr([1.0, NAN], thresholds=(0.5,))
    assert ao == 1.0 and sr50 == 1.0
    ao, (sr50, sr75) = m.ao_sr([])
    assert math.isnan(ao) and math.isnan(sr50) and math.isnan(sr75)


def test_got10k_mask_skips_first_frame_and_absent_targets():
    cover = [8, 0, 3, 8, 0]
    np.testing.assert_array_equal(m.got10k_mask(5, cover=cover), [0, 0, 1, 1, 0])
    absent = [False, True, False, False, False]
    np.testing.assert_array_equal(m.got10k_mask(5, absent=absent), [0, 0, 1, 1, 1])
    np.testing.assert_array_equal(m.got10k_mask(3), [0, 1, 1])


def test_got10k_scores_with_an_absent_target():
    gt = np.array([[0, 0, 10, 10]] * 4, dtype=float)
    pred = np.array([[0, 0, 10, 10], [0, 0, 10, 5], [50, 50, 5, 5], [0, 0, 10, 10]], float)
    absent = np.array([False, False, True, False])
    ious = m.rect_iou(pred, gt)[m.got10k_mask(4, absent=absent)]
    ao, (sr50, sr75) = m.ao_sr(ious)         # frames 1 (0.5) and 3 (1.0); frame 2 absent
    assert ao == pytest.approx(0.75) and sr50 == 0.5 and sr75 == 0.5
