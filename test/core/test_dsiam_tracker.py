"""dsiam as a registered tracker (spec §3): registry and build, C8, the C9 stub motion test
with the transforms on, DS-5 on the real tracker, SiamFC weights, the composition check
against siamfc, clips and one `siam-track train` step."""
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from siam_tracker_ros import build_tracker, tracker_names
from siam_tracker_ros.config import ConfigError
from siam_tracker_ros.data.media import SkipCounter
from siam_tracker_ros.datasets.otb import read_otb
from siam_tracker_ros.models.dsiam_net import DSiamNet
from siam_tracker_ros.models.weights import WeightsError, load_weights, save_weights
from siam_tracker_ros.ops.crop import template_side
from siam_tracker_ros.registry import get_entry
from siam_tracker_ros.trackers.dsiam import DSiamTracker, build_dsiam_net
from siam_tracker_ros.training.clips import NoClipSourceError, draw_clip
from siam_tracker_ros.training.config import (DataConfig, DatasetSpec, TrainConfig,
                                              TrainConfigError, load_train_config)
from siam_tracker_ros.training.data import build_mixture
from siam_tracker_ros.training.models import build_net

from test_siamfc_tracker import follow_patch
from tiny_data import siam_track, write_media, write_otb, write_train_config

REPO = Path(__file__).resolve().parents[2]
SIAMFC_ALEXNET = REPO / 'siam_tracker_ros' / 'weights' / 'siamfc_alexnet.pt'
SIAMFC_MOBILENET = REPO / 'siam_tracker_ros' / 'weights' / 'siamfc_mobilenetv2.pt'
PAPER = {'layers': ['conv4', 'conv5']}   # DSiamM on AlexNet (the config's default is [neck])


def read_sequence(sot_dir, name, count):
    """The first `count` RGB frames of a dev sequence and their 0-based xywh boxes."""
    sequence = next(s for s in read_otb(sot_dir) if s.name == name)
    frames = [cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
              for path in sequence.frames[:count]]
    return frames, sequence.boxes[:count]


