"""The SiamFC family's linear template update (issue 10, `template_rate`, `template_gate`):
kernel ← (1 − η)·kernel + η·template(crop at the new box) on frames scoring at least the gate,
on real frames with the shipped weights."""
import pytest
import torch

from siam_tracker_ros import build_tracker
from siam_tracker_ros.evaluation.runner import load_frame
from siam_tracker_ros.frames import first_groundtruth_box
from siam_tracker_ros.runtime import map_tensors


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope='module')
def ball(sot_dir):
    paths = sorted((sot_dir / 'vot15_ball1' / 'img').glob('*.jpg'))[:4]
    return [load_frame(p) for p in paths], first_groundtruth_box(sot_dir / 'vot15_ball1')


def kernel_copy(kernel):
    return map_tensors(lambda t: t.clone(), kernel)


def started(ball, name='siamfc', **settings) -> tuple:
    """(a tracker with the shipped weights and `settings`, initialised on the clip's first
    frame, a copy of its init kernel)."""
    frames, box = ball
    tracker = build_tracker(name, weights='default', **settings)
    tracker.init(frames[0], box)
    return tracker, kernel_copy(tracker.state.kernel)


def test_a_frame_above_the_gate_blends_the_new_template_in(ball):
    frames, _ = ball
    tracker, before = started(ball, template_rate=0.1, template_gate=0.0, template_anchor=0.0)
    tracker.track(frames[1])
    expected = 0.9 * before + 0.1 * fresh_kernel(tracker, frames[1])
    assert torch.allclose(tracker.state.kernel, expected, atol=1e-6)
    assert not torch.allclose(tracker.state.kernel, before, atol=1e-3)


def test_the_anchor_keeps_a_share_of_the_init_kernel(ball):
    """Running R ← 0.8·R + 0.2·new on each frame; the kernel used is 0.5·K₀ + 0.5·R."""
    frames, _ = ball
    tracker, first = started(ball, template_rate=0.2, template_gate=0.0, template_anchor=0.5)
    running = first
    for frame in frames[1:]:
        tracker.track(frame)
        running = 0.8 * running + 0.2 * fresh_kernel(tracker, frame)
        assert torch.allclose(tracker.state.kernel, 0.5 * first + 0.5 * running, atol=1e-6)
    assert torch.equal(tracker.state.first_kernel, first)


def fresh_kernel(tracker, frame):
    """The template branch on the exemplar crop at the tracker's current box."""
    st = tracker.state
    return tracker.runner().template(tracker.exemplar_crop(frame, st.center, st.size,
                                                           st.pad_color)[None])


def test_a_frame_below_the_gate_keeps_the_kernel(ball, hide_search_region):
    """The ball hidden on the frame: the score falls below the gate, nothing is learnt."""
    frames, box = ball
    tracker, before = started(ball, template_rate=0.1, template_gate=0.8)
    center = (box[0] + box[2] / 2, box[1] + box[3] / 2)
    hidden = hide_search_region(frames[1], center, 4 * max(box[2], box[3]))
    result = tracker.track(hidden)
    assert result.score < 0.8
    assert torch.equal(tracker.state.kernel, before)


def test_rate_zero_is_the_fixed_template(ball):
    frames, _ = ball
    fixed, before = started(ball, template_rate=0.0)
    boxes = [fixed.track(frame).box for frame in frames[1:]]
    assert torch.equal(fixed.state.kernel, before)
    updated, _ = started(ball, template_rate=0.5, template_gate=0.0)
    assert [updated.track(frame).box for frame in frames[1:]] != boxes


def test_several_crop_sizes_update_every_pair_kernel(ball):
    """siam_gam's multi-size test keeps one kernel per (Q1, Q2) pair; each is updated from the
    new box's region at its own Q1."""
    frames, _ = ball
    tracker, before = started(ball, 'siam_gam', test_sizes=[127, 255, 191, 319],
                              template_rate=0.2, template_gate=0.0)
    tracker.track(frames[1])
    after = tracker.state.kernel
    assert len(after) == 2
    for old, new in zip(before, after):
        for a, b in zip(*(k if isinstance(k, tuple) else (k,) for k in (old, new))):
            assert a.shape == b.shape and not torch.allclose(a, b, atol=1e-4)


@pytest.mark.parametrize('field, value', [('template_rate', -0.1), ('template_rate', 1.0),
                                          ('template_rate', float('nan')),
                                          ('template_anchor', 1.5)])
def test_a_setting_outside_its_range_is_refused(field, value):
    with pytest.raises(ValueError, match=field):
        build_tracker('siamfc', **{field: value})


def test_dsiam_refuses_the_linear_update():
    """DSiam adapts its template with V; a second, silent update is refused."""
    with pytest.raises(ValueError, match='template_rate is not available for dsiam'):
        build_tracker('dsiam', template_rate=0.02)
