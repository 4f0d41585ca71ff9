"""Weights round-trip, config files, registry, and the core never importing rclpy."""
import dataclasses
import subprocess
import sys

import cv2
import torch

from siam_tracker_ros import build_tracker, tracker_names
from siam_tracker_ros.config import read_section
from siam_tracker_ros.models.weights import load_weights, save_weights
from siam_tracker_ros.registry import get_entry


def test_saved_weights_reload_to_identical_tracking(tmp_path, sot_dir):
    frames = [cv2.imread(str(sot_dir / 'vot15_bag' / 'img' / f'{i:04d}.jpg')) for i in (1, 2, 3)]
    source = build_tracker('siamfc', seed=11)
    path = save_weights(tmp_path / 'w.pt', source.net.state_dict(), 'siamfc', 'alexnet',
                        half=False)
    assert load_weights(path)['backbone'] == 'alexnet'
    results = []
    for tracker in (source, build_tracker('siamfc', weights=path, seed=99)):
        tracker.init(frames[0], (291, 124, 150, 139))
        results.append([tracker.track(f) for f in frames[1:]])
    assert results[0] == results[1]


def test_every_registered_tracker_has_a_complete_config_that_loads():
    """config/<name>.yaml is the one source of every value: it names every field."""
    for name in tracker_names():
        entry = get_entry(name)
        section = read_section(entry.config_path, name)
        assert set(section) == {f.name for f in dataclasses.fields(entry.config_class)}
        assert build_tracker(name).config == entry.config_class(**section)


def test_core_imports_leave_rclpy_out():
    modules = ['siam_tracker_ros', 'siam_tracker_ros.trackers', 'siam_tracker_ros.cli.main',
               'siam_tracker_ros.runtime', 'siam_tracker_ros.frames']
    code = ('import importlib, pkgutil, sys\n'
            'import siam_tracker_ros\n'
            f'for name in {modules!r}: importlib.import_module(name)\n'
            'for info in pkgutil.walk_packages(siam_tracker_ros.__path__, "siam_tracker_ros."):\n'
            '    if not info.name.startswith("siam_tracker_ros.ros"):\n'
            '        importlib.import_module(info.name)\n'
            'bad = sorted(m for m in sys.modules if m.split(".")[0] in '
            '("rclpy", "rosidl_runtime_py", "sensor_msgs", "vision_msgs"))\n'
            'print(bad); sys.exit(1 if bad else 0)\n')
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_float_weights_are_stored_as_fp16(tmp_path):
    tracker = build_tracker('siamfc')
    payload = load_weights(save_weights(tmp_path / 'h.pt', tracker.net.state_dict(), 'siamfc',
                                        'alexnet'))
    dtypes = {v.dtype for v in payload['state_dict'].values() if v.is_floating_point()}
    assert dtypes == {torch.float16}


def test_config_names_the_backbone_the_weights_file_runs(tmp_path):
    """The weights file's backbone overrides the config's; the tracker's config says so."""
    assert build_tracker('siamrpn').config.backbone == 'alexnet'   # config/siamrpn.yaml
    source = build_tracker('siamrpn', backbone='mobilenetv2', seed=3)
    path = save_weights(tmp_path / 'rpn.pt', source.net.state_dict(), 'siamrpn', 'mobilenetv2',
                        half=False)
    loaded = build_tracker('siamrpn', weights=path)
    assert loaded.config.backbone == 'mobilenetv2'
    assert dataclasses.replace(loaded.config, backbone='alexnet') == build_tracker('siamrpn').config
    dast = build_tracker('dastsiam', weights='default')
    assert (dast.config.trunk, load_weights(dast.weights_path)['backbone']) == \
        ('mobilenetv2', 'mobilenetv2')