def iou(a, b):
    w = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return w * h / (a[2] * a[3] + b[2] * b[3] - w * h)


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    """One torch thread: the test machine is shared."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='module')
def crossing(sot_dir):
    return read_sequence(sot_dir, 'otb_Crossing', 21)


# --- registry and build ---------------------------------------------------------------------
def test_dsiam_is_registered_and_built():
    assert 'dsiam' in tracker_names()
    entry = get_entry('dsiam')
    assert entry.weight_sources == ('siamfc',) and entry.tracker_class is DSiamTracker
    tracker = build_tracker('dsiam', **PAPER)
    assert isinstance(tracker, DSiamTracker) and isinstance(tracker.net, DSiamNet)
    assert tracker.net.layers == ('conv4', 'conv5') and tracker.net.fusion.shape == (17, 17)
    assert (tracker.net.alpha_v, tracker.net.alpha_w) == (0.49, 0.29)
    single = build_tracker('dsiam', layers=['conv5'], alpha_v=1.0)
    assert single.net.layers == ('conv5',) and single.net.fusion is None
    assert single.net.alpha_v == 1.0


def test_bad_settings_and_backbones_are_clear_errors():
    with pytest.raises(ConfigError, match='layers'):
        build_tracker('dsiam', layers=['conv3'])
    with pytest.raises(ConfigError, match='alpha_w'):
        build_tracker('dsiam', alpha_w=1.5)
    with pytest.raises(ValueError, match='AlexNet'):
        build_dsiam_net(build_tracker('dsiam', **PAPER).config, 'mobilenetv2')
    with pytest.raises(ValueError, match='AlexNet'):   # SiamFC weights on another backbone
        build_tracker('dsiam', weights=SIAMFC_MOBILENET, **PAPER)
    with pytest.raises(ValueError, match='pretrained trunk'):   # the trunk's layer on AlexNet
        build_tracker('dsiam', weights=SIAMFC_ALEXNET, layers=['neck'])
    with pytest.raises(ConfigError, match='neck'):
        build_tracker('dsiam', layers=['neck', 'conv5'])


# --- C8 -------------------------------------------------------------------------------------


# --- C9 with the transforms on --------------------------------------------------------------
class MeanCentredPool(nn.Module):
    """8×8 average pool, stride 8, of the mean-centred image (the C9 stub of SFC-3)."""

    def forward(self, x):
        return F.avg_pool2d(x - x.mean(dim=(1, 2, 3), keepdim=True), 8)


class CentreCrop(nn.Module):
    """Drops `before` cells at the top/left and `after` at the bottom/right: stride kept."""

    def __init__(self, before: int, after: int):
        super().__init__()
        self.before, self.after = before, after

    def forward(self, x):
        height, width = x.shape[-2:]
        return x[..., self.before:height - self.after, self.before:width - self.after]


class StubAlexNet(nn.Module):
    """Parameter-free stand-in for the AlexNet taps, per layer: conv4 gives 8×8 / 24×24 and
    conv5 6×6 / 22×22 (127 / 255 crops) of the pooled image, so both maps are 17×17 and the
    zero-displacement cell is the centre."""

    stride = 8

    def __init__(self):
        super().__init__()
        self.conv1 = MeanCentredPool()        # 127 → 15, 255 → 31
        self.conv2, self.conv3 = nn.Identity(), nn.Identity()
        self.conv4 = CentreCrop(3, 4)         # 15 → 8, 31 → 24
        self.conv5 = CentreCrop(1, 1)         # 8 → 6, 24 → 22


def test_stub_embedding_follows_noise_patch_with_transforms_on():  # C9
    rng = np.random.default_rng(0)
    tracker = build_tracker('dsiam', **PAPER)
    tracker.net.backbone = StubAlexNet()
    patch = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    steps = rng.uniform(-4.2, 4.2, size=(10, 2))  # <= 6 px per frame
    errors = follow_patch(tracker, np.full((240, 320, 3), 128, np.uint8), patch, (120, 80),
                          steps)
    assert errors.max() <= 4.0
    state = tracker.state
    assert not state.failed and state.v is not None and state.w is not None
    assert [tuple(t.shape) for t in state.v] == [(1, 3, 8, 5), (1, 3, 6, 4)]
    assert [tuple(t.shape) for t in state.w] == [(1, 3, 24, 13), (1, 3, 22, 12)]


# --- DS-5 on the real tracker ---------------------------------------------------------------
def test_failure_grows_s_x_turns_transforms_off_and_recovers(crossing):  # DS-5
    """A very negative adjust bias forces peak ≤ 0 (eager: the runner runs `net` itself)."""
    frames, boxes = crossing
    tracker = build_tracker('dsiam', weights=SIAMFC_ALEXNET, **PAPER, backend='eager')
    tracker.init(frames[0], tuple(boxes[0]))
    tracker.track(frames[1])
    state = tracker.state
    assert not state.failed and state.v is not None and state.w is not None
    bias = tracker.net.adjust_bias.detach().clone()
    for frame in frames[2:4]:
        s_x, size = state.s_x, state.size.copy()
        with torch.no_grad():
            tracker.net.adjust_bias.fill_(-1e3)
        result = tracker.track(frame)
        assert state.failed and state.v is None and state.w is None
        assert state.s_x == pytest.approx(1.1 * s_x) and np.array_equal(state.size, size)
        assert result.score < 0.5
    with torch.no_grad():
        tracker.net.adjust_bias.copy_(bias)
    tracker.track(frames[4])
    cfg = tracker.config
    reset = template_side(*state.size, cfg.context) * cfg.instance_size / cfg.exemplar_size
    assert not state.failed and state.s_x == pytest.approx(reset)
    assert np.array_equal(state.size, size) and state.v is not None and state.w is not None


def test_repeated_failures_clamp_s_x(crossing):  # DS-5
    frames, boxes = crossing
    tracker = build_tracker('dsiam', weights=SIAMFC_ALEXNET, **PAPER, backend='eager')
    tracker.init(frames[0], tuple(boxes[0]))
    with torch.no_grad():
        tracker.net.adjust_bias.fill_(-1e3)
    for _ in range(18):   # 1.1^17 > 5
        tracker.track(frames[1])
    assert tracker.state.s_x == pytest.approx(5 * tracker.state.s_x0)


# --- SiamFC weights -------------------------------------------------------------------------
def test_siamfc_weights_initialise_dsiam_and_track_a_real_sequence(sot_dir):
    frames, boxes = read_sequence(sot_dir, 'otb_Crossing', 31)
    tracker = build_tracker('dsiam', weights=SIAMFC_ALEXNET, **PAPER)
    siamfc = load_weights(SIAMFC_ALEXNET)['state_dict']
    net = tracker.net
    assert torch.equal(net.backbone.conv1[0][0].weight, siamfc['backbone.conv1.0.0.weight'].float())
    assert torch.equal(net.fusion, torch.ones(17, 17))          # Υ = 1: conv5 only at first
    assert torch.allclose(net.log_lambda_v.exp(), torch.tensor([1e-5, 1e-5]))
    assert torch.allclose(net.log_lambda_w.exp(), torch.tensor([10.0, 10.0]))
    tracker.init(frames[0], tuple(boxes[0]))
    overlaps, successes = [], 0
    for frame, truth in zip(frames[1:], boxes[1:]):
        result = tracker.track(frame)
        assert np.all(np.isfinite(result.box)) and 0.0 <= result.score <= 1.0
        overlaps.append(iou(result.box, truth))
        successes += tracker.state.v is not None
    # V and W are learnt on success frames (penalised peak > 0); how many depends on the
    # weights' logit level (the retrained AlexNet weights: about half, the earlier ones 28/30)
    assert successes >= 10 and np.mean(overlaps) > 0.5


@pytest.mark.parametrize('layers, weights', [(['conv5'], SIAMFC_ALEXNET),
                                             (['conv4', 'conv5'], SIAMFC_ALEXNET),
                                             (['neck'], SIAMFC_MOBILENET)])
def test_without_transforms_dsiam_boxes_equal_siamfc(crossing, layers, weights):
    """Composition check: V and W off, Υ = 1 (SiamFC init) or one layer → SiamFC's boxes,
    on the AlexNet taps and on the MobileNetV2 trunk's features."""
    frames, boxes = crossing
    runs = []
    for name, options in (('siamfc', {}),
                          ('dsiam', dict(layers=layers, update_v=False, update_w=False))):
        tracker = build_tracker(name, weights=weights, **options)
        tracker.init(frames[0], tuple(boxes[0]))
        runs.append([tracker.track(f).box for f in frames[1:]])
    assert runs[0] == runs[1]


