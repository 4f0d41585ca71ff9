"""RPN anchors, layout and decoder (spec §1.5): checks C6 / RPN-2, RPN-3, DAST-5, DAST-6."""
import math

import numpy as np
import pytest
import torch

from siam_tracker_ros.ops.anchors import (AnchorError, anchor_grid, anchor_sizes, cell_origin,
                                          class_channel, decode, delta_channel, encode,
                                          flat_index, split_channels, unflat_index)
from siam_tracker_ros.ops.crop import template_side
from siam_tracker_ros.trackers import rpn_decoder
from siam_tracker_ros.trackers.rpn_decoder import (anchor_window, clip_target,
                                                   dastsiam_confidence, dastsiam_probabilities,
                                                   deltas_from_map, foreground_probability,
                                                   size_penalty)

K, R = 5, 17
OTB = dict(penalty_k=0.22, window_influence=0.40, lr=0.30)  # §6 siamrpn `otb` preset


def logit(p):
    return math.log(p / (1 - p))


def random_boxes(rng, n):
    return np.column_stack([rng.uniform(-150, 150, (n, 2)), rng.uniform(5, 300, (n, 2))])


def test_anchor_table():  # C6 / RPN-2
    expected = [(104, 32), (88, 40), (64, 64), (40, 80), (32, 96)]
    assert anchor_sizes().tolist() == [list(map(float, size)) for size in expected]


def test_siamrpn_grid_has_1445_anchors_centred_on_the_crop():  # RPN-1 (anchor count)
    anchors = anchor_grid(anchor_sizes(), R).reshape(-1, 4)
    assert anchors.shape == (1445, 4)
    assert np.array_equal(np.unique(anchors[:, 0]), 8.0 * np.arange(-8, 9))


def test_encode_decode_round_trip():  # C6 / RPN-2
    rng = np.random.default_rng(0)
    anchors = anchor_grid(anchor_sizes(), R).reshape(-1, 4)
    boxes = random_boxes(rng, len(anchors))
    assert np.abs(decode(encode(boxes, anchors), anchors) - boxes).max() < 1e-6
    deltas = rng.normal(0, 0.5, size=anchors.shape)
    assert np.abs(encode(decode(deltas, anchors), anchors) - deltas).max() < 1e-6


def test_encode_of_the_anchor_itself_is_zero():
    anchors = anchor_grid(anchor_sizes(), R, center=127.0).reshape(-1, 4)
    assert np.array_equal(encode(anchors, anchors), np.zeros_like(anchors))


def test_dastsiam_single_anchor_grid_and_round_trip():  # DAST-5, §7 Anchors
    sizes = anchor_sizes(ratios=(1.0,), scales=(8.0,))
    assert sizes.tolist() == [[64.0, 64.0]]
    grid = anchor_grid(sizes, 25, center=(287 - 1) / 2)
    assert cell_origin(287, 25) == 47.0
    i, j = 3, 20
    assert grid[0, i, j].tolist() == [143 + 8 * (j - 12), 143 + 8 * (i - 12), 64.0, 64.0]
    rng = np.random.default_rng(1)
    anchors = grid.reshape(-1, 4)
    boxes = random_boxes(rng, len(anchors)) + [143, 143, 0, 0]
    assert np.abs(decode(encode(boxes, anchors), anchors) - boxes).max() < 1e-6


def test_channel_layout_decodes_class_and_anchor():  # RPN-3
    cls_map = np.zeros((2 * K, R, R))
    for cls in (0, 1):
        for a in range(K):
            cls_map[class_channel(cls, a, K)] = 1000 * cls + a
    flat = split_channels(cls_map, 2)
    for index in range(K * R * R):
        a, _, _ = unflat_index(index, R)
        assert flat[0, index] == a and flat[1, index] == 1000 + a


def test_regression_layout_and_torch_batches():  # RPN-3
    reg = torch.zeros(3, 4 * K, R, R)
    for d in range(4):
        for a in range(K):
            reg[:, delta_channel(d, a, K)] = 1000 * d + a
    flat = split_channels(reg, 4)
    assert flat.shape == (3, 4, K * R * R)
    a, i, j = 2, 5, 11
    assert flat[1, :, flat_index(a, i, j, R)].tolist() == [1000 * d + a for d in range(4)]


