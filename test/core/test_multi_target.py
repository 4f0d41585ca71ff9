"""Several targets in one tracker (issue 14 item 3): `track_many` batches the search crops of all
targets and gives the boxes each target gets when tracked alone, on a real sequence, for the
SiamFC family and the RPN family, each with its shipped weights (siamfc, siamrpn)."""
import time

import cv2
import numpy as np
import pytest
import torch

from siam_tracker_ros import build_tracker
from siam_tracker_ros.datasets.otb import read_otb_sequence
from siam_tracker_ros.models.weights import resolve_weights
from siam_tracker_ros.types import TrackerStateError

FRAMES = 12
SHIFTS = ((0, 0), (-90, 30), (120, -40))   # target 0: the ground truth; 1, 2: elsewhere
CROSSING_SHIFTS = ((0, 0), (-90, 30))   # on otb_Crossing target 1 goes LOST at frame 5


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


def shifted_targets(sot_dir, name, count, shifts):
    """(frames, start boxes) of a dev sequence: its ground truth shifted by each of `shifts`."""
    sequence = read_otb_sequence(sot_dir / name)[0]
    frames = [cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB)
              for f in sequence.frames[:count]]
    x, y, w, h = sequence.boxes[0]
    return frames, [(x + dx, y + dy, w, h) for dx, dy in shifts]


@pytest.fixture(scope='module')
def clip(sot_dir):
    return shifted_targets(sot_dir, 'otb_DragonBaby', FRAMES, SHIFTS)


def make(name, **overrides):
    weights = resolve_weights('default', name)
    assert weights is not None, f'{name} ships weights'
    return build_tracker(name, weights=weights, device='cpu', **overrides)


def alone(name, frames, box, **overrides) -> np.ndarray:
    """The boxes of one target tracked on its own with init/track."""
    tracker = make(name, **overrides)
    tracker.init(frames[0], box)
    return np.array([tracker.track(frame).box for frame in frames[1:]])


@pytest.mark.parametrize('step', ['host', 'device'])
@pytest.mark.parametrize('name', ['siamfc', 'siamrpn'])
def test_batched_targets_match_targets_tracked_alone(name, step, clip):
    """On the device step too: all targets' windows cropped in one call, one search batch,
    one transfer for all maps and decisions."""
    frames, boxes = clip
    tracker = make(name, step=step)
    assert tracker.batch_targets and tracker.on_device == (step == 'device')
    targets = [tracker.start_target(frames[0], box) for box in boxes]
    batched = []
    for frame in frames[1:]:
        results = tracker.track_many(frame, targets)
        assert len(results) == len(targets)
        batched.append([r.box for r in results])
    batched = np.array(batched)                  # frames × targets × 4
    for k, box in enumerate(boxes):
        reference = alone(name, frames, box, step=step)
        error = np.abs(batched[:, k] - reference).max()
        assert error <= 1.0, f'target {k}: batched boxes differ by {error:.3f} px'
    moved = np.abs(batched[-1] - np.array(boxes)).max(axis=1)
    assert (moved > 1.0).any(), 'the targets moved (the comparison is not of frozen boxes)'
    assert tracker.state is None, "the tracker's own target is untouched"


@pytest.mark.parametrize('step', ['host', 'device'])
def test_batched_targets_keep_their_own_redetection(sot_dir, step):
    """With `redetect`, a LOST target adds its own tiles to the batch and keeps its own scan:
    the boxes still match each target tracked alone (on otb_Crossing target 1, off the
    walker, goes LOST at frame 5 while target 0 follows the walker)."""
    frames, boxes = shifted_targets(sot_dir, 'otb_Crossing', 11, CROSSING_SHIFTS)
    tracker = make('siamfc', redetect=True, step=step)
    targets = [tracker.start_target(frames[0], box) for box in boxes]
    batched, states = [], set()
    for frame in frames[1:]:
        results = tracker.track_many(frame, targets)
        batched.append([r.box for r in results])
        states |= {(k, r.state_name) for k, r in enumerate(results)}
    assert (1, 'LOST') in states and (0, 'TRACKING') in states, \
        'target 1 never went LOST beside a tracked target 0: no re-detection compared'
    batched = np.array(batched)
    for k, box in enumerate(boxes):
        error = np.abs(batched[:, k] - alone('siamfc', frames, box, redetect=True,
                                             step=step)).max()
        assert error <= 1.0, f'target {k}: batched boxes differ by {error:.3f} px'


