"""Response-map confidence features (ops/confidence.py) on real frames and real weights."""
import dataclasses

import numpy as np
import pytest

from siam_tracker_ros import build_tracker
from siam_tracker_ros.datasets import load_dataset
from siam_tracker_ros.evaluation.runner import load_frame
from siam_tracker_ros.ops.confidence import NO_CONFIDENCE, apce, map_confidence

CLIPS = ('otb_Bird2', 'dtb70_Surfing06', 'otb_DragonBaby', 'uav123_10fps_truck2')


@pytest.fixture(scope='module')
def clips(sot_dir):
    sequences = {s.name: s for s in load_dataset(sot_dir).sequences}
    return [sequences[name] for name in CLIPS]


@pytest.mark.parametrize('index', range(len(CLIPS)))
def test_features_fall_when_the_target_is_gone(clips, index, hide_search_region):
    """Shipped siamfc on the next real frame, then on the same frame with the search region
    replaced by scenery from elsewhere: score, APCE and PSR fall, the second peak rises."""
    sequence = clips[index]
    tracker = build_tracker('siamfc', weights='default')
    first = load_frame(sequence.frames[0])
    tracker.init(first, tuple(sequence.boxes[0]))
    center, side = tracker.state.center.copy(), tracker.state.s_x
    frame = load_frame(sequence.frames[1])
    seen = tracker.track(frame).confidence
    tracker.init(first, tuple(sequence.boxes[0]))
    gone = tracker.track(hide_search_region(frame, center, side)).confidence
    assert gone.score < seen.score
    assert gone.apce < seen.apce
    assert gone.psr < seen.psr
    assert gone.second_peak > seen.second_peak


def test_track_result_carries_the_features_of_the_decoded_map(clips):
    """The result's features are those of the chosen scale's map and the colour of its box,
    and box/score/state stay."""
    sequence = clips[0]
    tracker = build_tracker('siamfc', weights='default')
    tracker.init(load_frame(sequence.frames[0]), tuple(sequence.boxes[0]))
    frame = load_frame(sequence.frames[1])
    maps = tracker.responses(tracker.search_crops(frame))
    decoded = tracker.decode(maps)
    tracker.init(load_frame(sequence.frames[0]), tuple(sequence.boxes[0]))
    result = tracker.track(frame)
    expected = map_confidence(maps[decoded.scale_index], result.score)
    colour = tracker.state.colour_model.objectness(frame, result.box)
    assert result.confidence == dataclasses.replace(expected, colour=colour)
    assert 0.5 < colour < 1.5
    assert len(result.box) == 4 and 0.0 <= result.score <= 1.0
    assert result.state_name == 'TRACKING'


def test_rpn_family_reports_features(clips):
    """siamrpn (random init: features only, no calibration) reports finite features."""
    sequence = clips[0]
    tracker = build_tracker('siamrpn')
    tracker.init(load_frame(sequence.frames[0]), tuple(sequence.boxes[0]))
    confidence = tracker.track(load_frame(sequence.frames[1])).confidence
    values = [confidence.score, confidence.apce, confidence.psr, confidence.second_peak,
              confidence.colour]
    assert np.isfinite(values).all() and 0.0 <= confidence.second_peak <= 1.0


def test_degenerate_maps_give_no_confidence():
    assert map_confidence(np.full((5, 5), np.nan), 0.5) == NO_CONFIDENCE
    assert map_confidence(np.zeros(5), 0.5) == NO_CONFIDENCE
    flat = map_confidence(np.ones((17, 17)), 0.5)
    assert flat.apce == 0.0 and flat.psr == 0.0 and flat.second_peak == 1.0
    assert apce(np.ones((3, 3))) == 0.0