def test_dsiam_weights_round_trip_and_stay_strict(tmp_path, crossing):
    frames, boxes = crossing
    source = build_tracker('dsiam', seed=5, **PAPER)
    with torch.no_grad():
        source.net.fusion.fill_(0.7)
    path = save_weights(tmp_path / 'dsiam.pt', source.net.state_dict(), 'dsiam', 'alexnet',
                        half=False)
    results = []
    for tracker in (source, build_tracker('dsiam', weights=path, seed=99, **PAPER)):
        tracker.init(frames[0], tuple(boxes[0]))
        results.append([tracker.track(f) for f in frames[1:4]])
    assert results[0] == results[1]
    state = {k: v for k, v in source.net.state_dict().items() if k != 'fusion'}
    partial = save_weights(tmp_path / 'partial.pt', state, 'dsiam', 'alexnet')
    with pytest.raises(WeightsError, match='missing: fusion'):
        build_tracker('dsiam', weights=partial, **PAPER)
    with pytest.raises(WeightsError, match='not usable by siamfc'):
        build_tracker('siamfc', weights=path)


# --- clips and training ---------------------------------------------------------------------
def test_synthetic_and_dataset_clips(tmp_path):
    write_media(tmp_path)
    rng = np.random.default_rng(0)
    synthetic = build_mixture(DataConfig(cache_dir=str(tmp_path), synthetic=1.0),
                              SkipCounter())
    frames, boxes = draw_clip(synthetic, rng, 4)
    assert len(frames) == 4 and boxes.shape == (4, 4) and frames[0].shape == (480, 640, 3)
    assert np.all(boxes[:, 2:] >= 20) and not np.array_equal(frames[0], frames[3])
    root = write_otb(tmp_path, count=6)
    videos = build_mixture(DataConfig(cache_dir=str(tmp_path),
                                      datasets=(DatasetSpec('otb', str(root)),)), SkipCounter())
    frames, boxes = draw_clip(videos, rng, 4)
    start = int(boxes[0, 0] - 60) // 3          # write_otb's target moves 3 px per frame
    assert np.array_equal(boxes[:, 0], 60 + 3 * np.arange(start, start + 4))
    assert frames[0].shape == (240, 320, 3)
    stills = build_mixture(DataConfig(cache_dir=str(tmp_path), stills=1.0), SkipCounter())
    with pytest.raises(NoClipSourceError, match='no clips'):
        draw_clip(stills, rng, 4)
    with pytest.raises(ValueError, match='at least 2'):
        draw_clip(synthetic, rng, 1)


