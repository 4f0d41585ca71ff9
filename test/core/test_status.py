"""TRACKING / LOST hysteresis in the core, as `track()` reports it."""
import numpy as np
import pytest

from siam_tracker_ros import build_tracker
from siam_tracker_ros.config import ConfigError
from siam_tracker_ros.ops.confidence import MapConfidence
from siam_tracker_ros.status import LOST, TRACKING, StatusConfig, TargetStatus


def status_config(**fields):
    values = dict(lost_rule='score', lost_score=0.3, lost_frames=3, recover_score=0.5,
                  recover_frames=2, level_rate=0.5, lost_drop=0.0, lost_apce=0.0, lost_psr=0.0,
                  lost_colour=0.0)
    return StatusConfig(**{**values, **fields})


def test_hysteresis():
    status = TargetStatus(status_config())
    status.start()
    states = [status.update(s) for s in (0.2, 0.2, 0.9, 0.1, 0.1, 0.1, 0.45, 0.6, 0.6)]
    assert states == [TRACKING] * 5 + [LOST, LOST, LOST, TRACKING]


def test_a_confirmed_jump_needs_its_own_count_of_passing_frames():
    """`confirm(3)` while LOST: TRACKING after three passing frames, not `recover_frames`
    (2); a weak frame restarts the count; the next recovery needs `recover_frames` again."""
    status = TargetStatus(status_config())
    status.start()
    assert [status.update(0.1) for _ in range(3)][-1] == LOST
    status.confirm(3)
    assert [status.update(s) for s in (0.9, 0.9, 0.1, 0.9, 0.9, 0.9)] == \
        [LOST] * 5 + [TRACKING]
    assert [status.update(s) for s in (0.1, 0.1, 0.1, 0.9, 0.9)] == \
        [TRACKING, TRACKING, LOST, LOST, TRACKING]
    status.confirm(3)            # while TRACKING it changes nothing
    assert status.update(0.9) == TRACKING


def test_confidence_rule_goes_lost_on_a_flat_map_and_back_on_a_sharp_one():
    """APCE below lost_apce × its running level makes a frame weak even at a high score; the
    level follows only TRACKING frames that were not weak, so it is not dragged down."""
    status = TargetStatus(status_config(lost_rule='confidence', lost_apce=0.5,
                                        recover_score=0.5, recover_frames=2))
    sharp, flat = MapConfidence(0.9, 20.0, 8.0, 0.4), MapConfidence(0.9, 5.0, 8.0, 0.4)
    status.start()
    states = [status.update(c.score, c) for c in [sharp] * 3 + [flat] * 4 + [sharp] * 2]
    assert states == [TRACKING] * 5 + [LOST, LOST, LOST, TRACKING]
    assert status.levels == pytest.approx((0.9, 20.0, 8.0, 1.0))


def test_score_rule_ignores_the_map():
    status = TargetStatus(status_config(lost_rule='score', lost_apce=0.5, lost_frames=1))
    status.start()
    flat = MapConfidence(0.9, 1.0, 1.0, 1.0)
    assert [status.update(0.9, c) for c in (MapConfidence(0.9, 20.0, 8.0, 0.4), flat)] == \
        [TRACKING, TRACKING]


def test_each_relative_test_alone_makes_a_frame_weak():
    reference = MapConfidence(0.9, 20.0, 8.0, 0.4)
    drops = {'lost_drop': MapConfidence(0.5, 20.0, 8.0, 0.4),
             'lost_apce': MapConfidence(0.9, 5.0, 8.0, 0.4),
             'lost_psr': MapConfidence(0.9, 20.0, 2.0, 0.4),
             'lost_colour': MapConfidence(0.9, 20.0, 8.0, 0.4, colour=0.5)}
    for name, dropped in drops.items():
        status = TargetStatus(status_config(lost_rule='confidence', lost_frames=1,
                                            **{name: 0.8}))
        status.start()
        assert status.update(reference.score, reference) == TRACKING
        assert status.update(dropped.score, dropped) == LOST, name


