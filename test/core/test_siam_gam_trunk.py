"""siam_gam on the ImageNet MobileNetV2 trunk (models/siam_gam_trunk_net.py): the siamfc warm
start, the template crop that keeps the response centred at every crop size, multi-size
tracking, the ablation switches and a `siam-track train` step on the frozen trunk."""
import itertools
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from siam_tracker_ros import build_tracker
from siam_tracker_ros.cli.export_cmd import export_tracker
from siam_tracker_ros.cli.main import main
from siam_tracker_ros.trackers.siam_gam_ablation import row_tracker
from siam_tracker_ros.models.siam_gam_trunk_net import TrunkGAMNet, centre_half
from siam_tracker_ros.models.weights import PACKAGE_WEIGHTS_DIR, load_weights, save_weights
from siam_tracker_ros.onnx_export import OnnxExportError
from siam_tracker_ros.ops.crop import crop_patch, template_side
from siam_tracker_ros.ops.multisize import PAPER_TEST_SIZES
from siam_tracker_ros.trackers.siam_gam import build_net
from siam_tracker_ros.training.config import load_train_config

from tiny_data import siam_track, write_media, write_train_config

torch.set_num_threads(1)
SIAMFC_MOBILENET = PACKAGE_WEIGHTS_DIR / 'siamfc_mobilenetv2.pt'
REPO = Path(__file__).resolve().parents[2]
BOX = (204, 150, 17, 50)    # otb_Crossing frame 1


@pytest.fixture(scope='module')
def crossing(sot_dir):
    return [cv2.imread(str(sot_dir / 'otb_Crossing' / 'img' / f'{i:04d}.jpg'))[..., ::-1].copy()
            for i in range(1, 7)]


def real_pair(tracker, image, q1, q2):
    """The init box's template at Q1 and a search crop centred on it at s_z·Q2/Q1 (uint8)."""
    x, y, w, h = BOX
    center = np.array([x + (w - 1) / 2, y + (h - 1) / 2])
    s_z = template_side(w, h, tracker.config.context)
    pad = image.mean(axis=(0, 1))
    return (crop_patch(image, center, s_z, q1, pad)[None],
            crop_patch(image, center, s_z * q2 / q1, q2, pad)[None])


def response(tracker, template, search) -> np.ndarray:
    runner = tracker.runner()
    return runner.respond(runner.template(template), search)[0, 0].float().numpy()


def kernel_cells(template_size: int) -> int:
    """Template feature cells kept: about half of ceil(Q1/8), with the same parity."""
    cells = (template_size + 7) // 8
    return cells // 2 + (cells - cells // 2) % 2


def test_centre_half_keeps_a_centred_kernel():
    for size, cells in ((16, 8), (17, 9), (18, 10), (24, 12), (32, 16)):
        columns = torch.arange(size).expand(size, size)[None, None]
        kept = centre_half(columns)
        assert kept.shape[-1] == cells and (size - cells) % 2 == 0
        assert kept[0, 0, 0, 0] == (size - cells) // 2


def test_mobilenetv2_siamfc_weights_start_siam_gam_as_siamfc(crossing):
    siamfc = build_tracker('siamfc', weights=SIAMFC_MOBILENET)
    state = {k: v.float() for k, v in load_weights(SIAMFC_MOBILENET)['state_dict'].items()}
    template, search = real_pair(siamfc, crossing[0], 127, 255)
    expected = response(siamfc, template, search)
    for subnets in ('AB', 'A', 'B'):
        gam = build_tracker('siam_gam', weights=SIAMFC_MOBILENET, subnets=subnets)
        assert isinstance(gam.net, TrunkGAMNet)
        assert torch.equal(gam.net.trunk.high[3].conv[0].weight, state['backbone.high.3.conv.0.weight'])
        got = response(gam, template, search)
        assert got.shape == expected.shape == (25, 25)
        assert np.abs(got - expected).max() < 0.02 * np.abs(expected).max()   # SE/GAM ≈ 0.99
    gam = build_tracker('siam_gam', weights=SIAMFC_MOBILENET)
    runs = []
    for tracker in (gam, siamfc):
        tracker.init(crossing[0], BOX)
        runs.append([tracker.track(frame).box for frame in crossing[1:6]])
    assert np.abs(np.array(runs[0]) - np.array(runs[1])).max() < 0.5


