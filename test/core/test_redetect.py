"""Re-detection while LOST (trackers/redetect.py) on real frames with the shipped weights."""
import numpy as np
import pytest

from siam_tracker_ros import build_tracker
from siam_tracker_ros.datasets import load_dataset
from siam_tracker_ros.evaluation.metrics import rect_iou
from siam_tracker_ros.evaluation.runner import load_frame
from siam_tracker_ros.status import LOST, TRACKING
from siam_tracker_ros.trackers.redetect import (best_candidate, frame_tiles, search_order,
                                                tile_spacing)


@pytest.fixture(scope='module')
def sequences(sot_dir):
    return {s.name: s for s in load_dataset(sot_dir).sequences}


def hidden_run(tracker, sequence, hide, hidden: int, back: int):
    """States and last box: 5 real frames, `hidden` frames with the search region replaced
    by scenery, then `back` real frames."""
    tracker.init(load_frame(sequence.frames[0]), tuple(sequence.boxes[0]))
    states, result = [], None
    for index in range(1, 6 + hidden + back):
        frame = load_frame(sequence.frames[index])
        if 5 < index <= 5 + hidden:
            frame = hide(frame, tracker.state.center, 1.5 * tracker.state.s_x)
        result = tracker.track(frame)
        states.append(result.state)
    return states, result.box, index


def test_redetection_finds_the_target_again_where_the_plain_tracker_stays_lost(
        sequences, hide_search_region):
    """Surfing06: while the surfer is hidden the plain tracker drifts and stays LOST after
    the surfer is back; with redetect it is TRACKING on the surfer again (IoU >= 0.1)."""
    sequence = sequences['dtb70_Surfing06']
    runs = {}
    for redetect in (False, True):
        tracker = build_tracker('siamfc', weights='default', redetect=redetect)
        cfg = tracker.config
        runs[redetect] = hidden_run(tracker, sequence, hide_search_region,
                                    cfg.lost_frames + 10, cfg.recover_frames + 15)
    (plain, _, _), (found, box, last) = runs[False], runs[True]
    assert LOST in plain and plain[-1] == LOST
    assert LOST in found and found[-1] == TRACKING
    assert rect_iou(np.array([box]), sequence.boxes[last:last + 1])[0] >= 0.1


def test_a_jump_stays_lost_until_it_is_confirmed(sequences, hide_search_region):
    """After a re-detection jump the state stays LOST until `redetect_confirm` frames pass
    (the jump frame counts); with 1 the jump frame itself may be TRACKING."""
    sequence = sequences['dtb70_Surfing06']
    for confirm in (1, 3):
        tracker = build_tracker('siamfc', weights='default', redetect=True,
                                redetect_confirm=confirm)
        tracker.init(load_frame(sequence.frames[0]), tuple(sequence.boxes[0]))
        hidden = range(6, 6 + tracker.config.lost_frames + 10)
        states, jumps = [], []
        for index in range(1, hidden.stop + 20):
            frame = load_frame(sequence.frames[index])
            if index in hidden:
                frame = hide_search_region(frame, tracker.state.center, 1.5 * tracker.state.s_x)
            states.append(tracker.track(frame).state)
            if tracker.state.jumped:
                jumps.append(len(states) - 1)
        assert jumps and states[-1] == TRACKING, confirm
        after = [states[j:j + confirm - 1] for j in jumps]
        assert all(set(s) <= {LOST} for s in after), (confirm, states, jumps)
        if confirm == 1:
            assert any(states[j] == TRACKING for j in jumps)


def test_redetection_changes_nothing_while_tracking(sequences):
    """On a clip the tracker never loses, redetect on and off give the same boxes."""
    sequence = sequences['otb_Bird2']
    boxes = {}
    for redetect in (False, True):
        tracker = build_tracker('siamfc', weights='default', redetect=redetect)
        tracker.init(load_frame(sequence.frames[0]), tuple(sequence.boxes[0]))
        results = [tracker.track(load_frame(p)) for p in sequence.frames[1:15]]
        assert {r.state for r in results} == {TRACKING}
        boxes[redetect] = [r.box for r in results]
    assert boxes[True] == boxes[False]


def test_tiles_cover_the_frame_nearest_first():
    spacing = tile_spacing(200.0, 127, 255)
    order = search_order((100.0, 300.0), spacing, (720, 1280))
    assert tuple(order[0]) == (100.0, 300.0)
    distances = np.hypot(*(order - order[0]).T)
    assert (np.diff(distances) >= 0).all()
    ys, xs = np.mgrid[0:720:7, 0:1280:7]
    pixels = np.stack([xs.ravel(), ys.ravel()], 1)
    gaps = np.abs(pixels[:, None, :] - order[None]).max(axis=2).min(axis=1)
    assert gaps.max() <= spacing / 2
    seen = set()
    for step in range(len(order)):
        seen.update(frame_tiles(order, step, 9))
    assert seen == {tuple(p) for p in order[1:]}


def test_best_candidate_is_the_highest_peak_and_its_offset():
    maps = np.zeros((3, 17, 17), np.float32)
    maps[1, 8, 8], maps[2, 3, 12] = 2.0, 5.0
    candidate = best_candidate(maps, [(0, 0), (10, 10), (50, 60)], cell=2.0)
    assert (candidate.tile, candidate.center, candidate.raw_peak) == (2, (50, 60), 5.0)
    assert candidate.displacement == (8.0, -10.0)


def test_trackers_without_tiles_refuse_redetect():
    with pytest.raises(ValueError, match='redetect'):
        build_tracker('dsiam', redetect=True)
