"""siamrpn and dastsiam trackers (spec §1.5, §6, §7): registration and build, the interface
(C8), the one-hot step through the whole tracker (C6), the DAST-6 update gate on the real
tracker, DAST-8, a siamrpn training smoke test on a fixed batch, and `siam-track train`."""
import dataclasses
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from siam_tracker_ros import build_tracker, tracker_names
from siam_tracker_ros.config import ConfigError
from siam_tracker_ros.data.augment import AugmentConfig
from siam_tracker_ros.data.media import SkipCounter
from siam_tracker_ros.models.dastsiam_net import DASTSiamNet
from siam_tracker_ros.models.siamrpn_net import SiamRPNNet
from siam_tracker_ros.build import load_into
from siam_tracker_ros.models.weights import (IMAGENET_INPUT, PACKAGE_WEIGHTS_DIR, InputFormat,
                                             WeightsError, load_weights)
from siam_tracker_ros.ops.rpn_labels import dastsiam_targets
from siam_tracker_ros.ops.rpn_losses import (centerness_loss, rpn_cls_loss, rpn_reg_loss,
                                             siamrpn_loss)
from siam_tracker_ros.registry import get_entry
from siam_tracker_ros.trackers.dastsiam import DASTSiamTracker
from siam_tracker_ros.trackers.rpn import RPNTracker
from siam_tracker_ros.training.config import (DataConfig, TrainConfig, TrainConfigError,
                                             load_train_config)
from siam_tracker_ros.training.data import batch_rngs, build_mixture
from siam_tracker_ros.training.models import INPUT_FORMATS, build_net
from siam_tracker_ros.training.rpn_objectives import (dastsiam_batch_targets, search_anchors,
                                                      stacked)
from siam_tracker_ros.training.trainer import Trainer

from tiny_data import siam_track, write_media, write_train_config

TRACKERS = ('siamrpn', 'dastsiam')


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


def crossing(count):
    """The first `count` frames of the real otb_Crossing sequence (RGB) and its first box."""
    root = Path(__file__).resolve().parents[2].parent / 'shared/data/sot/otb_Crossing/img'
    frames = [cv2.cvtColor(cv2.imread(str(root / f'{i:04d}.jpg')), cv2.COLOR_BGR2RGB)
              for i in range(1, count + 1)]
    return frames, (204, 150, 17, 50)


def test_both_trackers_are_registered_and_built():
    assert set(TRACKERS) <= set(tracker_names())
    siamrpn = build_tracker('siamrpn')
    assert type(siamrpn) is RPNTracker and isinstance(siamrpn.net, SiamRPNNet)
    assert siamrpn.config.backbone == 'alexnet' and siamrpn.config.num_anchors == 5
    mobile = build_tracker('siamrpn', backbone='mobilenetv2')
    assert isinstance(mobile.net.backbone, torch.nn.Module) and mobile.net.stride == 8
    dast = build_tracker('dastsiam')
    assert isinstance(dast, DASTSiamTracker) and isinstance(dast.net, DASTSiamNet)
    assert dast.config.instance_size == 287 and dast.config.num_anchors == 1
    ablated = build_tracker('dastsiam', trunk='mobilenetv2', use_st=False, use_da=False)
    assert ablated.net.encoder is None and ablated.net.decoder is None


def test_bad_config_values_raise_clear_errors():
    with pytest.raises(ConfigError, match='backbone'):
        build_tracker('siamrpn', backbone='vgg99')
    with pytest.raises(ConfigError, match='trunk'):
        build_tracker('dastsiam', trunk='resnet18')
    with pytest.raises(ConfigError, match='window_influence'):
        build_tracker('siamrpn', window_influence=1.5)
    with pytest.raises(ConfigError, match='hold_score'):
        build_tracker('dastsiam', hold_score=1.0)


def test_dastsiam_runs_at_bf16_next_to_fp32():  # the calibration measures two-input blocks
    frames, box = crossing(3)
    boxes = []
    for precision in ('fp32', 'bf16'):
        tracker = build_tracker('dastsiam', trunk='mobilenetv2', precision=precision)
        tracker.init(frames[0], box)
        boxes.append([tracker.track(f).box for f in frames[1:]])
    assert np.abs(np.subtract(*boxes)).max() < 1.0