def test_search_branch_runs_once_per_frame_for_all_targets(clip):
    frames, boxes = clip
    tracker = make('siamfc')
    targets = [tracker.start_target(frames[0], box) for box in boxes]
    runner = tracker.runner()
    batches = []
    search = runner.search
    runner.search = lambda crops: batches.append(len(crops)) or search(crops)
    tracker.track_many(frames[1], targets)
    assert batches == [3 * tracker.config.scale_num]


def test_own_target_is_untouched_by_started_targets(clip):
    frames, boxes = clip
    tracker = make('siamfc')
    tracker.init(frames[0], boxes[0])
    other = tracker.start_target(frames[0], boxes[1])
    interleaved = []
    for frame in frames[1:6]:
        interleaved.append(tracker.track(frame).box)
        tracker.track_many(frame, [other])
    np.testing.assert_array_equal(interleaved, alone('siamfc', frames[:6], boxes[0]))


def test_a_target_never_started_is_refused(clip):
    frames, boxes = clip
    tracker = make('siamfc')
    started = tracker.start_target(frames[0], boxes[0])
    broken = tracker.start_target(frames[0], boxes[1])
    broken.state = None
    with pytest.raises(TrackerStateError):
        tracker.track_many(frames[1], [started, broken])


def test_the_node_worker_batches_the_targets_of_one_tracker():
    from siam_tracker_ros.ros.worker import TrackedTarget, batches
    siamfc, dsiam = make('siamfc'), build_tracker('dsiam', device='cpu')
    targets = [TrackedTarget(f'fc{k}', siamfc, None, 0) for k in range(5)]
    targets[2:2] = [TrackedTarget(f'ds{k}', dsiam, None, 0) for k in range(2)]

    def ids(groups):
        return [[t.target_id for t in group] for group in groups]

    fc = [f'fc{k}' for k in range(5)]
    assert ids(batches(targets)) == [fc, ['ds0'], ['ds1']], 'dsiam: one target at a time'
    assert ids(batches(targets, 2)) == [fc[:2], fc[2:4], fc[4:], ['ds0'], ['ds1']]
    assert ids(batches(targets, 1)) == [[i] for i in fc + ['ds0', 'ds1']]


def test_a_one_target_tracker_in_the_node_worker(clip):
    """A tracker that holds one target (an OpenCV baseline: a plain `Tracker`) serves one id
    in the real worker thread: a second id is refused with a reason, the same id replaces it,
    and its frames are tracked."""
    from siam_tracker_ros.baselines.opencv import OpenCVTracker
    from siam_tracker_ros.ros.frames import FrameStore
    from siam_tracker_ros.ros.worker import InitJob, TrackingWorker
    frames, boxes = clip
    store, published = FrameStore(8), []
    worker = TrackingWorker(store, lambda image: image, published.append, print, max_targets=2)
    worker.start()
    tracker = OpenCVTracker('csrt')
    try:
        first = store.add(frames[0], 1, 1)

        def init(target_id, box):
            job = InitJob(first, frames[0], box, tracker, target_id)
            assert worker.submit(job, 30.0)
            return job.error

        assert init('a', boxes[0]) == ''
        assert 'follows one target at a time' in init('b', boxes[1])
        assert init('a', boxes[0]) == ''
        store.add(frames[1], 2, 2)
        deadline = time.monotonic() + 30.0
        while time.monotonic() < deadline and not any(p.frame.seq == 2 for p in published):
            time.sleep(0.05)
    finally:
        worker.stop()
    tracked = [o for p in published if p.frame is not None and p.frame.seq == 2
               for o in p.targets]
    assert [o.target_id for o in tracked] == ['a'] and tracked[0].box is not None
