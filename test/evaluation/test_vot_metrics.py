"""Hand-computed VOT region overlap, reset-protocol accuracy/robustness and EAO."""
import math

import numpy as np
import pytest

from siam_tracker_ros.evaluation import vot_metrics as vm

SQUARE = [0, 0, 2, 0, 2, 2, 0, 2]
DIAMOND = [1, 0, 3, 1, 1, 2, -1, 1]


def test_region_overlap_polygons():
    # diamond (area 4) vs square (area 4): the square cuts two tips of area 0.5 -> 3 / 5
    assert vm.region_overlap(SQUARE, DIAMOND) == pytest.approx(0.6)
    assert vm.region_overlap(DIAMOND, SQUARE) == pytest.approx(0.6)
    assert vm.region_overlap([0, 0, 2, 2], SQUARE) == pytest.approx(1.0)   # box vs polygon
    assert vm.region_overlap([0, 0, 2, 2], [1, 1, 2, 2]) == pytest.approx(1 / 7)


def test_region_overlap_orientation_does_not_matter():
    assert vm.region_overlap(SQUARE, DIAMOND[6:] + DIAMOND[:6]) == pytest.approx(0.6)
    clockwise = [0, 0, 0, 2, 2, 2, 2, 0]
    assert vm.region_overlap(clockwise, DIAMOND) == pytest.approx(0.6)


def test_region_overlap_edge_cases():
    assert vm.region_overlap([5, 5, 2, 2], SQUARE) == 0.0                  # disjoint
    assert vm.region_overlap([float('nan')] * 4, SQUARE) == 0.0           # failed prediction
    assert vm.region_overlap([0, 0, 0, 2], SQUARE) == 0.0                 # zero-area prediction
    assert math.isnan(vm.region_overlap([0, 0, 1, 1], [float('nan')] * 8))
    # bound: [0,10]^2 vs [5,15]x[-5,5] cut to the 10x10 image -> 25 / 100
    assert vm.region_overlap([0, 0, 10, 10], [5, -5, 10, 10], bound=(10, 10)) == 0.25


def test_poly_iou_rows():
    np.testing.assert_allclose(vm.poly_iou([[0, 0, 2, 2], [0, 0, 2, 2]], [SQUARE, DIAMOND]),
                               [1.0, 0.6])


def _run_with_failure():
    """20 frames: init, 4 perfect boxes, failure at 5, skip 6-9, re-init at 10, 9 half boxes."""
    full, half = (0.0, 0.0, 10.0, 10.0), (0.0, 0.0, 10.0, 5.0)
    trajectory = [(1,)] + [full] * 4 + [(2,)] + [(0,)] * 4 + [(1,)] + [half] * 9
    return trajectory, [[0, 0, 10, 10]] * 20


def test_vot_run_with_failures_accuracy_and_robustness():
    trajectory, gt = _run_with_failure()
    assert len(trajectory) == 20
    assert vm.vot_failures(trajectory) == [5]
    overlaps = vm.vot_overlaps(trajectory, gt, burnin=3)
    # counted: frames 3, 4 (IoU 1) and 13..19 (IoU 0.5); 0-2 and 10-12 are burn-in
    counted = np.flatnonzero(~np.isnan(overlaps)).tolist()
    assert counted == [3, 4] + list(range(13, 20))
    assert vm.vot_accuracy([overlaps]) == pytest.approx((2 * 1.0 + 7 * 0.5) / 9)
    assert vm.vot_robustness(1, 20) == pytest.approx(5.0)
    # the standard 10-frame burn-in leaves no frame of this short run
    assert math.isnan(vm.vot_accuracy([vm.vot_overlaps(trajectory, gt, burnin=10)]))


def test_eao_fragments_and_expected_overlap():
    trajectory, gt = _run_with_failure()
    overlaps = vm.vot_overlaps(trajectory, gt)
    fragments = vm.eao_fragments(overlaps, vm.vot_failures(trajectory), skip=5)
    assert [(len(v), failed) for v, failed in fragments] == [(6, True), (10, False)]
    np.testing.assert_allclose(fragments[0][0], [0, 1, 1, 1, 1, 0])
    curve = vm.expected_overlap_curve(fragments, max_len=20)
    # Ns frames: the failed fragment's mean over frames 1..Ns-1 is min(Ns-1, 4) / (Ns-1);
    # the 10-frame fragment adds 0.5 up to Ns = 10; beyond, only the failed one counts
    first = [min(n - 1, 4) / (n - 1) for n in range(2, 21)]
    expected = [(f + 0.5) / 2 for f in first[:9]] + first[9:]
    assert len(curve) == 20 and curve[0] == 1.0
    np.testing.assert_allclose(curve[1:], expected)
    assert vm.expected_average_overlap(fragments, 20, (2, 10)) == pytest.approx(
        np.mean(expected[:9]))
    assert vm.expected_average_overlap(fragments, 20, (6, 6)) == pytest.approx((0.8 + 0.5) / 2)
    # an interval beyond the longest sequence has no defined point
    assert math.isnan(vm.expected_average_overlap(fragments, 20, (100, 356)))


def test_eao_failure_without_reinit_at_sequence_end():
    overlaps = [np.nan, 1.0, 1.0, 0.0]
    fragments = vm.eao_fragments(overlaps, [3], skip=5)
    assert len(fragments) == 1 and fragments[0][1]
    np.testing.assert_allclose(fragments[0][0], [0, 1, 1, 0])
