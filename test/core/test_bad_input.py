"""Bad input: each a clear exception, and the tracker state is unchanged."""
import math
import random

import cv2
import numpy as np
import pytest
import torch

from siam_tracker_ros import TrackerInputError, build_tracker
from siam_tracker_ros.config import ConfigError
from siam_tracker_ros.models.weights import WeightsError, save_weights
from siam_tracker_ros.registry import UnknownTrackerError


@pytest.fixture(scope='module')
def frame(sot_dir):
    return cv2.cvtColor(cv2.imread(str(sot_dir / 'otb_Bird2' / 'img' / '0001.jpg')),
                        cv2.COLOR_BGR2RGB)


@pytest.fixture(scope='module')
def tracker():
    return build_tracker('siamfc')


@pytest.mark.parametrize('image,message', [
    (np.zeros((40, 50, 3), np.float32), 'uint8'),
    (np.zeros((40, 50, 4), np.uint8), 'HxWx3'),
    (np.zeros((2, 40, 50, 3), np.uint8), 'HxWx3'),
    (np.zeros((0, 50, 3), np.uint8), 'empty'),
    ([[1, 2], [3, 4]], 'numpy array'),
])
def test_bad_images_are_rejected(tracker, image, message):
    with pytest.raises(TrackerInputError, match=message):
        tracker.init(image, (1, 1, 5, 5))


@pytest.mark.parametrize('box,message', [
    ((10, 10, 0, 20), 'positive'),
    ((10, 10, 20, -3), 'positive'),
    ((10, math.nan, 20, 20), 'non-finite'),
    ((10, 10, math.inf, 20), 'non-finite'),
    ((800, 10, 20, 20), 'outside'),
    ((-50, -50, 20, 20), 'outside'),
    ((-4800, -4800, 10000, 10000), 'larger than 2 times'),  # centred, 10000x10000
    ((100, 100, 30, 5000), 'larger than 2 times'),
    ((1, 2, 3), '4 numbers'),
    ('abcd', '4 numbers'),
])
def test_bad_boxes_are_rejected_and_state_kept(tracker, frame, box, message):
    tracker.init(frame, (81, 217, 69, 73))
    before = tracker.state.center.copy()
    with pytest.raises(TrackerInputError, match=message):
        tracker.init(frame, box)
    assert np.array_equal(tracker.state.center, before)


def test_bad_frame_during_tracking_keeps_state(tracker, frame):
    tracker.init(frame, (81, 217, 69, 73))
    before = (tracker.state.center.copy(), tracker.state.size.copy())
    with pytest.raises(TrackerInputError):
        tracker.track(frame.astype(np.float64))
    assert np.array_equal(tracker.state.center, before[0])
    assert np.array_equal(tracker.state.size, before[1])


def test_unknown_tracker():
    with pytest.raises(UnknownTrackerError, match="unknown tracker 'siamxx'.*siamfc"):
        build_tracker('siamxx')


def test_unknown_config_key_and_wrong_type(tmp_path):
    with pytest.raises(ConfigError, match='unknown SiamFCConfig key.*scale_nmu'):
        build_tracker('siamfc', scale_nmu=3)
    path = tmp_path / 'siamfc.yaml'
    path.write_text('siamfc:\n  window_influence: high\n')
    with pytest.raises(ConfigError, match='window_influence must be float'):
        build_tracker('siamfc', config_path=path)
    with pytest.raises(ConfigError, match='missing SiamFCConfig key.*lost_score'):
        path.write_text('siamfc:\n  scale_num: 3\n')
        build_tracker('siamfc', config_path=path)
    with pytest.raises(ConfigError, match='odd'):
        build_tracker('siamfc', scale_num=4)


def test_missing_corrupt_and_mismatched_weights(tmp_path):
    with pytest.raises(WeightsError, match='not found'):
        build_tracker('siamfc', weights=tmp_path / 'absent.pt')
    corrupt = tmp_path / 'corrupt.pt'
    corrupt.write_bytes(b'PK\x03\x04 definitely not a checkpoint')
    with pytest.raises(WeightsError, match='cannot read'):
        build_tracker('siamfc', weights=corrupt)
    foreign = tmp_path / 'foreign.pt'
    torch.save({'weight': torch.zeros(3)}, foreign)
    with pytest.raises(WeightsError, match='not a siam_tracker_ros.weights'):
        build_tracker('siamfc', weights=foreign)
    mismatched = tmp_path / 'mismatched.pt'
    state = build_tracker('siamfc').net.state_dict()
    state['backbone.conv3.0.weight'] = torch.zeros(384, 256, 5, 5)
    save_weights(mismatched, state, 'siamfc', 'alexnet')
    with pytest.raises(WeightsError, match='does not fit.*conv3'):
        build_tracker('siamfc', weights=mismatched)


def test_any_damaged_weights_file_is_a_weights_error(tmp_path):
    """Random bytes make the unpickler raise IndexError, KeyError, UnicodeDecodeError …: each
    must come out as one WeightsError, never as a stray exception that kills the node."""
    from siam_tracker_ros.models.weights import load_weights, resolve_weights
    shipped = bytearray(resolve_weights('default', 'siamfc').read_bytes())
    path, reasons = tmp_path / 'damaged.pt', set()
    for seed in range(120):
        rng = random.Random(seed)
        if seed % 2:
            data = rng.randbytes(rng.randint(1, 4000))
        else:  # the real file with a run of bytes overwritten
            data, start = bytearray(shipped), rng.randrange(len(shipped))
            data[start:start + 64] = rng.randbytes(64)
        path.write_bytes(bytes(data))
        try:
            load_weights(path)
        except WeightsError as err:
            assert str(err).startswith(f'cannot read weights {path}: ') or 'not a' in str(err)
            assert '\n' not in str(err)
            reasons.add(str(err).split(': ')[1].split(' (')[0])
    assert 'not a loadable checkpoint' in reasons


def test_pickled_code_is_never_executed(tmp_path):
    evil = tmp_path / 'evil.pt'
    marker = tmp_path / 'pwned'
    torch.save({'format': 'x', 'payload': Exploit(str(marker))}, evil)
    with pytest.raises(WeightsError, match='cannot read'):
        build_tracker('siamfc', weights=evil)
    assert not marker.exists()


class Exploit:
    """Unpickling this would create a file: weights_only loading must refuse it."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, 'w'))


def test_bad_runtime_options():
    with pytest.raises(ValueError, match='unknown device'):
        build_tracker('siamfc', device='tpu:0')
    with pytest.raises(ValueError, match='fp16 needs CUDA'):
        build_tracker('siamfc', precision='fp16').init(np.zeros((64, 64, 3), np.uint8),
                                                       (10, 10, 20, 20))
