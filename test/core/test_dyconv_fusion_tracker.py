"""`dyconv_fusion` as a registered tracker (spec §5): registration and build on both trunks,
ImageNet trunk files, the §1.4 decoder at r = 25, C8, DYN-6 (C9 with the embedding stubbed),
the execution paths (fused, bf16, compiled vs eager) and the τ schedule in training.

The network's own checks (DYN-1…DYN-7) are in test_dyconv_fusion.py and
test_dyconv_modules.py; the stub and the source-layout trunk file come from there.
"""
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn as nn

from siam_tracker_ros import build_tracker, tracker_names
from siam_tracker_ros.cli.main import main
from siam_tracker_ros.config import ConfigError, load_config
from siam_tracker_ros.models.dynamic_conv import DynamicConv2d
from siam_tracker_ros.models.pretrained_backbones import MOBILENETV2_FILE
from siam_tracker_ros.models.resnest import RESNEST50_FILE, ResNeSt50
from siam_tracker_ros.models.dyconv_warm_start import siamfc_warm_start
from siam_tracker_ros.models.weights import (IMAGENET_INPUT, WeightsError, load_weights,
                                              save_weights)
from siam_tracker_ros.registry import get_entry
from siam_tracker_ros.trackers.dyconv_fusion import (DyConvFusionConfig, anneal_epochs,
                                                     build_dyconv_fusion_net)
from siam_tracker_ros.trackers.pyramid import ScalePyramidTracker
from siam_tracker_ros.training.config import load_train_config
from siam_tracker_ros.training.models import build_net
from siam_tracker_ros.training.trainer import Trainer

from test_dyconv_fusion import AvgPoolEmbedding, mobilenetv2_source_file
from test_siamfc_tracker import follow_patch

from tiny_data import siam_track, write_media, write_train_config

NAME = 'dyconv_fusion'
MOBILE = {'trunk': 'mobilenetv2'}          # the CPU-sized variant
CROSSING_BOX = (204, 150, 17, 50)
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


def crossing(sot_dir, count):
    """The first `count` frames of otb_Crossing, RGB."""
    folder = sot_dir / 'otb_Crossing' / 'img'
    return [cv2.cvtColor(cv2.imread(str(folder / f'{i:04d}.jpg')), cv2.COLOR_BGR2RGB)
            for i in range(1, count + 1)]


def config(**overrides) -> DyConvFusionConfig:
    entry = get_entry(NAME)
    return load_config(entry.config_class, NAME, entry.config_path, **overrides)


# --- registration and build -----------------------------------------------------------------
def test_registered_and_listed():
    assert NAME in tracker_names()
    entry = get_entry(NAME)
    assert entry.tracker_class is ScalePyramidTracker and entry.config_class is DyConvFusionConfig
    assert entry.objective.start_epoch is not None
    assert NAME in siam_track('list')


@pytest.mark.parametrize('trunk,deep_channels', [('mobilenetv2', 96), ('resnest50', 2048)])
def test_both_trunks_build_and_track_a_real_frame(sot_dir, trunk, deep_channels):
    frames = crossing(sot_dir, 2)
    tracker = build_tracker(NAME, trunk=trunk)
    assert tracker.config.trunk == trunk and tracker.net.stride == 8
    assert tracker.net.embedding.deep_proj[0].in_channels == deep_channels
    tracker.init(frames[0], CROSSING_BOX)
    crops = tracker.search_crops(frames[1])
    assert crops.shape == (3, 255, 255, 3)
    assert tracker.responses(crops).shape == (3, 25, 25)          # r = 25 (§5)
    result = tracker.track(frames[1])
    assert np.all(np.isfinite(result.box)) and 0.0 <= result.score <= 1.0


def test_the_weights_files_trunk_overrides_the_configs():
    net = build_dyconv_fusion_net(config(trunk='resnest50', use_cbam=False), 'mobilenetv2')
    assert net.embedding.deep_proj[0].in_channels == 96
    assert all(isinstance(a, nn.Identity) for a in net.embedding.stage_attention)


def test_unknown_trunk_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown trunk 'resnet18'"):
        build_tracker(NAME, trunk='resnet18')
    with pytest.raises(ValueError, match="unknown dyconv_fusion trunk 'vgg16'"):
        build_dyconv_fusion_net(config(), 'vgg16')


