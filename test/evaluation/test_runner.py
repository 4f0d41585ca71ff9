"""Runner: one-pass and reset protocols, result formats, resuming, parallel workers."""
import numpy as np
import pytest

from siam_tracker_ros.datasets import load_dataset
from siam_tracker_ros.datasets.sequence import Sequence
from siam_tracker_ros.evaluation import results as res
from siam_tracker_ros.evaluation.runner import (RunSpec, make_tracker, run_dataset,
                                               track_one_pass, track_reset)
from siam_tracker_ros.registry import UnknownTrackerError
from siam_tracker_ros.trackers.base import Tracker
from siam_tracker_ros.types import TrackResult

from conftest import write_frames

GT = (10.0, 10.0, 20.0, 20.0)
FAR = (40.0, 25.0, 5.0, 5.0)


class ScriptedTracker(Tracker):
    """Returns the ground truth except on the frames listed in `lose`."""

    def __init__(self, lose=()):
        self.lose, self.inits, self.frame = set(lose), [], 0

    def init(self, image, box):
        self.inits.append(self.frame)
        self.frame += 1

    def track(self, image):
        box = FAR if self.frame in self.lose else GT
        self.frame += 1
        return TrackResult(box=box, score=1.0)


def _sequence(tmp_path, n=20):
    frames = write_frames(tmp_path / 'seq' / 'img', n)
    return Sequence(name='seq', frames=tuple(str(f) for f in frames),
                    boxes=np.tile(GT, (n, 1)))




def test_one_pass_records_init_box_and_times(tmp_path):
    trajectory, times = track_one_pass(ScriptedTracker(lose={3}), _sequence(tmp_path, 5))
    assert trajectory[0] == GT and trajectory[3] == FAR and len(times) == 5
    assert all(t >= 0 for t in times)


def test_reset_protocol_reinitialises_five_frames_after_a_failure(tmp_path):
    sequence = _sequence(tmp_path)
    tracker = ScriptedTracker(lose={5})
    trajectory, times = track_reset(tracker, sequence)
    assert len(trajectory) == len(times) == 20
    assert trajectory[0] == (1,) and trajectory[5] == (2,)
    assert trajectory[6:10] == [(0,)] * 4 and trajectory[10] == (1,)
    assert trajectory[11:] == [GT] * 9
    # counted in calls: init, 4 tracks and the failed track, then the re-init is call 6
    assert tracker.inits == [0, 6]


def test_reset_protocol_failure_near_the_end(tmp_path):
    trajectory, _ = track_reset(ScriptedTracker(lose={17}), _sequence(tmp_path))
    assert trajectory[17:] == [(2,), (0,), (0,)]


def test_reset_protocol_waits_for_ground_truth_to_reinitialise(tmp_path):
    sequence = _sequence(tmp_path)
    sequence.boxes[10:12] = np.nan                      # target absent where re-init is due
    trajectory, _ = track_reset(ScriptedTracker(lose={5}), sequence)
    assert trajectory[5:13] == [(2,)] + [(0,)] * 6 + [(1,)]


def test_one_pass_needs_a_first_box(tmp_path):
    sequence = _sequence(tmp_path, 3)
    sequence.boxes[0] = np.nan
    with pytest.raises(Exception, match='no valid ground-truth box at frame 1'):
        track_one_pass(ScriptedTracker(), sequence)


def test_result_files_round_trip_in_the_dataset_convention(tmp_path):
    box_path, time_path = res.result_paths(tmp_path, 'trk', 'seq', 'vot')
    assert box_path == tmp_path / 'trk' / 'baseline' / 'seq' / 'seq_001.txt'
    trajectory = [(1,), (0.5, 1.0, 3.0, 4.0), (2,), (0,)]
    res.write_result(box_path, time_path, trajectory, [0.1, 0.2, 0.0, 0.0], one_based=True)
    assert box_path.read_text().splitlines() == ['1', '1.500,2.000,3.000,4.000', '2', '0']
    assert res.read_trajectory(box_path, 4, one_based=True) == trajectory
    np.testing.assert_allclose(res.read_times(time_path), [0.1, 0.2, 0.0, 0.0])
    ope_path, ope_time = res.result_paths(tmp_path, 'trk', 'seq', 'ope')
    res.write_result(ope_path, ope_time, [(0.0, 0.0, 2.0, 2.0)], [0.1], one_based=False)
    np.testing.assert_array_equal(res.read_boxes(ope_path, 1, one_based=False), [[0, 0, 2, 2]])
    with pytest.raises(Exception, match=r'seq.txt: 1 result lines for 2 frames'):
        res.read_boxes(ope_path, 2, one_based=False)


def test_unknown_tracker_lists_the_known_ones():
    with pytest.raises(UnknownTrackerError, match=r"unknown tracker 'nope'.*csrt.*mosse"):
        make_tracker('nope')


def test_run_dataset_resumes_and_parallel_equals_serial(sot_dir, tmp_path):
    dataset = load_dataset(sot_dir)
    sequences = [s for s in dataset.sequences if s.name in ('otb_Bird2', 'vot15_ball1')]
    serial = RunSpec(tracker='mosse', results_dir=str(tmp_path / 'serial'))
    parallel = RunSpec(tracker='mosse', results_dir=str(tmp_path / 'parallel'))
    assert run_dataset(serial, sequences, workers=1, progress=False) == 2
    assert run_dataset(serial, sequences, workers=1, progress=False) == 0     # resumed
    assert run_dataset(parallel, sequences, workers=2, progress=False) == 2
    for sequence in sequences:
        a = res.result_paths(serial.results_dir, 'mosse', sequence.name, 'ope')[0]
        b = res.result_paths(parallel.results_dir, 'mosse', sequence.name, 'ope')[0]
        assert a.read_text() == b.read_text()
    box_path = res.result_paths(serial.results_dir, 'mosse', 'otb_Bird2', 'ope')[0]
    box_path.write_text('1,2,3,4\n')                               # truncated result
    assert run_dataset(serial, sequences, workers=1, progress=False) == 1
    assert len(box_path.read_text().splitlines()) == 99


def test_missing_frame_while_running_names_the_file(tmp_path):
    sequence = _sequence(tmp_path, 3)
    (tmp_path / 'seq' / 'img' / '0002.jpg').unlink()
    with pytest.raises(Exception, match=r'0002.jpg: cannot read image'):
        track_one_pass(ScriptedTracker(), sequence)
