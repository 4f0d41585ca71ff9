"""OpenCV baselines behind the Tracker interface, on real dev-set frames."""
import math

import numpy as np
import pytest

from siam_tracker_ros.baselines import baseline_names, build_baseline
from siam_tracker_ros.datasets import load_dataset
from siam_tracker_ros.evaluation.metrics import rect_iou
from siam_tracker_ros.evaluation.runner import load_frame
from siam_tracker_ros.types import TrackerInputError, TrackerStateError, TrackResult


@pytest.fixture(scope='module')
def bird(sot_dir):
    return next(s for s in load_dataset(sot_dir).sequences if s.name == 'otb_Bird2')


@pytest.mark.parametrize('name', ['csrt', 'kcf', 'mil', 'mosse'])
def test_baseline_tracks_real_frames(name, bird):
    """30 frames of otb_Bird2: results of the tracker type, and boxes that follow the bird
    (mean IoU with the ground truth: CSRT 0.75, MOSSE 0.73, MIL 0.37, KCF 0.25; the init box
    held still scores 0.18)."""
    tracker = build_baseline(name)
    tracker.init(load_frame(bird.frames[0]), bird.boxes[0])
    boxes = []
    for path in bird.frames[1:31]:
        result = tracker.track(load_frame(path))
        assert isinstance(result, TrackResult)
        assert len(result.box) == 4 and all(math.isfinite(v) for v in result.box)
        assert 0.0 <= result.score <= 1.0
        boxes.append(result.box)
    assert rect_iou(np.array(boxes), np.array(bird.boxes[1:31])).mean() > 0.22


def test_baseline_contract_errors(bird):
    tracker = build_baseline('csrt')
    with pytest.raises(TrackerStateError, match='before init'):
        tracker.track(load_frame(bird.frames[0]))
    with pytest.raises(TrackerInputError, match='positive width'):
        tracker.init(load_frame(bird.frames[0]), (10, 10, 0, 5))
    with pytest.raises(ValueError, match="unknown OpenCV baseline 'boosting'"):
        build_baseline('boosting')
    assert baseline_names() == ['csrt', 'kcf', 'mil', 'mosse']