def test_pretrained_dir_gives_imagenet_trunk_and_dynamic_kernels_from_it(tmp_path):  # §5 init
    source = mobilenetv2_source_file(tmp_path / MOBILENETV2_FILE)
    net = build_dyconv_fusion_net(config(**MOBILE), pretrained_dir=tmp_path)
    expand = net.embedding.stages[1][0].conv[0]                  # features.2 1×1 expand
    pretrained = source['features.2.conv.0.weight']
    assert isinstance(expand, DynamicConv2d)
    assert 0 < (expand.weight - pretrained).abs().max() <= 0.06 * pretrained.std()
    assert torch.equal(net.embedding.stages[3][0].conv[0].weight,
                       source['features.7.conv.0.weight'])       # static conv4 as loaded


def test_pretrained_resnest50_trunk_is_read_from_the_converted_file(tmp_path):
    torch.manual_seed(5)
    trunk = ResNeSt50().state_dict()
    torch.save(trunk, tmp_path / RESNEST50_FILE)
    net = build_dyconv_fusion_net(config(trunk='resnest50'), pretrained_dir=tmp_path)
    assert torch.equal(net.embedding.stages[4][0].conv1.weight, trunk['layer4.0.conv1.weight'])
    stem = net.embedding.stages[0][0][0]
    assert isinstance(stem, DynamicConv2d)
    assert (stem.weight - trunk['stem.0.0.weight']).abs().max() <= \
        0.06 * trunk['stem.0.0.weight'].std()


def test_missing_trunk_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=MOBILENETV2_FILE):
        build_dyconv_fusion_net(config(**MOBILE), pretrained_dir=tmp_path)


# --- warm start from siamfc MobileNetV2 weights --------------------------------------------
SIAMFC_MOBILENETV2 = REPO / 'siam_tracker_ros' / 'weights' / 'siamfc_mobilenetv2.pt'


def test_siamfc_mobilenetv2_weights_warm_start_the_fusion_network(sot_dir):
    siamfc = build_tracker('siamfc', weights=SIAMFC_MOBILENETV2, backend='eager')
    fusion = build_tracker(NAME, weights=SIAMFC_MOBILENETV2, backend='eager')
    net = fusion.net
    assert net.embedding.deep_proj[0].in_channels == 96                  # trunk from the file
    assert net.score_fusion.weight.flatten().tolist() == [1.0, 0.0]
    assert net.score_fusion.bias.item() == pytest.approx(siamfc.net.adjust_bias.item())
    expand = net.embedding.stages[1][0].conv[0]                          # features.2 expand
    static = siamfc.net.backbone.low[2].conv[0].weight
    assert isinstance(expand, DynamicConv2d)
    assert 0 < (expand.weight - static).abs().max() <= 0.06 * static.std()   # K copies + 1 %
    attention = net.embedding.stage_attention[0].spatial.conv
    assert attention.weight.abs().max() == 0 and attention.bias.item() == 6.0
    # without the shallow max pool (the one module siamfc has no counterpart for), the warm
    # start gives siamfc's map on a real pair up to CBAM's 0.2 % and the kernel perturbation
    net.embedding.shallow_pool = nn.Identity()
    frames = crossing(sot_dir, 2)
    maps = []
    for tracker in (siamfc, fusion):
        tracker.init(frames[0], CROSSING_BOX)
        maps.append(tracker.responses(tracker.search_crops(frames[1])).ravel())
    want, got = maps
    assert np.corrcoef(want, got)[0, 1] > 0.95
    assert got.argmax() == want.argmax()


@pytest.mark.parametrize('switch', ['use_dynamic', 'use_cbam', 'use_fusion'])
def test_every_ablation_takes_the_warm_start(sot_dir, switch):
    """With any module switched off, the trunk still starts from the siamfc file (static or
    K perturbed copies of its kernels), and the tracker runs on real frames."""
    tracker = build_tracker(NAME, weights=SIAMFC_MOBILENETV2, **{switch: False})
    state = load_weights(SIAMFC_MOBILENETV2)['state_dict']
    for stage, block in ((1, 2), (2, 4)):   # the expand convs of features.2 and features.4
        source = state[f'backbone.low.{block}.conv.0.weight'].float()
        weight = tracker.net.embedding.stages[stage][0].conv[0].weight.detach()
        assert (weight - source).abs().max() <= 0.06 * source.std(), block
    frames = crossing(sot_dir, 2)
    tracker.init(frames[0], CROSSING_BOX)
    assert np.all(np.isfinite(tracker.track(frames[1]).box))


