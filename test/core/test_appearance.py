"""The colour model behind the status's colour test (`ops/appearance.py`), on real frames."""
import cv2
import numpy as np
import pytest

from siam_tracker_ros import build_tracker
from siam_tracker_ros.datasets.otb import read_otb
from siam_tracker_ros.ops.appearance import ColourModel, colour_codes, pixel_bounds
from siam_tracker_ros.status import LOST, TRACKING


def rgb(path):
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


@pytest.fixture(scope='module')
def sequences(sot_dir):
    return read_otb(sot_dir)


def by_name(sequences, name):
    return next(s for s in sequences if s.name == name)


def test_colour_codes_are_joint_16_level_bins():
    pixels = np.array([[0, 0, 0], [255, 255, 255], [16, 32, 48], [15, 31, 47]], np.uint8)
    assert colour_codes(pixels).tolist() == [0, 4095, 1 * 256 + 2 * 16 + 3, 0 * 256 + 1 * 16 + 2]


def test_pixel_bounds_clip_to_the_image():
    assert pixel_bounds((-5.5, 2.2, 20.0, 10.0), 10, 8) == (0, 2, 10, 8)
    assert pixel_bounds((30.0, 30.0, 5.0, 5.0), 10, 8) == (10, 8, 10, 8)


def test_the_init_box_scores_one_and_a_box_off_the_image_zero(sequences):
    bag = by_name(sequences, 'vot15_bag')
    frame = rgb(bag.frames[0])
    model = ColourModel(frame, bag.boxes[0])
    assert model.objectness(frame, bag.boxes[0]) == pytest.approx(1.0)
    assert model.objectness(frame, (frame.shape[1] + 5.0, 0.0, 20.0, 20.0)) == 0.0


def test_the_target_scores_higher_than_the_background_beside_it(sequences):
    """On every dev clip, ground-truth boxes (every 10th frame) score higher than the same
    boxes moved 1.5 widths right onto the background; over the clips, about twice as high."""
    on_means, off_means = [], []
    for sequence in sequences:
        model = ColourModel(rgb(sequence.frames[0]), sequence.boxes[0])
        on, off = [], []
        for path, box in list(zip(sequence.frames, sequence.boxes))[1::10]:
            frame = rgb(path)
            x, y, w, h = box
            on.append(model.objectness(frame, box))
            off.append(model.objectness(frame, (x + 1.5 * w, y, w, h)))
        assert np.median(on) > np.median(off), sequence.name
        on_means.append(np.median(on))
        off_means.append(np.median(off))
    assert np.mean(on_means) > 0.7
    assert np.mean(off_means) < 0.5 * np.mean(on_means)


def test_a_uniform_patch_of_a_background_colour_is_not_the_target(sequences):
    bag = by_name(sequences, 'vot15_bag')
    frame = rgb(bag.frames[0]).copy()
    model = ColourModel(frame, bag.boxes[0])
    x, y, w, h = (int(v) for v in bag.boxes[0])
    ring_colour = frame[max(y - h // 2, 0), max(x - w // 2, 0)].copy()
    frame[y:y + h, x:x + w] = ring_colour
    assert model.objectness(frame, bag.boxes[0]) < 0.5


def test_the_tracker_reports_colour_and_the_status_acts_on_it(sot_dir):
    """Real tracker, real frame: the colour is measured per step (about 1 on the target), and
    with only the colour test on, painting the target out turns the state LOST."""
    frame = rgb(sot_dir / 'otb_Crossing' / 'img' / '0001.jpg')
    box = (204, 150, 17, 50)
    tracker = build_tracker('siamfc', weights='default', lost_rule='confidence',
                            lost_score=0.0, lost_drop=0.0, lost_apce=0.0, lost_psr=0.0,
                            lost_colour=0.6, lost_frames=2)
    tracker.init(frame, box)
    result = tracker.track(frame)
    assert result.confidence.colour == pytest.approx(1.0, abs=0.05)
    assert result.state == TRACKING
    painted = frame.copy()
    painted[100:260, 150:280] = frame[40, 40]
    states = [tracker.track(painted).state for _ in range(3)]
    assert states == [TRACKING, LOST, LOST]
