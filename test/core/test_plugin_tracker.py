"""A tracker defined in the test folder (test/plugins/toy_tracker.py: its own config, network,
loss and decoder) runs through build_tracker, `siam-track run`, `siam-track eval` and one
`siam-track train` step without any change to library files (docs/architecture.md). The node
is driven in test/ros/test_ros_plugin_tracker.py."""
import os
from pathlib import Path

import numpy as np
import pytest

import toy_tracker  # noqa: F401  the test's own plugin module (test/plugins): registers 'toy'

from siam_tracker_ros import build_tracker, tracker_names
from siam_tracker_ros.evaluation.results import read_boxes

import tiny_data
from tiny_data import write_media, write_train_config

PLUGINS = Path(__file__).resolve().parents[1] / 'plugins'


def plugin_env() -> dict:
    """A child process registers the plugin as an installed one would: from the environment."""
    path = os.pathsep.join(filter(None, [str(PLUGINS), os.environ.get('PYTHONPATH')]))
    return {'SIAM_TRACKER_PLUGINS': 'toy_tracker', 'PYTHONPATH': path}


def siam_track(*args) -> str:
    return tiny_data.siam_track(*args, env=plugin_env())


def test_the_plugin_is_registered_and_built():
    assert 'toy' in tracker_names()
    tracker = build_tracker('toy', channels=6)
    assert isinstance(tracker, toy_tracker.ToyTracker) and tracker.config.channels == 6
    assert tracker.net.embed.out_channels == 6


def test_build_tracker_follows_a_moving_patch(sot_dir):
    import cv2
    frame = cv2.cvtColor(cv2.imread(str(sot_dir / 'otb_DragonBaby' / 'img' / '0001.jpg')),
                         cv2.COLOR_BGR2RGB)
    blocks = np.random.default_rng(0).integers(0, 256, (6, 6, 3), dtype=np.uint8)
    patch = np.repeat(np.repeat(blocks, 8, axis=0), 8, axis=1)  # 8×8 colour blocks
    tracker = build_tracker('toy', seed=1)
    errors = []
    for t in range(8):
        image = frame.copy()
        x, y = 200 + 5 * t, 120 + 3 * t
        image[y:y + 48, x:x + 48] = patch
        if t == 0:
            tracker.init(image, (x, y, 48, 48))
            continue
        result = tracker.track(image)
        errors.append(np.hypot(result.box[0] - x, result.box[1] - y))
        assert result.state_name == 'TRACKING' and set(tracker.last_timing) >= {'crop',
                                                                                 'network'}
    assert max(errors) <= 8.0, errors


def test_siam_track_list_run_and_eval(sot_dir, tmp_path):
    assert 'toy' in siam_track('list')
    sequence = sot_dir / 'otb_Crossing'
    out = tmp_path / 'toy.txt'
    siam_track('run', '--tracker', 'toy', '--weights', 'none', '--input', str(sequence),
               '--out', str(out), '--max-frames', '15')
    lines = out.read_text().split()
    assert len(lines) == 15 and all(line.split(',')[5] in ('TRACKING', 'LOST') for line in lines)
    assert read_boxes(out, 15, one_based=False).shape == (15, 4)  # eval reads the first four
    report = siam_track('eval', '--dataset', str(sot_dir), '--tracker', 'toy', '--weights',
                        'none', '--max-sequences', '1', '--out', str(tmp_path / 'eval'),
                        '--no-progress', '--workers', '1')
    assert '| toy |' in report


def test_one_siam_track_train_step_writes_loadable_weights(tmp_path):
    write_media(tmp_path)
    config = write_train_config(tmp_path, name='toy', tracker='toy', optimizer='adamw')
    siam_track('train', '--config', str(config), '--no-progress')
    weights = tmp_path / 'runs' / 'toy' / 'best_weights.pt'
    tracker = build_tracker('toy', weights=weights)
    assert tracker.weights_path == str(weights)
    with pytest.raises(Exception, match='not usable by siamfc'):
        build_tracker('siamfc', weights=weights)