def test_siamfc_weights_on_another_backbone_are_refused():
    with pytest.raises(WeightsError, match="siamfc_alexnet.pt is built on 'alexnet', which "
                       "dyconv_fusion cannot run: unknown trunk 'alexnet'"):
        build_tracker(NAME, weights=REPO / 'siam_tracker_ros/weights/siamfc_alexnet.pt')


def test_warm_start_without_pool_cbam_and_noise_is_siamfc(sot_dir):
    """The mapping itself is exact: less the three modules siamfc lacks (shallow max pool,
    CBAM, the kernels' 1 % noise), the fusion network gives siamfc's response map."""
    siamfc = build_tracker('siamfc', weights=SIAMFC_MOBILENETV2, backend='eager')
    fusion = build_tracker(NAME, weights=SIAMFC_MOBILENETV2, backend='eager', use_cbam=False)
    state = load_weights(SIAMFC_MOBILENETV2)['state_dict']
    fusion.net.load_state_dict(siamfc_warm_start(fusion.net, state, perturbation=0.0))
    fusion.net.embedding.shallow_pool = nn.Identity()
    frames = crossing(sot_dir, 2)
    maps = []
    for tracker in (siamfc, fusion):
        tracker.init(frames[0], CROSSING_BOX)
        maps.append(tracker.responses(tracker.search_crops(frames[1])))
    assert np.abs(maps[0] - maps[1]).max() < 1e-3 * np.abs(maps[0]).max()


def test_siamfc_state_with_a_block_mobilenetv2_lacks_is_refused():
    net = build_tracker(NAME, trunk='mobilenetv2', backend='eager').net
    state = load_weights(SIAMFC_MOBILENETV2)['state_dict']
    state['backbone.high.40.conv.0.weight'] = state['backbone.high.0.conv.0.weight']
    with pytest.raises(WeightsError, match="'backbone.high.40.conv.0.weight' has no place"):
        siamfc_warm_start(net, state)


# --- decoder at r = 25 --------------------------------------------------------------------
@pytest.mark.parametrize('dx,dy', [(0, 0), (3, -5), (-11, 7)])
def test_c5_bump_on_25x25_map_moves_by_cells(sot_dir, dx, dy):  # C5 (a) with r = 25, U = 400
    tracker = build_tracker(NAME, scale_num=1, window_influence=0.0, **MOBILE)
    tracker.init(crossing(sot_dir, 1)[0], CROSSING_BOX)
    rows, cols = np.mgrid[0:25, 0:25]
    bump = np.exp(-((rows - 12 - dy) ** 2 + (cols - 12 - dx) ** 2) / 2.0)[None]
    decoded = tracker.decode(bump.astype(np.float32))
    s_x, side = tracker.state.s_x, tracker.config.instance_size
    expected = np.array([dx, dy]) * 8 * s_x / side
    assert np.abs(np.array(decoded.displacement) - expected).max() <= 0.5 * s_x / side




# --- DYN-6 ----------------------------------------------------------------------------------
def test_dyn6_c9_stubbed_embedding_follows_noise_patch_on_grey():  # DYN-6 = C9
    """The stub replaces the whole embedding (stages, CBAM, projections); it sees the image in
    the tracker's ImageNet format (§1.2), which is mean-centred on the grey background."""
    rng = np.random.default_rng(0)
    tracker = build_tracker(NAME, **MOBILE)
    tracker.net.embedding = AvgPoolEmbedding()
    tracker.input_format = IMAGENET_INPUT
    patch = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    steps = rng.uniform(-4.2, 4.2, size=(10, 2))                 # <= 6 px per frame
    errors = follow_patch(tracker, np.full((240, 320, 3), 128, np.uint8), patch, (120, 80),
                          steps)
    assert len(errors) == 10 and errors.max() <= 4.0, errors


