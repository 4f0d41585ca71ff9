"""siam_gam tracker (spec §4): registration, C8, GAM-6 (C9 with each subnet's embedding
stubbed), the multi-size decoder and tracker, siamfc weights as a warm start, the multi-size
training draw and one `siam-track train` step."""
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from siam_tracker_ros import build_tracker, tracker_names
from siam_tracker_ros.config import ConfigError
from siam_tracker_ros.models.siam_gam_net import SiamGAMNet
from siam_tracker_ros.models.weights import (PACKAGE_WEIGHTS_DIR, WeightsError, load_weights,
                                             save_weights)
from siam_tracker_ros.ops.crop import template_side
from siam_tracker_ros.ops.multisize import PAPER_TEST_SIZES
from siam_tracker_ros.profiling import count_macs
from siam_tracker_ros.registry import get_entry
from siam_tracker_ros.trackers.multisize import MultiSizePyramidTracker
from siam_tracker_ros.trackers.pyramid import ScalePyramidTracker
from siam_tracker_ros.trackers.siam_gam import build_net, rescale_pairs
from siam_tracker_ros.trackers.siamfc_decoder import (decode, decode_pairs, scale_factors,
                                                      upsample)
from siam_tracker_ros.training.config import TrainConfig
from siam_tracker_ros.training.objectives import logistic_pair_loss
from test_siamfc_tracker import AveragePoolStub, follow_patch   # the C9 stub of SFC-3

from tiny_data import siam_track, write_media, write_train_config

torch.set_num_threads(1)
SIAMFC_WEIGHTS = PACKAGE_WEIGHTS_DIR / 'siamfc_alexnet.pt'
SIAMFC_MOBILENET = PACKAGE_WEIGHTS_DIR / 'siamfc_mobilenetv2.pt'
PAPER_SIZES = [v for pair in PAPER_TEST_SIZES for v in pair]


@pytest.fixture(scope='module')
def crossing(sot_dir):
    return [cv2.imread(str(sot_dir / 'otb_Crossing' / 'img' / f'{i:04d}.jpg'))
            for i in range(1, 5)]


def stubbed(**options):
    tracker = build_tracker('siam_gam', **options)
    tracker.net.subnet_a.backbone = AveragePoolStub()
    tracker.net.subnet_b.backbone = AveragePoolStub()
    return tracker


# --- registration and config ------------------------------------------------------------------
def test_siam_gam_is_registered_and_built_from_its_config():
    assert 'siam_gam' in tracker_names()
    entry = get_entry('siam_gam')
    assert entry.weight_sources == ('siamfc',) and entry.config_path.name == 'siam_gam.yaml'
    tracker = build_tracker('siam_gam')
    assert isinstance(tracker, MultiSizePyramidTracker) and isinstance(tracker.net, SiamGAMNet)
    cfg = tracker.config
    assert (cfg.use_se, cfg.use_gam, cfg.use_fusion, cfg.subnets) == (True, True, True, 'AB')
    assert cfg.size_pairs == ((127, 255),) and tracker.net.stride == 8


def test_switches_reach_the_network():
    net = build_tracker('siam_gam', use_gam=False, use_fusion=False, subnets='A').net
    assert net.subnet_b is None and net.subnet_a.backbone.gam is None
    assert net.subnet_a.backbone.fusion is None
    assert build_tracker('siam_gam', test_sizes=[[127, 255], [191, 319]]).config.test_sizes == (
        127, 255, 191, 319)


@pytest.mark.parametrize('override,message', [
    (dict(test_sizes=[127, 255, 127, 263]), 'different response sizes'),
    (dict(test_sizes=[127, 250]), 'multiple of the stride'),
    (dict(test_sizes=[127]), 'pairs of positive ints'),
    (dict(test_sizes=[]), 'pairs of positive ints'),
    (dict(subnets='C'), "unknown subnets 'C'")])
def test_bad_config_values_raise(override, message):
    with pytest.raises(ConfigError, match=message):
        build_tracker('siam_gam', **override)