@pytest.mark.parametrize('q1,q2', PAPER_TEST_SIZES + ((135, 247), (191, 303), (255, 367)))
def test_every_crop_size_peaks_at_the_centre_for_the_centred_target(crossing, q1, q2):
    """The template keeps the centre half of its cells, so the zero-displacement cell is the
    response centre at every test pair and every multi-size training pair (127+δ, 239+δ)."""
    gam = build_tracker('siam_gam', weights=SIAMFC_MOBILENET)
    maps = response(gam, *real_pair(gam, crossing[0], q1, q2))
    side = (q2 + 7) // 8 - kernel_cells(q1) + 1
    assert maps.shape == (side, side) and side % 2 == 1
    row, col = np.unravel_index(np.argmax(maps), maps.shape)
    assert max(abs(row - side // 2), abs(col - side // 2)) <= 1


def test_paper_multi_size_test_runs_on_the_trunk(crossing):
    sizes = [v for pair in PAPER_TEST_SIZES for v in pair]
    gam = build_tracker('siam_gam', weights=SIAMFC_MOBILENET, test_sizes=sizes)
    gam.init(crossing[0], BOX)
    assert [k[0].shape[-1] for k in gam.state.kernel] == [8, 12, 16]
    maps = gam.responses(gam.search_crops(crossing[1]))
    assert maps.shape == (9, 25, 25)
    x, y, w, h = gam.track(crossing[1]).box
    assert abs(x + w / 2 - (BOX[0] + BOX[2] / 2)) < 8 and abs(y + h / 2 - (BOX[1] + BOX[3] / 2)) < 8


def test_every_switch_combination_builds_and_warm_starts():
    """Each combination builds its modules, runs, and takes the shared trunk from the siamfc
    file (tensor for tensor)."""
    source = load_weights(SIAMFC_MOBILENET)['state_dict']['backbone.high.3.conv.0.weight']
    for se, gam_on, fusion, subnets in itertools.product((True, False), (True, False),
                                                         (True, False), ('AB', 'A', 'B')):
        tracker = build_tracker('siam_gam', weights=SIAMFC_MOBILENET, use_se=se,
                                use_gam=gam_on, use_fusion=fusion, subnets=subnets)
        net = tracker.net
        assert (net.subnet_a is None) == (subnets == 'B')
        if net.subnet_a is not None:
            head = net.subnet_a.backbone
            assert (head.gam is None) != gam_on and len(head.fusion.norms) == (3 if fusion else 1)
        if net.subnet_b is not None:
            assert (net.subnet_b.backbone.se is None) != se
        torch.testing.assert_close(net.state_dict()['trunk.high.3.conv.0.weight'],
                                   source.float())
        kernels = net.template(torch.zeros(1, 3, 127, 127))
        assert net.head(kernels, net.search(torch.zeros(1, 3, 255, 255))).shape == (1, 1, 25, 25)


def test_other_trunks_and_foreign_siamfc_files_are_refused(tmp_path):
    config = build_tracker('siam_gam').config
    with pytest.raises(ValueError, match="or on 'mobilenetv2', not 'efficientnet_lite0'"):
        build_net(config, 'efficientnet_lite0')
    state = dict(load_weights(SIAMFC_MOBILENET)['state_dict'])
    state['backbone.high.3.conv.0.weight'] = torch.zeros(1)
    path = save_weights(tmp_path / 'odd.pt', state, 'siamfc', 'mobilenetv2')
    with pytest.raises(ValueError, match="'backbone.high.3.conv.0.weight' has no place"):
        build_tracker('siam_gam', weights=path)


def test_train_step_on_the_frozen_trunk_trains_the_modules(tmp_path):
    write_media(tmp_path)
    config = write_train_config(
        tmp_path, name='gamtrunk', tracker='siam_gam', backbone='mobilenetv2',
        init_weights=str(SIAMFC_MOBILENET), freeze_trunk=True, freeze_bn=True,
        input='imagenet', pairs_per_epoch=4, batch_size=2)
    siam_track('train', '--config', str(config), '--no-progress')
    weights = tmp_path / 'runs' / 'gamtrunk' / 'best_weights.pt'
    assert load_weights(weights)['backbone'] == 'mobilenetv2'
    trained = build_tracker('siam_gam', weights=weights).net
    start = build_tracker('siam_gam', weights=SIAMFC_MOBILENET).net
    assert all(torch.equal(a, b) for a, b in zip(trained.trunk.state_dict().values(),
                                                 start.trunk.state_dict().values()))
    for name in ('subnet_b.backbone.neck.1', 'subnet_a.backbone.fusion.norms.0'):
        for stat in ('running_mean', 'running_var'):     # freeze_bn keeps the statistics
            assert torch.allclose(trained.get_buffer(f'{name}.{stat}'),   # (fp16 file)
                                  start.get_buffer(f'{name}.{stat}'), rtol=1e-3), name
    for name in ('subnet_a.backbone.fusion.reduce.weight', 'subnet_a.backbone.gam.'
                 'channel_expand.weight', 'subnet_b.backbone.se.expand.weight'):
        assert not torch.equal(trained.get_parameter(name), start.get_parameter(name)), name


def test_the_shipped_training_config_loads():
    config = load_train_config(REPO / 'config' / 'train' / 'siam_gam_mobilenetv2.yaml')
    assert (config.tracker, config.backbone, config.freeze_trunk) == ('siam_gam', 'mobilenetv2',
                                                                       True)
    assert (REPO / config.init_weights).is_file()


def test_bf16_agrees_with_fp32_on_the_trunk(crossing):
    boxes = []
    for precision in ('fp32', 'bf16'):
        tracker = build_tracker('siam_gam', weights=SIAMFC_MOBILENET, precision=precision)
        tracker.init(crossing[0], BOX)
        boxes.append(np.array(tracker.track(crossing[1]).box))
    assert np.abs(boxes[0] - boxes[1]).max() < 1.5


@pytest.mark.parametrize('row,switch', [('A', dict(subnets='A')), ('B', dict(subnets='B')),
                                        ('no_se', dict(use_se=False)),
                                        ('no_gam', dict(use_gam=False))])
def test_test_time_ablation_rows_equal_the_built_switch(crossing, row, switch):
    """A module bypassed in the loaded network (trackers/siam_gam_ablation.py) responds
    exactly as the network built without it from the same file."""
    bypassed = row_tracker(SIAMFC_MOBILENET, row)
    built = build_tracker('siam_gam', weights=SIAMFC_MOBILENET, **switch)
    template, search = real_pair(built, crossing[0], 127, 255)
    assert np.array_equal(response(bypassed, template, search), response(built, template, search))


def test_onnx_export_of_the_trunk_network_matches_torch(tmp_path, sot_dir, capsys):
    assert main(['export', '--tracker', 'siam_gam', '--weights', str(SIAMFC_MOBILENET),
                 '--out', str(tmp_path), '--check', str(sot_dir / 'otb_Crossing'),
                 '--check-frames', '2']) == 0
    difference = float(capsys.readouterr().out.rsplit('max abs difference ', 1)[1].split()[0])
    assert difference < 1e-3
    sizes = [v for pair in PAPER_TEST_SIZES for v in pair]
    multi = build_tracker('siam_gam', weights=SIAMFC_MOBILENET, test_sizes=sizes)
    with pytest.raises(OnnxExportError, match='export takes one .template, search. size, not 3'):
        export_tracker(multi, tmp_path / 'multi')