# --- execution paths --------------------------------------------------------------------------
def trained_like_batch_norms(net, seed=0):
    """BN statistics and affine parameters away from their init, as in a trained network, so
    that conv-BN folding really changes the weights."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for bn in (m for m in net.modules() if isinstance(m, nn.BatchNorm2d)):
            size = bn.num_features
            bn.running_mean.copy_(0.2 * torch.randn(size, generator=gen))
            bn.running_var.copy_(0.5 + torch.rand(size, generator=gen))
            bn.weight.copy_(0.5 + torch.rand(size, generator=gen))
            bn.bias.copy_(0.2 * torch.randn(size, generator=gen))


@pytest.fixture(scope='module')
def trained_like_weights(tmp_path_factory):
    """A weights file of the MobileNetV2 variant with trained-like BNs, in the ImageNet format
    (as `siam-track train` writes it)."""
    torch.manual_seed(3)
    net = build_dyconv_fusion_net(config(**MOBILE))
    trained_like_batch_norms(net)
    path = tmp_path_factory.mktemp('weights') / 'dyconv_fusion_mobilenetv2.pt'
    return save_weights(path, net.state_dict(), NAME, 'mobilenetv2', IMAGENET_INPUT)


def test_fused_gives_eager_boxes_on_real_frames(sot_dir, trained_like_weights):
    """Conv-BN folding skips DynamicConv2d (not an nn.Conv2d) and leaves its 5-D kernel bank
    out of channels_last (before, `fused` failed on it)."""
    frames = crossing(sot_dir, 6)
    boxes = {}
    for backend in ('eager', 'fused'):
        tracker = build_tracker(NAME, weights=trained_like_weights, backend=backend)
        tracker.init(frames[0], CROSSING_BOX)
        boxes[backend] = np.array([tracker.track(f).box for f in frames[1:]])
    assert np.abs(boxes['eager'] - boxes['fused']).max() < 0.1


def test_compiled_gives_eager_maps(sot_dir, trained_like_weights):
    """torch.compile traces the per-sample dynamic kernels; its maps equal eager's up to the
    summation order of the 16,384-term xcorr (~1e-5 relative). A random network's map is a
    ±0.002 ripple on 2.5, so that can move its peak by one upsampled pixel (0.26 px here): the
    maps are compared, not the boxes."""
    frames = crossing(sot_dir, 2)
    eager, compiled = (build_tracker(NAME, weights=trained_like_weights, backend=backend)
                       for backend in ('eager', 'compiled'))
    for tracker in (eager, compiled):
        tracker.init(frames[0], CROSSING_BOX)
    crops = eager.search_crops(frames[1])
    reference, maps = eager.responses(crops), compiled.responses(crops)
    assert np.abs(maps - reference).max() <= 2e-5 * np.abs(reference).max()
    assert np.all(np.isfinite(compiled.track(frames[1]).box))


def test_bf16_runs_the_network_mixed_and_close_to_fp32(sot_dir, trained_like_weights):
    """bf16 on the CPU: the blocks up to an ill-conditioned one stay fp32 (here one inside
    CBAM's channel MLP, whose input the attention product also takes); each block takes its
    input in its own precision, so the split holds (before, it fell back to fp32 throughout).
    Kernel and features are compared: a random network's 25×25 map is a ±0.002 ripple on an
    offset of 2.5, below bf16's resolution there (see docs/trackers/dyconv_fusion.md)."""
    frames = crossing(sot_dir, 2)
    exact, low = (build_tracker(NAME, weights=trained_like_weights, backend=backend,
                                precision=precision)
                  for backend, precision in (('eager', 'fp32'), ('fused', 'bf16')))
    for tracker in (exact, low):
        tracker.init(frames[0], CROSSING_BOX)
    runner = low.runner()
    assert {p.dtype for p in runner.net.parameters()} == {torch.float32, torch.bfloat16}
    assert runner.net.score_fusion.block.weight.dtype == torch.bfloat16   # the head too
    crops = exact.search_crops(frames[1])
    pairs = list(zip(exact.state.kernel, low.state.kernel))
    pairs += list(zip(exact.runner().search(crops), runner.search(crops)))
    for reference, reduced in pairs:
        assert reduced.dtype == torch.bfloat16
        assert (reduced.float() - reference).norm() < 0.01 * reference.norm()
    result = low.track(frames[1])
    assert np.all(np.isfinite(result.box)) and 0.0 <= result.score <= 1.0


def test_bench_takes_a_config_file(sot_dir, tmp_path, capsys):
    """`siam-track bench --config`: another trunk without editing config/dyconv_fusion.yaml;
    the bench reports that config's network cost, not the ResNeSt one's."""
    text = get_entry(NAME).config_path.read_text()
    mobile = tmp_path / 'dyconv_fusion_mobilenetv2.yaml'
    mobile.write_text(text.replace('trunk: resnest50', 'trunk: mobilenetv2'))
    assert main(['bench', '--tracker', NAME, '--weights', 'none', '--threads', '1',
                 '--frames', '1', '--paths', 'fused/fp32', '--config', str(mobile)]) == 0
    out = capsys.readouterr().out
    frames = crossing(sot_dir, 2)
    flops = {}
    for config in (mobile, None):
        tracker = build_tracker(NAME, config_path=config)
        tracker.init(frames[0], CROSSING_BOX)
        flops[config] = 2.0 * tracker.frame_macs(frames[1]) / 1e9
    assert flops[None] > 10 * flops[mobile]
    assert f'config: {mobile}' in out and f'network FLOP per frame: {flops[mobile]:.1f} G' in out


# --- training ---------------------------------------------------------------------------------
def test_training_anneals_temperature_from_30_per_epoch(tmp_path):  # DYN-3 in training
    write_media(tmp_path)
    path = write_train_config(tmp_path, name='tiny_dyconv', tracker=NAME, backbone='mobilenetv2',
                              input='imagenet', epochs=4,
                              data={'augment': {'search_size': 255}})
    trainer = Trainer(load_train_config(path), progress=False)
    seen = []
    first = next(m for m in trainer.net.modules() if isinstance(m, DynamicConv2d))
    first.register_forward_pre_hook(lambda module, args: seen.append(module.temperature))
    trainer.run()
    # one step per epoch, template and search each. A 4-epoch run anneals over 2 epochs so
    # that its last two train at the inference τ = 1: τ = 30, 15.5, 1, 1.
    assert seen == pytest.approx([30.0, 30.0, 15.5, 15.5, 1.0, 1.0, 1.0, 1.0])
    assert all(m.temperature == 1.0 for m in trainer.net.modules()
               if isinstance(m, DynamicConv2d))
    weights = tmp_path / 'runs' / 'tiny_dyconv' / 'best_weights.pt'
    tracker = build_tracker(NAME, weights=weights)          # config says resnest50
    assert tracker.net.embedding.deep_proj[0].in_channels == 96
    assert tracker.input_format == IMAGENET_INPUT


@pytest.mark.parametrize('epochs,span', [(80, 10), (12, 10), (11, 9), (4, 2), (2, 0), (1, 0)])
def test_short_runs_anneal_faster_long_ones_follow_section_5(epochs, span):
    assert anneal_epochs(epochs) == span


def test_train_configs_load_and_the_cpu_one_freezes_conv4_conv5(tmp_path):
    mobile = load_train_config(REPO / 'config/train/dyconv_fusion_mobilenetv2.yaml')
    paper = load_train_config(REPO / 'config/train/dyconv_fusion_resnest50_got10k.yaml')
    assert (mobile.tracker, mobile.backbone, paper.tracker, paper.backbone) == \
        (NAME, 'mobilenetv2', NAME, 'resnest50')
    assert mobile.pretrained and paper.pretrained and mobile.input == paper.input == 'imagenet'
    assert paper.data.datasets[0].layout == 'got10k' and paper.epochs == 80
    (tmp_path / 'weights').mkdir()
    mobilenetv2_source_file(tmp_path / 'weights' / MOBILENETV2_FILE)
    mobile = load_train_config_with_cache(REPO / 'config/train/dyconv_fusion_mobilenetv2.yaml',
                                          tmp_path)
    assert mobile.init_weights.endswith('siamfc_mobilenetv2.pt') and mobile.freeze_bn
    net = build_net(mobile)
    assert net.score_fusion.weight.flatten().tolist() == [1.0, 0.0]     # the siamfc warm start
    stages = net.embedding.stages
    assert not any(p.requires_grad for s in stages[3:] for p in s.parameters())
    assert all(p.requires_grad for s in stages[:3] for p in s.parameters())
    assert all(p.requires_grad for p in net.embedding.stage_attention.parameters())


def load_train_config_with_cache(path, cache_dir):
    """The training config at `path` with its cache_dir (ImageNet trunk files) replaced."""
    text = Path(path).read_text().replace('cache_dir: .cache/training',
                                          f'cache_dir: {cache_dir}')
    copy = Path(cache_dir) / Path(path).name
    copy.write_text(text)
    return load_train_config(copy)