class OneHotUpChannel(torch.nn.Module):
    """Stands in for the siamrpn head: foreground logit 10 at anchor a, cell (i, j); zero
    deltas; maps of the size the real head gives (search features − 5)."""

    def __init__(self, anchor, row, col, anchors=5):
        super().__init__()
        self.anchor, self.row, self.col, self.k = anchor, row, col, anchors

    def kernels(self, z_features):
        return z_features

    def forward(self, kernels, features):
        side = features.size(-1) - 5
        cls = torch.zeros(features.size(0), 2 * self.k, side, side)
        cls[:, self.k + self.anchor, self.row, self.col] = 10.0
        return cls, torch.zeros(features.size(0), 4 * self.k, side, side)


@pytest.mark.parametrize('anchor, row, col', [(2, 8, 8), (0, 5, 11), (4, 12, 3)])
def test_one_hot_logit_moves_the_tracker_by_its_cell(anchor, row, col):  # C6 in the tracker
    frames, box = crossing(2)
    tracker = build_tracker('siamrpn', window_influence=0.0, penalty_k=0.0, backend='eager')
    tracker.net.rpn = OneHotUpChannel(anchor, row, col)
    tracker.init(frames[0], box)
    center, size = tracker.state.center.copy(), tracker.state.size.copy()
    scale_z = 127 / math.sqrt((size[0] + size.sum() / 2) * (size[1] + size.sum() / 2))
    tracker.track(frames[1])
    expected = center + np.array([col - 8, row - 8]) * 8 / scale_z
    np.testing.assert_allclose(tracker.state.center, expected, atol=1e-9)
    p = 1 / (1 + math.exp(-10))   # softmax(10, 0); penalty 1 at k = 0; lr from the config
    rate = p * tracker.config.lr
    anchor_size = tracker.sizes[anchor] / scale_z
    np.testing.assert_allclose(tracker.state.size, (1 - rate) * size + rate * anchor_size)


@pytest.mark.parametrize('hold_score, moves', [(0.99999, False), (0.9999, True)])
def test_below_hold_score_the_target_keeps_place_and_size(hold_score, moves):
    """p = softmax(10, 0) = 0.99995: held below a hold_score above it, moved below it."""
    frames, box = crossing(2)
    tracker = build_tracker('siamrpn', window_influence=0.0, penalty_k=0.0, backend='eager',
                            hold_score=hold_score)
    tracker.net.rpn = OneHotUpChannel(2, 5, 11)
    tracker.init(frames[0], box)
    center, size = tracker.state.center.copy(), tracker.state.size.copy()
    result = tracker.track(frames[1])
    assert result.score == pytest.approx(1 / (1 + math.exp(-10)))
    moved = np.abs(tracker.state.center - center).max() > 1
    assert moved == moves and (np.array_equal(tracker.state.size, size) != moves)
    if not moves:
        np.testing.assert_allclose(result.box, box)


class ConstantDastHead(torch.nn.Module):
    """Stands in for the DASTSiam head: p₁ = p₂ = p in every cell, zero deltas (25×25 maps for
    36×36 search features)."""

    def __init__(self, p):
        super().__init__()
        self.logit = math.log(p / (1 - p))

    def forward(self, kernel, features):
        batch, side = features.size(0), features.size(-1) - 11
        cls1 = torch.zeros(batch, 2, side, side)
        cls1[:, 1] = self.logit
        return (cls1, torch.full((batch, 1, side, side), self.logit),
                torch.zeros(batch, 4, side, side))


def gated_tracker(p, **options):
    """dastsiam (MobileNetV2 trunk, eager so `net` is the module that runs) with a constant
    head and a record of every `fuse_templates` call."""
    tracker = build_tracker('dastsiam', trunk='mobilenetv2', backend='eager', **options)
    tracker.net.rpn = ConstantDastHead(p)
    calls, fuse = [], tracker.net.fuse_templates

    def recording_fuse(f_i, f_a, f_c):
        calls.append((f_i, f_a, f_c))
        return fuse(f_i, f_a, f_c)

    tracker.net.fuse_templates = recording_fuse
    return tracker, calls


