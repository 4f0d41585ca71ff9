"""ONNX export (`siam-track export`) and the onnx backend (issue 16, items 3-4): the exported
template / search / head graphs give torch's response maps on real frames, and `--backend onnx`
boxes match fused fp32 within 1 px per step on a dev sequence."""
import json

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from siam_tracker_ros.build import build_tracker
from siam_tracker_ros.cli.bench_cmd import compare_paths
from siam_tracker_ros.cli.main import main
from siam_tracker_ros.evaluation.runner import load_frame
from siam_tracker_ros.frames import first_groundtruth_box
from siam_tracker_ros.models.weights import PACKAGE_WEIGHTS_DIR
from siam_tracker_ros.onnx_engines import OnnxNetwork, run_export
from siam_tracker_ros.onnx_export import branch_onnx
from siam_tracker_ros.ops.correlation import dwxcorr
from siam_tracker_ros.runtime import ExecutionPath, to_input

WEIGHTS = ['siamfc_mobilenetv2.pt', 'siamfc_alexnet.pt']


def frames_of(sot_dir, sequence: str, count: int) -> list:
    return [load_frame(p) for p in sorted((sot_dir / sequence / 'img').glob('*.jpg'))[:count]]


@pytest.mark.parametrize('weights', WEIGHTS)
def test_exported_graphs_give_torch_response_maps_on_real_frames(tmp_path, sot_dir, weights,
                                                                  capsys):
    """`siam-track export` files, run by onnxruntime on a tracker's real template and search
    crops along a dev sequence, match the fused torch maps (max abs diff < 1e-3 on logits
    of magnitude ~1-10; measured: 6e-5)."""
    path = PACKAGE_WEIGHTS_DIR / weights
    sequence = sot_dir / 'vot15_bag'
    assert main(['export', '--tracker', 'siamfc', '--weights', str(path), '--out', str(tmp_path),
                 '--check', str(sequence), '--check-frames', '2']) == 0
    assert 'max abs difference' in capsys.readouterr().out
    manifest = json.loads((tmp_path / 'network.json').read_text())
    tracker = build_tracker('siamfc', weights=path)
    assert manifest['input']['order'] == tracker.input_format.order
    assert manifest['input']['mean'] == list(tracker.input_format.mean)
    assert (manifest['exemplar_size'], manifest['search_batch']) == (127, 3)
    head = manifest['graphs']['head']
    assert head['dynamic_batch'] is True and head['shapes']['features'][0] == 'batch'
    assert head['shapes']['kernel'][0] == 1
    frames = frames_of(sot_dir, 'vot15_bag', 6)
    tracker.init(frames[0], first_groundtruth_box(sequence))
    st = tracker.state
    z = as_input(tracker, tracker.exemplar_crop(frames[0], st.center, st.size, st.pad_color)[None])
    first_kernel = st.kernel   # the init template's (a template update moves st.kernel)
    for frame in frames[1:]:
        crops = tracker.search_crops(frame)
        expected = tracker.runner().respond(first_kernel, crops).numpy()
        (maps,) = run_export(tmp_path, z, as_input(tracker, crops))
        assert maps.shape == expected.shape and maps.shape[:2] == (3, 1)
        assert np.abs(maps - expected).max() < 1e-3
        tracker.track(frame)


def as_input(tracker, patches) -> torch.Tensor:
    return to_input(patches, torch.device('cpu'), torch.float32, tracker.input_format).contiguous()


@pytest.mark.parametrize('weights', WEIGHTS)
def test_onnx_backend_boxes_match_fused_within_one_pixel_per_step(sot_dir, weights):
    """Each step from the same (fused fp32) state: the onnx backend's box is within 1 px."""
    path = PACKAGE_WEIGHTS_DIR / weights
    sequence = sot_dir / 'otb_DragonBaby'
    steps, _, _ = compare_paths(
        'siamfc', path, {'backend': 'onnx', 'precision': 'fp32', 'device': 'cpu'},
        frames_of(sot_dir, 'otb_DragonBaby', 25), first_groundtruth_box(sequence))
    assert len(steps) == 24 and steps.max() <= 1.0


def test_onnx_backend_runs_the_three_branches_on_onnxruntime(sot_dir):
    tracker = build_tracker('siamfc', weights='default', backend='onnx')
    frames = frames_of(sot_dir, 'vot15_ball1', 3)
    tracker.init(frames[0], first_groundtruth_box(sot_dir / 'vot15_ball1'))
    tracker.track(frames[1])
    network = tracker.runner().net
    assert isinstance(network, OnnxNetwork)
    assert sorted(key[0] for key in network._sessions) == ['head', 'search', 'template']


class PairNet(nn.Module):
    """A network whose kernel, features and maps are tuples (like an RPN: cls and reg)."""

    stride = 8

    def __init__(self):
        super().__init__()
        self.embed = nn.Conv2d(3, 4, 8, stride=8)

    def template(self, z):
        f = self.embed(z)
        return f, 2 * f

    def search(self, x):
        f = self.embed(x)
        return f, f.relu()

    def head(self, kernel, features):
        return F.conv2d(features[0], kernel[0]), F.conv2d(features[1], kernel[1]) + 1


def test_onnx_network_handles_tuple_kernels_features_and_maps():
    torch.manual_seed(0)
    net = PairNet().eval()
    z, x = torch.rand(1, 3, 32, 32), torch.rand(2, 3, 64, 64)
    onnx = OnnxNetwork(net, torch.device('cpu'))
    maps = onnx.head(onnx.template(z), onnx.search(x))
    expected = net.head(net.template(z), net.search(x))
    assert isinstance(maps, tuple) and len(maps) == 2
    for got, want in zip(maps, expected):
        assert got.shape == want.shape and torch.allclose(got, want, atol=1e-5)
    # another search batch: a session for that shape
    x = torch.rand(5, 3, 64, 64)
    assert torch.allclose(onnx.search(x)[1], net.search(x)[1], atol=1e-5)
    assert len(onnx._sessions) == 4


class DepthwiseNet(PairNet):
    """A depthwise-correlation head (SiamRPN++ / DASTSiam style): its reshape of batch ×
    channels into conv groups cannot have a dynamic batch in ONNX."""

    def template(self, z):
        return self.embed(z)

    def search(self, x):
        return self.embed(x)

    def head(self, kernel, features):
        return dwxcorr(kernel, features)


def test_a_head_without_a_dynamic_batch_is_exported_with_a_fixed_batch():
    torch.manual_seed(0)
    net = DepthwiseNet().eval()
    z, x = torch.rand(1, 3, 32, 32), torch.rand(3, 3, 64, 64)
    kernel, features = net.template(z), net.search(x)
    head = branch_onnx(net, 'head', {'kernel': kernel, 'features': features})
    assert not head.dynamic_batch and branch_onnx(net, 'search', {'x': x}).dynamic_batch
    assert head.shapes['maps'] == [3, 4, 5, 5]  # fixed batch: no 'batch' axis
    onnx = OnnxNetwork(net, torch.device('cpu'))
    maps = onnx.head(onnx.template(z), onnx.search(x))
    assert torch.allclose(maps, net.head(kernel, features), atol=1e-5)


def test_onnx_backend_is_fp32_only_and_needs_the_provider_of_its_device():
    with pytest.raises(ValueError, match='fp32 only'):
        build_tracker('siamfc', backend='onnx', precision='bf16')
    with pytest.raises(ValueError, match='no CUDAExecutionProvider'):  # the CPU wheel
        ExecutionPath(torch.device('cuda'), 'onnx', 'fp32')