def test_other_backbones_and_pretrained_trunks_are_refused():
    config = build_tracker('siam_gam').config
    with pytest.raises(ValueError, match='SiamFC AlexNet'):
        build_net(config, 'vgg16')
    with pytest.raises(ValueError, match='no ImageNet-pretrained trunk'):
        build_net(config, None, Path('weights'))


# --- C8 ---------------------------------------------------------------------------------------


# --- GAM-6: C9 with each subnet's whole embedding stubbed -------------------------------------
@pytest.mark.parametrize('sizes', [[127, 255], PAPER_SIZES])
def test_stubbed_subnets_follow_noise_patch_on_grey(sizes):  # GAM-6 / C9
    rng = np.random.default_rng(0)
    tracker = stubbed(test_sizes=sizes)
    patch = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    steps = rng.uniform(-4.2, 4.2, size=(10, 2))  # <= 6 px per frame
    errors = follow_patch(tracker, np.full((240, 320, 3), 128, np.uint8), patch, (120, 80),
                          steps)
    assert errors.max() <= 4.0


# --- the multi-size decoder and tracker ---------------------------------------------------------
def bump_maps(peaks, cells, r=17):
    """One r×r map per (pair, scale): a sharp bump of height `peak` at cell (row, col)."""
    maps = np.full((len(peaks), r, r), -2.0, np.float32)
    for m, (peak, (row, col)) in enumerate(zip(peaks, cells)):
        maps[m, row, col] = peak
    return maps


DECODER = dict(scale_penalty=0.9745, window_influence=0.176, response_up=16, total_stride=8)


def test_decode_pairs_picks_the_pair_and_uses_its_geometry():  # spec §4 multi-size test
    factors = scale_factors(3, 1.0375)
    sides, sizes = [200.0, 200.0 * 319 / 191 * 127 / 255], [255, 319]
    # pair 0, scale 0 has the highest raw peak but is penalised (0.9745); pair 1's middle
    # scale (unpenalised) wins with 0.99; its bump sits 3 cells right, 2 cells up
    maps = bump_maps([1.0, 0.5, 0.2, 0.3, 0.99, 0.1], [(8, 8)] * 4 + [(6, 11), (8, 8)])
    decoded = decode_pairs(maps, factors, sides, sizes, **DECODER)
    assert (decoded.pair_index, decoded.scale_index) == (1, 1)
    assert decoded.raw_peak == pytest.approx(upsample(maps[4:5], 16).max())
    alone = decode(maps[3:6], factors, sides[1], instance_size=sizes[1], **DECODER)
    assert decoded.displacement == alone.displacement and decoded.peak == alone.peak
    cell = 8 * sides[1] / sizes[1]    # image px per response cell for pair 1
    assert np.allclose(decoded.displacement, (3 * cell, -2 * cell), atol=cell / 2)
    # the same bump in pair 0 (X = 255, s_x = 200) moves the target by a different amount
    swapped = decode_pairs(np.concatenate([maps[3:], maps[:3]]), factors, sides[::-1],
                           sizes[::-1], **DECODER)
    assert swapped.pair_index == 0 and swapped.displacement == decoded.displacement
    with pytest.raises(ValueError, match='do not match'):
        decode_pairs(maps[:5], factors, sides, sizes, **DECODER)


def test_one_size_is_scale_pyramid_tracker_exactly(crossing):
    tracker = build_tracker('siam_gam', seed=3)
    reference = ScalePyramidTracker(tracker.config, tracker.net, tracker.path,
                                    tracker.input_format)
    reference.name = 'siam_gam'
    runs = []
    for each in (tracker, reference):
        each.init(crossing[0], (204, 150, 17, 50))
        runs.append([(each.track(f), each.state.s_x) for f in crossing[1:4]])
    assert runs[0] == runs[1]