def test_confident_frame_updates_the_template_from_the_previous_one():  # DAST-6, c = 1.2
    frames, box = crossing(3)
    tracker, calls = gated_tracker(0.6)
    tracker.init(frames[0], box)
    assert len(calls) == 1   # template(z₁) = ST(f_i, f_i, f_i)
    first, kernels = tracker.state.first, [tracker.state.kernel]
    for frame in frames[1:]:
        result = tracker.track(frame)
        assert result.score == pytest.approx(0.6, abs=1e-6)   # c / 2
        f_i, f_a, f_c = calls[-1]
        assert f_i is first and f_a is kernels[-1]
        crop = tracker.exemplar_crop(frame, tracker.state.center, tracker.state.size,
                                     tracker.state.pad_color)
        torch.testing.assert_close(f_c, tracker.embed(crop))   # z_t at the new box
        assert not torch.equal(tracker.state.kernel, kernels[-1])
        kernels.append(tracker.state.kernel)
    assert len(calls) == 3


@pytest.mark.parametrize('p, options', [(0.58, {}), (0.6, {'template_update': False})])
def test_no_update_below_the_gate_or_when_switched_off(p, options):  # DAST-6, c = 1.16
    frames, box = crossing(3)
    tracker, calls = gated_tracker(p, **options)
    tracker.init(frames[0], box)
    kernel = tracker.state.kernel
    for frame in frames[1:]:
        tracker.track(frame)
    assert len(calls) == 1 and tracker.state.kernel is kernel


def tiny_mixture(tmp_path, search_size):
    write_media(tmp_path)
    data = DataConfig(cache_dir=str(tmp_path), synthetic=1.0,
                      augment=AugmentConfig(search_size=search_size, search_shift=32.0,
                                            search_scale=0.18))
    return build_mixture(data, SkipCounter())


