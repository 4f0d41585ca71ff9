"""TRACKING / LOST hysteresis in the core, as `track()` reports it."""
import numpy as np
import pytest

from siam_tracker_ros import build_tracker
from siam_tracker_ros.config import ConfigError
from siam_tracker_ros.status import LOST, TRACKING, StatusConfig, TargetStatus


def test_hysteresis():
    status = TargetStatus(StatusConfig(lost_score=0.3, lost_frames=3, recover_score=0.5,
                                       recover_frames=2))
    status.start()
    states = [status.update(s) for s in (0.2, 0.2, 0.9, 0.1, 0.1, 0.1, 0.45, 0.6, 0.6)]
    assert states == [TRACKING] * 5 + [LOST, LOST, LOST, TRACKING]


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


def test_bad_status_config_is_refused():
    with pytest.raises(ConfigError, match='lost_frames'):
        build_tracker('siamfc', lost_frames=0)
