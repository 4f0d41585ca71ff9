"""RPN-family losses (spec §6 Loss, §7 Loss) on targets from `ops.rpn_labels`."""
import math

import numpy as np
import pytest
import torch

from siam_tracker_ros.ops.anchors import anchor_grid, anchor_sizes, class_channel
from siam_tracker_ros.ops.rpn_labels import (centerness_targets, dastsiam_targets,
                                             siamrpn_targets)
from siam_tracker_ros.ops.rpn_losses import (centerness_loss, dastsiam_loss, rpn_cls_loss,
                                             rpn_reg_loss, siamrpn_loss)

K, R, X = 5, 17, 255


def stacked(targets):
    """Batch tensors (labels, deltas, positive) from a list of `AnchorTargets`."""
    return tuple(torch.from_numpy(np.stack([getattr(t, name) for t in targets]))
                 for name in ('labels', 'deltas', 'positive'))


def siamrpn_batch():
    anchors = anchor_grid(anchor_sizes(), R, center=(X - 1) / 2)
    rng = np.random.default_rng(0)
    gts = [(127.0, 127.0, 64.0, 64.0), (150.0, 110.0, 40.0, 90.0)]
    return stacked([siamrpn_targets(gt, anchors, rng) for gt in gts])


def dastsiam_batch(x=287, r=25):
    anchors = anchor_grid(anchor_sizes((1.0,)), r, center=(x - 1) / 2)
    gts = [(143.0, 143.0, 80.0, 60.0), (160.0, 130.0, 50.0, 100.0)]
    labels, deltas, positive = stacked([dastsiam_targets(gt, anchors, x) for gt in gts])
    centreness = torch.from_numpy(np.stack([centerness_targets(gt, r, x) for gt in gts]))
    return labels, centreness[:, None], deltas, positive


def test_siamrpn_loss_is_finite_on_random_maps():  # §6 Loss
    labels, deltas, positive = siamrpn_batch()
    gen = torch.Generator().manual_seed(0)
    cls = torch.randn(2, 2 * K, R, R, generator=gen)
    reg = torch.randn(2, 4 * K, R, R, generator=gen)
    loss = siamrpn_loss(cls, reg, labels, deltas, positive)
    assert loss.ndim == 0 and torch.isfinite(loss)


def test_hand_computed_tiny_example():  # §6: 0.5·CE(pos) + 0.5·CE(neg) + 1.2·smooth-L1
    cls = torch.zeros(1, 2, 2, 2)  # k = 1, r = 2: flat index = cell i·2 + j
    cls[0, 1, 0, 0] = math.log(3)  # positive cell: p_fg = 3/4
    cls[0, 0, 1, 1] = math.log(3)  # negative cell: p_bg = 3/4; cell (0, 1) negative at 1/2
    cls[0, 1, 1, 0] = 5.0  # ignored cell
    labels = torch.tensor([[[[1, 0], [-1, 0]]]])
    reg = torch.zeros(1, 4, 2, 2)
    reg[0, :, 0, 0] = torch.tensor([0.05, -0.5, 0.0, 0.0])
    reg[0, :, 1, 1] = 7.0  # not positive: no regression loss
    deltas = torch.zeros(1, 4, 1, 2, 2)
    positive = labels == 1
    expected_cls = 0.5 * math.log(4 / 3) + 0.5 * (math.log(2) + math.log(4 / 3)) / 2
    expected_reg = 0.5 * 0.05 ** 2 * 9 + (0.5 - 0.5 / 9)  # |0.05| < β = 1/9 <= |−0.5|
    assert rpn_cls_loss(cls, labels).item() == pytest.approx(expected_cls)
    assert rpn_reg_loss(reg, deltas, positive).item() == pytest.approx(expected_reg)
    total = siamrpn_loss(cls, reg, labels, deltas, positive).item()
    assert total == pytest.approx(expected_cls + 1.2 * expected_reg)