def test_dastsiam_training_step_on_cpu_gives_finite_losses(tmp_path):  # DAST-8
    train = TrainConfig(name='dast8', tracker='dastsiam', device='cpu')
    torch.manual_seed(0)
    net = build_net(train).train()
    objective = get_entry('dastsiam').objective
    batch = objective.make_batch(tiny_mixture(tmp_path, 287), batch_rngs((0,), range(2)),
                                 IMAGENET_INPUT, torch.device('cpu'))
    z, z_a, z_c, x, targets = batch
    assert not torch.equal(z_a, z_c) or not torch.equal(z, z_a)   # the templates are noised
    torch.manual_seed(5)   # the same dropout masks in both forward passes
    cls1, cls2, reg = net(z, x, z_a, z_c)
    labels, centerness, deltas, positive = dastsiam_batch_targets(net, train, cls1, x, targets)
    terms = [rpn_cls_loss(cls1, labels), centerness_loss(cls2, centerness),
             rpn_reg_loss(reg, deltas, positive)]
    assert all(torch.isfinite(t) for t in terms) and int(positive.sum()) > 0
    torch.manual_seed(5)
    loss = objective.loss(net, batch, train)
    torch.testing.assert_close(loss, sum(terms))
    loss.backward()
    grads = [p.grad for p in net.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


def test_dastsiam_iou_labels_ablation_changes_only_cls1_labels(tmp_path):  # issue 12 ablation
    torch.manual_seed(0)
    centre = TrainConfig(name='dast', tracker='dastsiam', device='cpu')
    iou = TrainConfig(name='dast', tracker='dastsiam', device='cpu', rpn_labels='iou')
    net = build_net(centre).eval()
    batch = get_entry('dastsiam').objective.make_batch(
        tiny_mixture(tmp_path, 287), batch_rngs((0,), range(2)), IMAGENET_INPUT,
        torch.device('cpu'))
    z, z_a, z_c, x, targets = batch
    with torch.no_grad():
        cls1 = net(z, x, z_a, z_c)[0]
    by_centre = dastsiam_batch_targets(net, centre, cls1, x, targets)
    by_iou = dastsiam_batch_targets(net, iou, cls1, x, targets)
    assert set(by_centre[0].unique().tolist()) <= {0, 1}
    assert -1 in by_iou[0].unique().tolist()                  # SiamRPN's ignore band
    assert torch.equal(by_centre[1], by_iou[1])               # centre-ness unchanged
    with torch.no_grad():
        assert math.isfinite(float(get_entry('dastsiam').objective.loss(net, batch, iou)))
    with pytest.raises(TrainConfigError, match='rpn_labels'):
        TrainConfig(name='dast', tracker='dastsiam', rpn_labels='gaussian')


def test_siamrpn_centre_labels_ablation_trains_on_dastsiam_labels(tmp_path):
    """`rpn_labels: centre` gives siamrpn §7's labels: the loss is siamrpn's loss on
    `dastsiam_targets` for every anchor (no ignore band), not on the IoU labels."""
    torch.manual_seed(0)
    iou = TrainConfig(name='rpn', tracker='siamrpn', device='cpu')
    centre = dataclasses.replace(iou, rpn_labels='centre')
    net = build_net(iou).eval()
    objective = get_entry('siamrpn').objective
    batch = objective.make_batch(tiny_mixture(tmp_path, 255), batch_rngs((0,), range(2)),
                                 InputFormat(), torch.device('cpu'))
    z, x, targets, negative, _ = batch
    assert not any(negative)
    with torch.no_grad():
        cls, reg = net(z, x)
        anchors = search_anchors(iou, cls.size(-1), x.size(-1), net.stride)
        labels, deltas, positive = stacked(
            [dastsiam_targets(gt, anchors, x.size(-1), net.stride) for gt in targets], 'cpu')
        expected = siamrpn_loss(cls, reg, labels, deltas, positive)
        assert set(labels.unique().tolist()) == {0, 1} and int(positive.sum()) >= 5
        torch.testing.assert_close(objective.loss(net, batch, centre), expected)
        assert abs(float(objective.loss(net, batch, iou)) - float(expected)) > 1e-3


def test_siamrpn_loss_falls_on_a_fixed_batch(tmp_path):  # issue 12: training smoke test
    train = TrainConfig(name='smoke', tracker='siamrpn', device='cpu')
    torch.manual_seed(0)
    net = build_net(train).train()
    objective = get_entry('siamrpn').objective
    batch = objective.make_batch(tiny_mixture(tmp_path, 255), batch_rngs((1,), range(2)),
                                 InputFormat(), torch.device('cpu'))   # raw 0–255 (§1.2)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-5)
    losses = []
    for _ in range(8):
        loss = objective.loss(net, batch, train)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert all(math.isfinite(v) for v in losses)
    assert losses[-1] < 0.5 * losses[0], losses


@pytest.mark.parametrize('name, backbone, search, pixels', [
    ('siamrpn', 'alexnet', 255, 'raw'), ('dastsiam', 'mobilenetv2', 287, 'imagenet')])
def test_one_siam_track_train_step_writes_loadable_weights(tmp_path, name, backbone, search,
                                                           pixels):
    write_media(tmp_path)
    config = write_train_config(tmp_path, name=name, tracker=name, backbone=backbone,
                                input=pixels, data={'augment': {'search_size': search}})
    siam_track('train', '--config', str(config), '--no-progress')
    weights = tmp_path / 'runs' / name / 'best_weights.pt'
    tracker = build_tracker(name, weights=weights)
    assert tracker.weights_path == str(weights) and tracker.input_format == INPUT_FORMATS[pixels]
    # the step trained: parameters moved from the network the run started from (rebuilt by
    # the same seeded Trainer; fp16 in the file). BN statistics move without a step: not them.
    start = Trainer(load_train_config(config), out_dir=tmp_path / 'start', progress=False).net
    trained = tracker.net.state_dict()
    assert any(not torch.equal(trained[k], v.detach().half().float())
               for k, v in start.named_parameters())
    frames, box = crossing(2)
    tracker.init(frames[0], box)
    assert 0.0 <= tracker.track(frames[1]).score <= 1.0


@pytest.mark.parametrize('path', sorted(Path(__file__).resolve().parents[2].glob(
    'config/train/*rpn*.yaml')) + sorted(Path(__file__).resolve().parents[2].glob(
        'config/train/dastsiam*.yaml')), ids=lambda p: p.stem)
def test_training_configs_load_and_build_their_network(path):
    config = load_train_config(path)
    assert config.tracker in TRACKERS and config.name == path.stem
    net = build_net(dataclasses.replace(config, pretrained=False))   # no trunk file here
    frozen = [p for p in net.parameters() if not p.requires_grad]
    assert bool(frozen) == config.freeze_trunk


def test_bench_takes_a_tracker_config(tmp_path):  # issue 12 speed table at search size 287
    source = (Path(__file__).resolve().parents[2] / 'config' / 'siamrpn.yaml').read_text()
    config = tmp_path / 'siamrpn_287.yaml'
    config.write_text(source.replace('instance_size: 255', 'instance_size: 287'))
    printed = siam_track('bench', '--tracker', 'siamrpn', '--weights', 'none', '--threads', '1',
                         '--frames', '2', '--paths', 'fused/fp32', '--config', str(config))
    frames, box = crossing(2)
    flops = {}
    for side in (255, 287):
        tracker = build_tracker('siamrpn', instance_size=side)
        tracker.init(frames[0], box)
        flops[side] = 2.0 * tracker.frame_macs(frames[1]) / 1e9
    assert flops[287] > flops[255] * 1.2
    assert f'network FLOP per frame: {flops[287]:.1f} G' in printed


def test_siamrpn_starts_from_siamfc_weights_of_its_backbone():
    """The trunk and neck of a siamfc MobileNetV2 file, the RPN head at its own init; a siamfc
    file of another backbone does not fit."""
    entry = get_entry('siamrpn')
    siamfc = PACKAGE_WEIGHTS_DIR / 'siamfc_mobilenetv2.pt'
    net = build_tracker('siamrpn', backbone='mobilenetv2').net      # seeded: the same init
    fresh = build_tracker('siamrpn', backbone='mobilenetv2').net.state_dict()
    load_into(entry, net, siamfc)
    source, state = load_weights(siamfc)['state_dict'], net.state_dict()
    backbone = [k for k in state if k.startswith('backbone.')]
    assert backbone and all(torch.equal(state[k], source[k].to(state[k].dtype)) for k in backbone)
    assert all(torch.equal(state[k], fresh[k]) for k in state if k.startswith('rpn.'))
    with pytest.raises(WeightsError, match='does not fit'):
        load_into(entry, build_tracker('siamrpn', backbone='alexnet').net,
                  PACKAGE_WEIGHTS_DIR / 'siamfc_alexnet.pt')
    with pytest.raises(WeightsError, match='start the training of siamrpn'):
        build_tracker('siamrpn', weights=siamfc)      # its head would be untrained


def test_dastsiam_starts_from_siamfc_weights_of_its_trunk():
    """dastsiam's MobileNetV2 configuration takes a siamfc file's trunk and neck the same way
    (its own neck, ST, DA and head at their init); the ResNet-50 one does not fit, and no
    dastsiam tracks with a siamfc file."""
    entry = get_entry('dastsiam')
    siamfc = PACKAGE_WEIGHTS_DIR / 'siamfc_mobilenetv2.pt'
    net = build_tracker('dastsiam', trunk='mobilenetv2').net
    fresh = build_tracker('dastsiam', trunk='mobilenetv2').net.state_dict()
    load_into(entry, net, siamfc)
    source, state = load_weights(siamfc)['state_dict'], net.state_dict()
    backbone = [k for k in state if k.startswith('backbone.')]
    assert backbone and all(torch.equal(state[k], source[k].to(state[k].dtype)) for k in backbone)
    others = [k for k in state if not k.startswith('backbone.')]
    assert others and all(torch.equal(state[k], fresh[k]) for k in others)
    with pytest.raises(WeightsError, match='does not fit'):
        load_into(entry, build_tracker('dastsiam').net, siamfc)
    with pytest.raises(WeightsError, match='start the training of dastsiam'):
        build_tracker('dastsiam', weights=siamfc)