def test_training_configs_load():
    for name in ('dsiam_synthetic', 'dsiam_got10k'):
        config = load_train_config(REPO / 'config' / 'train' / f'{name}.yaml')
        assert config.tracker == 'dsiam' and config.init_weights.endswith('siamfc_alexnet.pt')
        assert config.tracker_settings == PAPER
    shipped = load_train_config(REPO / 'config' / 'train' / 'dsiam_mobilenetv2.yaml')
    assert shipped.tracker_settings == {'layers': ['neck']} and shipped.freeze_trunk
    layouts = {d.layout for d in load_train_config(
        REPO / 'config' / 'train' / 'dsiam_got10k.yaml').data.datasets}
    assert layouts == {'ilsvrc_vid', 'got10k'}


def test_init_weights_must_fit_the_tracker(tmp_path):
    with pytest.raises(TrainConfigError, match='does not fit'):
        build_net(TrainConfig(name='x', tracker='dsiam', tracker_settings=PAPER,
                              init_weights=str(SIAMFC_MOBILENET)))
    dsiam = save_weights(tmp_path / 'dsiam.pt', build_tracker('dsiam', **PAPER).net.state_dict(),
                         'dsiam', 'alexnet')
    with pytest.raises(TrainConfigError, match='not usable by siamfc'):
        build_net(TrainConfig(name='x', tracker='siamfc', init_weights=str(dsiam)))
    net = build_net(TrainConfig(name='x', tracker='dsiam', tracker_settings=PAPER,
                                init_weights=str(SIAMFC_ALEXNET)))
    assert torch.equal(net.adjust_bias, load_weights(SIAMFC_ALEXNET)['state_dict']
                       ['adjust_bias'].float())


def test_one_siam_track_train_step_from_siamfc_weights(tmp_path):
    write_media(tmp_path)
    config = write_train_config(tmp_path, name='dsiam', tracker='dsiam', tracker_settings=PAPER,
                                init_weights=str(SIAMFC_ALEXNET), pairs_per_epoch=3,
                                batch_size=3)
    siam_track('train', '--config', str(config), '--no-progress')
    run = tmp_path / 'runs' / 'dsiam'
    steps = (run / 'steps.csv').read_text().split()
    assert len(steps) == 2 and np.isfinite(float(steps[1].split(',')[-1]))
    weights = run / 'best_weights.pt'
    assert load_weights(weights)['tracker'] == 'dsiam'
    trained = build_tracker('dsiam', weights=weights, **PAPER).net.state_dict()
    start = build_tracker('dsiam', weights=SIAMFC_ALEXNET, **PAPER).net.state_dict()
    rounded = {k: v.half().float() if v.is_floating_point() else v for k, v in start.items()}
    changed = [k for k in start if not torch.equal(trained[k], rounded[k])]
    assert changed and all(torch.allclose(trained[k], rounded[k], atol=0.05) for k in changed)


def test_one_train_step_on_the_frozen_mobilenetv2_trunk(tmp_path, crossing):
    """layers [neck] from the shipped SiamFC MobileNetV2: BPTT trains the neck, λ and the bias;
    the frozen trunk stays as it was; the result tracks with the transforms on."""
    write_media(tmp_path)
    config = write_train_config(tmp_path, name='dsiam_mnv2', tracker='dsiam',
                                tracker_settings={'layers': ['neck']}, backbone='mobilenetv2',
                                init_weights=str(SIAMFC_MOBILENET), freeze_trunk=True,
                                input='imagenet', pairs_per_epoch=3, batch_size=3)
    siam_track('train', '--config', str(config), '--no-progress')
    weights = tmp_path / 'runs' / 'dsiam_mnv2' / 'best_weights.pt'
    payload = load_weights(weights)
    assert (payload['tracker'], payload['backbone']) == ('dsiam', 'mobilenetv2')
    tracker = build_tracker('dsiam', weights=weights, layers=['neck'])
    trained = tracker.net.state_dict()
    start = {k: v.half().float() for k, v in load_weights(SIAMFC_MOBILENET)['state_dict'].items()
             if v.is_floating_point()}
    trunk = [k for k in start if k.startswith(('backbone.low.', 'backbone.high.'))]
    assert trunk and all(torch.equal(trained[k], start[k]) for k in trunk)
    assert not torch.equal(trained['backbone.neck.0.weight'], start['backbone.neck.0.weight'])
    assert 'log_lambda_v' in trained and 'fusion' not in trained
    frames, boxes = crossing
    tracker.init(frames[0], tuple(boxes[0]))
    results = [tracker.track(frame) for frame in frames[1:]]
    assert tracker.state.v is not None and tracker.state.w is not None
    assert iou(results[-1].box, boxes[-1]) > 0.5