def test_multi_size_tracker_crops_and_kernels_per_pair(crossing):  # spec §4 multi-size test
    tracker = stubbed(test_sizes=PAPER_SIZES)
    tracker.init(crossing[0], (204, 150, 17, 50))
    s_z = template_side(17, 50, 0.5)
    assert [k[0].shape[-1] for k in tracker.state.kernel] == [15, 23, 31]   # Q1 / 8 (stub)
    assert np.allclose(tracker.search_sides(), [s_z * q2 / q1 for q1, q2 in PAPER_TEST_SIZES])
    crops = tracker.search_crops(cv2.cvtColor(crossing[1], cv2.COLOR_BGR2RGB))
    assert [c.shape for c in crops] == [(3, q2, q2, 3) for _, q2 in PAPER_TEST_SIZES]
    assert tracker.responses(crops).shape == (9, 17, 17)


def test_multi_size_frame_macs_sum_over_pairs(crossing):  # spec §4 Compute
    trackers = [build_tracker('siam_gam', test_sizes=s) for s in ([127, 255], PAPER_SIZES)]
    for each in trackers:
        each.init(crossing[0], (204, 150, 17, 50))
    single, triple = (each.frame_macs(crossing[1]) for each in trackers)
    assert single == pytest.approx(3 * 5.57e9, rel=0.005)     # 16.7 GMACs at 3 scales
    net = trackers[0].net
    search = [sum(count_macs(sub.backbone, torch.zeros(3, 3, q2, q2))
                  for sub in net.active_subnets()) for _, q2 in PAPER_TEST_SIZES]
    assert triple == pytest.approx(sum(search), rel=0.002)    # + the xcorr heads


# --- weights ----------------------------------------------------------------------------------
def test_siamfc_alexnet_weights_initialise_both_subnets(crossing):
    seeded = build_tracker('siam_gam').net
    warm = build_tracker('siam_gam', weights=SIAMFC_WEIGHTS).net
    state = {k: v.float() for k, v in load_weights(SIAMFC_WEIGHTS)['state_dict'].items()}
    conv1 = state['backbone.conv1.0.0.weight']
    assert torch.equal(warm.subnet_a.backbone.alexnet.conv1[0][0].weight, conv1)
    assert torch.equal(warm.subnet_b.backbone.conv1[0][0].weight, conv1)
    assert torch.equal(warm.subnet_b.adjust_bias, state['adjust_bias'])
    for name in ('subnet_a.backbone.gam', 'subnet_a.backbone.fusion', 'subnet_b.backbone.se5'):
        new, old = warm.get_submodule(name), seeded.get_submodule(name)
        assert all(torch.equal(a, b) for a, b in zip(new.state_dict().values(),
                                                     old.state_dict().values()))
    # subnet A alone without fusion and GAM is SiamFC: the same boxes as siamfc
    runs = []
    for tracker in (build_tracker('siam_gam', weights=SIAMFC_WEIGHTS, subnets='A',
                                  use_fusion=False, use_gam=False),
                    build_tracker('siamfc', weights=SIAMFC_WEIGHTS)):
        tracker.init(crossing[0], (204, 150, 17, 50))
        runs.append([tracker.track(f) for f in crossing[1:4]])
    assert runs[0] == runs[1]


def test_siamfc_weights_of_another_backbone_are_refused(tmp_path):
    state = load_weights(SIAMFC_MOBILENET)['state_dict']
    path = save_weights(tmp_path / 'lite0.pt', state, 'siamfc', 'efficientnet_lite0')
    with pytest.raises(ValueError, match="not 'efficientnet_lite0'"):
        build_tracker('siam_gam', weights=path)


# --- training -------------------------------------------------------------------------------
def blob(size, center, sigma=3.0):
    yy, xx = np.mgrid[:size, :size]
    return np.exp(-((xx - center[0]) ** 2 + (yy - center[1]) ** 2) / (2 * sigma ** 2))


