"""A tracker defined in the test folder (test/plugins/toy_tracker.py: its own config, network,
loss and decoder) runs through build_tracker, `siam-track run`, `siam-track eval` and one
`siam-track train` step without any change to library files (docs/architecture.md). The node
is driven in test/ros/test_ros_plugin_tracker.py."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

PLUGINS = Path(__file__).resolve().parents[1] / 'plugins'
sys.path.insert(0, str(PLUGINS))  # the test's own plugin module, as a user's would be installed
import toy_tracker  # noqa: E402  (registers 'toy')

from siam_tracker_ros import build_tracker, tracker_names  # noqa: E402
from siam_tracker_ros.evaluation.results import read_boxes  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'training'))
from tiny_data import write_media  # noqa: E402


def plugin_env() -> dict:
    env = dict(os.environ, SIAM_TRACKER_PLUGINS='toy_tracker')
    env['PYTHONPATH'] = os.pathsep.join(filter(None, [str(PLUGINS), env.get('PYTHONPATH')]))
    return env


def siam_track(*args, cwd=None):
    result = subprocess.run([sys.executable, '-m', 'siam_tracker_ros.cli.main', *args],
                            env=plugin_env(), capture_output=True, text=True, cwd=cwd,
                            timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


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
    config = tmp_path / 'toy_train.yaml'
    config.write_text(textwrap.dedent(f"""\
        train:
          name: toy
          tracker: toy
          device: cpu
          threads: 1
          epochs: 1
          pairs_per_epoch: 2
          batch_size: 2
          optimizer: adamw
          lr_start: 1.0e-3
          lr_end: 1.0e-3
          out_dir: {tmp_path / 'runs'}
          data:
            cache_dir: {tmp_path}
            synthetic: 1.0
        """))
    siam_track('train', '--config', str(config), '--no-progress')
    weights = tmp_path / 'runs' / 'toy' / 'best_weights.pt'
    tracker = build_tracker('toy', weights=weights)
    assert tracker.weights_path == str(weights)
    with pytest.raises(Exception, match='not usable by siamfc'):
        build_tracker('siamfc', weights=weights)
