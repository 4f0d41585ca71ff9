"""Bad input: each a clear exception, and the tracker state is unchanged."""
import math
import random

import cv2
import numpy as np
import pytest
import torch

from siam_tracker_ros import TrackerInputError, build_tracker
from siam_tracker_ros.status import TargetStatus
from siam_tracker_ros.trackers.siamese import Target
from siam_tracker_ros.types import TrackerStateError
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
    ('1234', '4 numbers'),                       # not unpacked digit by digit
    (bytes([200, 100, 17, 50]), '4 numbers'),
    ((True, True, True, True), '4 numbers'),
    ((0.567, 0.625, 0.047, 0.208), 'smaller than 1 px'),   # normalised, not pixels
    ((204, 150, 1e-9, 1e-9), 'smaller than 1 px'),
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


TRACKERS = ('siamfc', 'dsiam', 'siam_gam', 'dyconv_fusion', 'siamrpn', 'dastsiam')


def shipped(name):
    """`name` with its shipped weights."""
    return build_tracker(name, weights='default')


@pytest.fixture(scope='module')
def crossing(sot_dir):
    """Two real frames of otb_Crossing and its first box."""
    paths = sorted((sot_dir / 'otb_Crossing' / 'img').glob('*.jpg'))[:2]
    return [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in paths], \
        (204, 150, 17, 50)


@pytest.mark.parametrize('name', TRACKERS)
def test_a_frame_of_another_size_is_refused_and_changes_nothing(crossing, name):
    """A target's box and windows are in its init frame's pixels: a frame of another size
    (a camera switching resolution) is refused, on `track` and on `track_many`, and the
    next frame of the right size gives the box it would have given anyway."""
    (first, second), box = crossing
    tracker = shipped(name)
    tracker.init(first, box)
    expected = tracker.track(second).box
    tracker.init(first, box)
    for other in (np.zeros((1, 1, 3), np.uint8), cv2.resize(first, (120, 80)),
                  np.zeros((2, 4000, 3), np.uint8)):
        with pytest.raises(TrackerInputError, match='started on a 360x240 frame'):
            tracker.track(other)
    assert tracker.track(second).box == expected
    target = tracker.start_target(first, box)
    with pytest.raises(TrackerInputError, match='started on a 360x240 frame'):
        tracker.track_many(cv2.resize(second, (120, 80)), [target])
    assert tracker.track_many(second, [target])[0].box == expected


@pytest.mark.parametrize('name', ['siamfc', 'dsiam'])   # batched, and one target at a time
def test_track_many_checks_every_handle_before_moving_any(crossing, name):
    (first, second), box = crossing
    tracker = shipped(name)
    moved, kept = tracker.start_target(first, box), tracker.start_target(first, box)
    foreign = shipped('siamrpn').start_target(first, box)
    never_started = Target(None, TargetStatus(tracker.config), tracker)
    for handles, message in (([moved, moved], 'same target twice'),
                             ([moved, None], 'start_target returned, got NoneType'),
                             ([moved, foreign], 'start_target returned, got Target'),
                             ([moved, never_started], 'never started')):
        with pytest.raises(TrackerStateError, match=message):
            tracker.track_many(second, handles)
    assert tracker.track_many(second, [moved])[0].box == \
        tracker.track_many(second, [kept])[0].box


def test_unknown_tracker():
    with pytest.raises(UnknownTrackerError, match="unknown tracker 'siamxx'.*siamfc"):
        build_tracker('siamxx')
    with pytest.raises(UnknownTrackerError, match=r"unknown tracker \['siamfc'\]"):
        build_tracker(['siamfc'])


@pytest.mark.parametrize('weights', [123, 1.5, ['a.pt'], b'a.pt'])
def test_weights_that_are_not_a_path_are_refused(weights):
    with pytest.raises(WeightsError, match='weights must be a file path'):
        build_tracker('siamfc', weights=weights)


@pytest.mark.parametrize('weights', ['', '  '])
def test_empty_weights_are_refused_not_a_random_init(weights):
    with pytest.raises(WeightsError, match='names no file; pass None'):
        build_tracker('siamfc', weights=weights)


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
    path.write_text('siamfc:\n  scale_num: [3, 5\n  context: 0.5\n')
    with pytest.raises(ConfigError, match=r'invalid YAML at line 3, column \d+: expected') as err:
        build_tracker('siamfc', config_path=path)
    assert '\n' not in str(err.value)


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


def test_weights_with_unusable_values_are_refused(tmp_path):
    """Loadable files whose contents cannot track: NaN (a diverged run), integers where the
    network has floats, a non-tensor entry, and input metadata that cannot be applied."""
    state = build_tracker('siamfc').net.state_dict()
    key = 'backbone.conv3.0.weight'
    cases = [({key: torch.full_like(state[key], math.nan)}, {}, f'{key} holds NaN or inf'),
             ({key: state[key].to(torch.int64)}, {}, f'{key} should hold floating-point'),
             ({key: 3}, {}, f"state_dict\\['{key}'\\] is a int, not a tensor"),
             ({}, {'input': 'RGB'}, 'bad input format: .*mapping'),
             ({}, {'input': {'mean': [0.5, 0.5]}}, 'bad input format: .*3 values'),
             ({}, {'input': {'std': [1.0, 0.0, 1.0]}}, 'bad input format: .*> 0'),
             ({}, {'input': {'order': 'XYZ'}}, 'bad input format: .*RGB or BGR')]
    for index, (replaced, extra, message) in enumerate(cases):
        path = tmp_path / f'case{index}.pt'
        save_weights(path, state, 'siamfc', 'alexnet', half=False)
        payload = torch.load(path, weights_only=True)
        payload['state_dict'].update(replaced)
        payload.update(extra)
        torch.save(payload, path)
        with pytest.raises(WeightsError, match=message):
            build_tracker('siamfc', weights=path)


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
            assert str(err).startswith(f'cannot read weights {path}: ') or 'not a' in str(err) \
                or 'holds NaN or inf' in str(err)   # bytes overwritten inside a tensor
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
    with pytest.raises(ValueError, match='graphs backend replays CUDA graphs and needs CUDA'):
        build_tracker('siamfc', backend='graphs', device='cpu')