@pytest.mark.parametrize('delta', [8, 64, 128])
def test_rescaled_pairs_keep_target_and_pixel_scale(delta):  # spec §4 multi-size training
    centers = [(119.0, 119.0), (131.5, 104.0)]
    x = torch.from_numpy(np.stack([blob(239, c)[None].repeat(3, 0) for c in centers])).float()
    z = torch.from_numpy(blob(127, (63.0, 63.0), 6.0)[None, None].repeat(2, 0)).float()
    targets = np.array([[cx, cy, 40.0, 30.0] for cx, cy in centers])
    z2, x2, t2 = rescale_pairs(z, x, targets, 127 + delta, 239 + delta)
    assert z2.shape[-1] == 127 + delta and x2.shape[-1] == 239 + delta
    gain = (127 + delta) / 127
    assert np.allclose(t2[:, 2:], targets[:, 2:] * gain, rtol=0.01)
    for image, (cx, cy) in zip(x2[:, 0].numpy(), t2[:, :2]):
        row, col = np.unravel_index(np.argmax(image), image.shape)
        assert abs(col - cx) <= 1.0 and abs(row - cy) <= 1.0
    centre = (238 + delta) / 2
    assert np.allclose(t2[0, :2], centre)
    assert rescale_pairs(z, x, targets, 127, 239)[1] is x


@pytest.mark.parametrize('multi_size', [True, False])
def test_multi_size_training_switch_decides_the_loss_pairs(multi_size):
    """The batch carries its drawn size pair; the loss rescales to it only when the
    tracker's `multi_size_training` is on (else it trains at 127 / 239)."""
    rng = np.random.default_rng(0)
    z = torch.from_numpy(rng.uniform(0, 255, (2, 3, 127, 127))).float()
    x = torch.from_numpy(rng.uniform(0, 255, (2, 3, 239, 239))).float()
    targets = np.array([[119.0, 119.0, 40.0, 30.0], [125.0, 110.0, 30.0, 40.0]])
    batch = (z, x, targets, np.tile([191, 303], (2, 1)))
    train = TrainConfig(name='t', tracker='siam_gam',
                        tracker_settings={'multi_size_training': multi_size})
    net = build_net(build_tracker('siam_gam').config)
    pairs = rescale_pairs(z, x, targets, 191, 303) if multi_size else (z, x, targets)
    assert torch.equal(get_entry('siam_gam').objective.loss(net, batch, train),
                       logistic_pair_loss(net, pairs, train))


def test_one_siam_track_train_step_writes_loadable_weights(tmp_path):
    write_media(tmp_path)
    config = write_train_config(tmp_path, name='gam', tracker='siam_gam', pairs_per_epoch=4,
                                optimizer=None, lr_start=None, lr_end=None)
    siam_track('train', '--config', str(config), '--no-progress')
    weights = tmp_path / 'runs' / 'gam' / 'best_weights.pt'
    assert load_weights(weights)['tracker'] == 'siam_gam'
    trained = build_tracker('siam_gam', weights=weights)
    seeded = build_tracker('siam_gam')
    assert not torch.equal(trained.net.subnet_b.backbone.conv1[0][0].weight,
                           seeded.net.subnet_b.backbone.conv1[0][0].weight)
    with pytest.raises(WeightsError, match='not usable by siamfc'):
        build_tracker('siamfc', weights=weights)


def test_siamfc_file_with_a_foreign_key_is_refused(tmp_path):
    payload = load_weights(SIAMFC_WEIGHTS)
    state = dict(payload['state_dict'], **{'backbone.extra.weight': torch.zeros(3)})
    path = save_weights(tmp_path / 'odd.pt', state, 'siamfc', 'alexnet')
    with pytest.raises(WeightsError, match="'backbone.extra.weight' has no place in siam_gam"):
        build_tracker('siam_gam', weights=path)


def test_bf16_path_agrees_with_fp32_on_first_step(crossing):
    """The reduced-precision calibration walks every block, the layer fusion (which takes a
    tuple of maps) included."""
    boxes = []
    for precision in ('fp32', 'bf16'):
        tracker = build_tracker('siam_gam', precision=precision)
        tracker.init(crossing[0], (204, 150, 17, 50))
        boxes.append(np.array(tracker.track(crossing[1]).box))
    assert np.abs(boxes[0] - boxes[1]).max() < 1.5