def test_track_reports_lost_when_the_target_is_gone(sot_dir):
    """The real shipped tracker on a real frame, then frames where the target is blanked out:
    the score falls and the state turns LOST after lost_frames frames, as configured."""
    import cv2
    frame = cv2.cvtColor(cv2.imread(str(sot_dir / 'otb_Crossing' / 'img' / '0001.jpg')),
                         cv2.COLOR_BGR2RGB)
    tracker = build_tracker('siamfc', weights='default', lost_frames=2, lost_score=0.5)
    tracker.init(frame, (204, 150, 17, 50))
    assert tracker.track(frame).state == TRACKING
    blank = np.full_like(frame, 127)
    states = [tracker.track(blank) for _ in range(3)]
    assert all(r.score < 0.5 for r in states)
    assert [r.state_name for r in states] == ['TRACKING', 'LOST', 'LOST']
    tracker.init(frame, (204, 150, 17, 50))
    assert tracker.track(frame).state == TRACKING


@pytest.mark.parametrize('field, value', [('lost_frames', 0), ('lost_rule', 'psr'),
                                          ('level_rate', 0.0), ('lost_apce', -1.0),
                                          ('lost_colour', -0.5)])
def test_bad_status_config_is_refused(field, value):
    with pytest.raises(ConfigError, match=field):
        build_tracker('siamfc', **{field: value})


def run_hidden(tracker, sequence, hide, shown: int, hidden: int, back: int):
    """States over `shown` real frames, `hidden` frames with the search region replaced by
    scenery from elsewhere, then `back` real frames again; then the last frame's score and the
    IoU of its box with the ground truth."""
    from siam_tracker_ros.evaluation.metrics import rect_iou
    from siam_tracker_ros.evaluation.runner import load_frame
    tracker.init(load_frame(sequence.frames[0]), tuple(sequence.boxes[0]))
    states = []
    for index in range(1, 1 + shown + hidden + back):
        frame = load_frame(sequence.frames[index])
        if shown < index <= shown + hidden:
            frame = hide(frame, tracker.state.center, 1.5 * tracker.state.s_x)
        result = tracker.track(frame)
        states.append(result.state)
    iou = rect_iou(np.array([result.box]), sequence.boxes[index][None])[0]
    return (states[:shown], states[shown:shown + hidden], states[shown + hidden:],
            result.score, iou)


def hidden_clip(sot_dir, clip):
    from siam_tracker_ros.datasets import load_dataset
    return next(s for s in load_dataset(sot_dir).sequences if s.name == clip)


def test_shipped_status_loses_a_hidden_target_and_finds_it_again(sot_dir, hide_search_region):
    """The shipped siamfc with its calibrated status on a real clip: TRACKING while the
    target is seen, LOST no sooner than lost_frames hidden frames, TRACKING again no sooner
    than recover_frames frames after it is back, with the box on it."""
    tracker = build_tracker('siamfc', weights='default')
    cfg = tracker.config
    seen, hidden, back, _, iou = run_hidden(tracker, hidden_clip(sot_dir, 'otb_DragonBaby'),
                                            hide_search_region, 5, cfg.lost_frames + 10,
                                            cfg.recover_frames + 15)
    assert set(seen) == {TRACKING}
    assert LOST in hidden and hidden.index(LOST) >= cfg.lost_frames - 1
    assert back[:cfg.recover_frames - 1] == [LOST] * (cfg.recover_frames - 1)
    assert back[-1] == TRACKING and iou > 0.5


def test_shipped_status_stays_lost_on_a_confident_distractor(sot_dir, hide_search_region):
    """vot15_ball1: while the ball is hidden the tracker settles on something else and keeps
    it at a high score after the ball is back. The map alone calls that TRACKING (the same
    setting without the colour test); the colour test keeps it LOST."""
    clip = hidden_clip(sot_dir, 'vot15_ball1')
    cfg = build_tracker('siamfc').config
    runs = {}
    for colour in (cfg.lost_colour, 0.0):
        tracker = build_tracker('siamfc', weights='default', lost_colour=colour)
        runs[colour] = run_hidden(tracker, clip, hide_search_region, 5, cfg.lost_frames + 10,
                                  cfg.recover_frames + 15)
    seen, hidden, back, score, iou = runs[cfg.lost_colour]
    assert cfg.lost_colour > 0 and score > 0.9 and iou < 0.1
    assert set(seen) == {TRACKING} and LOST in hidden and set(back) == {LOST}
    _, _, back_without, _, iou_without = runs[0.0]
    assert iou_without < 0.1 and back_without[-1] == TRACKING