def test_flat_index_round_trips_and_matches_the_anchor_table():  # RPN-3
    indices = np.arange(K * R * R)
    a, i, j = unflat_index(indices, R)
    assert np.array_equal(flat_index(a, i, j, R), indices)
    anchors = anchor_grid(anchor_sizes(), R).reshape(-1, 4)
    assert np.array_equal(anchors[:, 0], 8.0 * (j - R // 2))
    assert np.array_equal(anchors[:, 1], 8.0 * (i - R // 2))
    assert np.array_equal(anchors[:, 2:], anchor_sizes()[a])


def one_hot_maps(a, i, j):
    cls_map = np.zeros((2 * K, R, R))
    cls_map[class_channel(1, a, K), i, j] = 10.0
    return cls_map, np.zeros((4 * K, R, R))


@pytest.mark.parametrize('a,i,j', [(0, 8, 8), (2, 3, 12), (4, 16, 0), (1, 0, 16)])
def test_one_hot_logit_moves_the_centre_by_its_cell(a, i, j):  # C6 / RPN-2
    size = (46.0, 71.0)
    scale_z = 127 / template_side(*size)
    cls_map, reg_map = one_hot_maps(a, i, j)
    out = rpn_decoder.decode(foreground_probability(cls_map), deltas_from_map(reg_map),
                             anchor_grid(anchor_sizes(), R).reshape(-1, 4),
                             anchor_window(R, K), size, scale_z,
                             penalty_k=0.0, window_influence=0.0, lr=0.30)
    assert out.best == flat_index(a, i, j, R)  # penalty_k 0: any anchor shape may win
    expected = ((j - R // 2) * 8 / scale_z, (i - R // 2) * 8 / scale_z)
    assert out.displacement == pytest.approx(expected, abs=1e-9)
    assert out.score == pytest.approx(1 / (1 + math.exp(-10)))


def test_penalty_is_one_only_at_the_current_size():  # C6 / RPN-2
    size, scale_z = (40.0, 90.0), 1.7
    same = np.array([[0, 0, 40 * 1.7, 90 * 1.7]])
    assert size_penalty(same, size, scale_z, 0.22) == pytest.approx([1.0], abs=1e-12)
    other = np.array([[0, 0, 40 * 1.7 * 1.3, 90 * 1.7], [0, 0, 60, 60]])
    assert np.all(size_penalty(other, size, scale_z, 0.22) < 1.0)


def test_decode_keeps_the_size_when_the_best_box_has_it():  # C6 penalty at equal size
    size, scale_z = (30.0, 80.0), 127 / template_side(30, 80)
    anchors = anchor_grid(anchor_sizes(), R).reshape(-1, 4)
    best = flat_index(3, 9, 7, R)  # the 40×80 anchor
    deltas = np.zeros_like(anchors)
    deltas[best, 2:] = np.log(np.array(size) * scale_z / anchors[best, 2:])
    p = np.full(len(anchors), 0.01)
    p[best] = 0.9
    out = rpn_decoder.decode(p, deltas, anchors, anchor_window(R, K), size, scale_z, **OTB)
    assert out.best == best and out.penalty == pytest.approx(1.0, abs=1e-12)
    assert out.size == pytest.approx(size, abs=1e-9)


def test_size_blend_uses_penalty_times_score_times_lr():  # §1.5 step 5
    size, scale_z = (50.0, 50.0), 1.25
    anchors = anchor_grid(anchor_sizes((1.0,)), 5).reshape(-1, 4)
    deltas = np.zeros_like(anchors)
    deltas[12] = [0.5, -0.25, np.log(1.5), 0.0]  # centre cell
    p = np.zeros(len(anchors))
    p[12] = 0.8
    out = rpn_decoder.decode(p, deltas, anchors, anchor_window(5, 1), size, scale_z, **OTB)
    box = np.array([32.0, -16.0, 96.0, 64.0]) / scale_z
    padded = [math.sqrt((w + (w + h) / 2) * (h + (w + h) / 2)) for w, h in [(96, 64), (62.5,) * 2]]
    s_c, r_c = padded[0] / padded[1], 1.5
    penalty = math.exp(-(r_c * s_c - 1) * OTB['penalty_k'])
    rate = penalty * 0.8 * OTB['lr']
    assert out.best == 12 and out.penalty == pytest.approx(penalty)
    assert out.displacement == pytest.approx(tuple(box[:2]))
    assert out.size == pytest.approx(tuple((1 - rate) * 50 + rate * box[2:]))


def test_window_favours_the_centre_between_equal_scores():  # §1.5 step 4
    anchors = anchor_grid(anchor_sizes(), R).reshape(-1, 4)
    p = np.full(len(anchors), 0.5)
    out = rpn_decoder.decode(p, np.zeros_like(anchors), anchors, anchor_window(R, K),
                             (64.0, 64.0), 1.0, **OTB)
    assert unflat_index(out.best, R) == (2, R // 2, R // 2)  # the 64×64 anchor, centre cell


def test_clip_target():  # §1.5 step 6
    assert clip_target((-5.0, 300.0), (3.0, 500.0), 320, 240) == ((0.0, 240.0), (10.0, 240.0))
    assert clip_target((100.0, 50.0), (40.0, 30.0), 320, 240) == ((100.0, 50.0), (40.0, 30.0))


@pytest.mark.parametrize('p,updates', [(0.6, True), (0.58, False)])
def test_dastsiam_update_gate(p, updates):  # DAST-6 (the gate; the tracker checks ST's inputs)
    r = 25
    cls1 = np.zeros((2, r, r))
    cls1[1] = logit(p)
    cls2 = np.full((1, r, r), logit(p))
    p1, p2 = dastsiam_probabilities(cls1, cls2)
    anchors = anchor_grid(anchor_sizes((1.0,)), r).reshape(-1, 4)
    out = rpn_decoder.decode((p1 + p2) / 2, np.zeros_like(anchors), anchors,
                             anchor_window(r, 1), (64.0, 64.0), 1.0,
                             penalty_k=0.05, window_influence=0.42, lr=0.38)
    gate = dastsiam_confidence(p1, p2, out.best)
    assert gate.confidence == pytest.approx(2 * p)
    assert gate.score == pytest.approx(p) == pytest.approx(out.score)
    assert gate.update is updates


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(AnchorError, match='positive'):
        anchor_sizes(ratios=(0.0, 1.0))
    with pytest.raises(AnchorError, match='not'):
        split_channels(np.zeros((3, R, R)), 2)
    anchors = anchor_grid(anchor_sizes(), R).reshape(-1, 4)
    with pytest.raises(AnchorError, match='must agree'):
        rpn_decoder.decode(np.zeros(10), np.zeros((10, 4)), anchors, anchor_window(R, K),
                           (10.0, 10.0), 1.0, **OTB)