def test_class_channels_follow_the_layout():  # RPN-3 in the loss
    labels = torch.full((1, K, 3, 3), -1)
    labels[0, 3, 1, 2] = 1
    cls = torch.zeros(1, 2 * K, 3, 3)
    cls[0, class_channel(1, 3, K), 1, 2] = 20.0  # confident and right
    assert rpn_cls_loss(cls, labels).item() < 1e-6
    cls[0, class_channel(0, 3, K), 1, 2] = 40.0  # now confidently wrong
    assert rpn_cls_loss(cls, labels).item() > 5


def test_zero_positives_gives_zero_regression_and_finite_gradients():
    labels = torch.zeros(2, K, R, R, dtype=torch.int64)
    positive = torch.zeros(2, K, R, R, dtype=torch.bool)
    cls = torch.randn(2, 2 * K, R, R, requires_grad=True)
    reg = torch.randn(2, 4 * K, R, R, requires_grad=True)
    assert rpn_reg_loss(reg, torch.zeros(2, 4, K, R, R), positive).item() == 0.0
    loss = siamrpn_loss(cls, reg, labels, torch.zeros(2, 4, K, R, R), positive)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(cls.grad).all()
    assert torch.count_nonzero(reg.grad) == 0


def descend(loss_fn, maps, steps=20, lr=0.5):
    """Plain gradient descent on the head maps themselves; returns the loss values."""
    maps = [m.clone().requires_grad_(True) for m in maps]
    values = []
    for _ in range(steps):
        loss = loss_fn(*maps)
        values.append(loss.item())
        grads = torch.autograd.grad(loss, maps)
        with torch.no_grad():
            for m, g in zip(maps, grads):
                m -= lr * g
    return values


def test_siamrpn_loss_falls_as_maps_move_toward_the_labels():
    labels, deltas, positive = siamrpn_batch()
    gen = torch.Generator().manual_seed(1)
    maps = [torch.randn(2, c * K, R, R, generator=gen) for c in (2, 4)]
    values = descend(lambda c, r: siamrpn_loss(c, r, labels, deltas, positive), maps)
    assert all(b < a for a, b in zip(values, values[1:]))
    assert values[-1] < 0.8 * values[0]


def test_dastsiam_loss_weights_and_descent():  # §7 Loss, λ = λ₁ = 1 by default
    labels, centreness, deltas, positive = dastsiam_batch()
    assert (labels[0] == 1).sum() == 13 and (labels == -1).sum() == 0
    gen = torch.Generator().manual_seed(2)
    maps = [torch.randn(2, c, 25, 25, generator=gen) for c in (2, 1, 4)]
    parts = (rpn_cls_loss(maps[0], labels), centerness_loss(maps[1], centreness),
             rpn_reg_loss(maps[2], deltas, positive))
    default = dastsiam_loss(*maps, labels, centreness, deltas, positive)
    weighted = dastsiam_loss(*maps, labels, centreness, deltas, positive, 2.0, 3.0)
    assert default.item() == pytest.approx(sum(p.item() for p in parts))
    assert weighted.item() == pytest.approx(3 * (2 * parts[0].item() + parts[1].item())
                                            + parts[2].item())
    values = descend(lambda c1, c2, r: dastsiam_loss(c1, c2, r, labels, centreness, deltas,
                                                     positive), maps)
    assert all(b < a for a, b in zip(values, values[1:]))


def test_centerness_loss_averages_bce_over_all_cells():  # §7 L_cls2
    logits = torch.tensor([[[[0.0, 2.0], [-1.0, 0.5]]]])
    target = torch.tensor([[[[0.0, 1.0], [0.25, 0.0]]]])
    by_hand = [math.log1p(math.exp(x)) - t * x
               for x, t in zip(logits.flatten().tolist(), target.flatten().tolist())]
    assert centerness_loss(logits, target).item() == pytest.approx(sum(by_hand) / 4)
