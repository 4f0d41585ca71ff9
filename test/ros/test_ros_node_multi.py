"""Several targets in one node (issue 14 item 3), on real DDS: two targets initialised on one
stream are both tracked, with their ids, in every ~/detections array; their boxes equal an
offline run of each target alone (the node batches their search crops); an init beyond
max_targets is refused; an init with a known id replaces that target; ~/remove_target removes
one and keeps the other; ~/reset removes all."""
import numpy as np
import pytest
import torch

from siam_tracker_ros import build_tracker
from siam_tracker_ros.status import IDLE

from rostest_support import frame_stamp_ns, load_sequence, stamp_of

FRAMES = 40
SHIFT = (-90.0, 30.0)  # the second target: the first frame's ground truth moved by this


@pytest.fixture(scope='module')
def node(start_node):
    return start_node('-p', 'max_targets:=2')


@pytest.fixture(scope='module')
def clip(sot_dir):
    frames, gt = load_sequence(sot_dir / 'otb_DragonBaby', FRAMES)
    return frames, gt


def _shifted(box):
    return (box[0] + SHIFT[0], box[1] + SHIFT[1], box[2], box[3])


def _det_box(det):
    b = det.bbox
    return (b.center.position.x - (b.size_x - 1) / 2, b.center.position.y - (b.size_y - 1) / 2,
            b.size_x, b.size_y)


def _start_two(client, frames, gt, first):
    """Stream two frames from stamp index `first`, init 'a' (ground truth) and 'b' (shifted)
    on the second; returns the two start boxes."""
    client.make_publisher(reliable=True)
    client.wait_matched(reliable=True)
    boxes = {'a': tuple(gt[1]), 'b': _shifted(gt[1])}
    for _ in range(20):  # until the node has the frames (a new reader may miss the first)
        client.stream(frames[:2], first=first)
        reply = client.init(boxes['a'], frame_stamp_ns(first + 1), 'camera',
                            target_id='a')
        if 'no image received yet' not in reply.message:
            break
    assert reply.success and reply.target_id == 'a', reply.message
    reply = client.init(boxes['b'], frame_stamp_ns(first + 1), 'camera', target_id='b')
    assert reply.success and reply.target_id == 'b', reply.message
    return boxes


def test_two_targets_are_tracked_together_as_each_alone(node, client, clip):
    frames, gt = clip
    first = 300
    client.clear()
    boxes = _start_two(client, frames, gt, first)
    third = client.init(gt[1], frame_stamp_ns(first + 1), 'camera', target_id='c')
    assert not third.success
    assert ("init refused: 2 targets are tracked ('a', 'b'), max_targets is 2"
            in third.message), third.message
    client.stream(frames[2:20], first=first + 2, rate=5.0)  # slow: most frames are tracked
    detections, statuses = client.settle(first + 19)
    arrays, status_arrays = client.arrays()
    index_of = {frame_stamp_ns(first + i): i for i in range(FRAMES)}
    tracked = [a for a in arrays if index_of[stamp_of(a)] >= 2]
    assert len(tracked) >= 5, f'only {len(tracked)} frames tracked'
    for array in tracked:
        assert sorted(d.id for d in array.detections) == ['a', 'b']
        assert all(stamp_of(d) == stamp_of(array) for d in array.detections)
        assert array.header.frame_id == 'camera'
    for array in status_arrays:
        ids = [s.target_id for s in array.statuses]
        assert len(ids) == len(set(ids)) and set(ids) <= {'a', 'b'}
    assert {s.target_id for s in statuses} == {'a', 'b'}, 'and one ~/status each'
    assert 'c' not in {d.id for d in detections}
    for target_id, box in boxes.items():
        mine = [d for d in detections if d.id == target_id]
        _check_alone(frames, box, mine, [index_of[stamp_of(d)] for d in mine])
    assert client.reset().success


def _check_alone(frames, box, dets, indices):
    """The node's boxes of one target equal that target tracked alone offline (within 1 px)
    on the same frames: the first detection is the init frame with the given box."""
    torch.set_num_threads(1)
    assert indices[0] == 1
    np.testing.assert_allclose(_det_box(dets[0]), box, atol=1e-6)
    tracker = build_tracker('siamfc', weights=None, device='cpu')
    tracker.init(frames[1], box)
    for det, index in zip(dets[1:], indices[1:]):
        expected = tracker.track(frames[index])
        np.testing.assert_allclose(_det_box(det), expected.box, atol=1.0,
                                   err_msg=f'{det.id}, frame {index}')


def test_replace_remove_and_reset(node, client, clip):
    frames, gt = clip
    first = 400
    _start_two(client, frames, gt, first)
    client.stream(frames[2:5], first=first + 2, rate=10.0)
    client.settle(first + 4)
    replaced = client.init(tuple(gt[4]), frame_stamp_ns(first + 4), 'camera',
                           target_id='b')
    assert replaced.success and '2 of max_targets 2 targets tracked' in replaced.message, (
        replaced.message)
    client.clear()
    client.stream(frames[5:10], first=first + 5, rate=10.0)
    client.settle(first + 9)
    arrays = [a for a in client.arrays()[0] if stamp_of(a) >= frame_stamp_ns(first + 5)]
    assert arrays and all(sorted(d.id for d in a.detections) == ['a', 'b'] for a in arrays)
    b_boxes = [_det_box(d) for a in arrays for d in a.detections if d.id == 'b']
    assert abs(b_boxes[0][0] - gt[4][0]) < 60, 'b follows its new box, not the shifted one'

    removed = client.remove_target('a')
    assert removed.success and "removed 'a'; 1 targets tracked" in removed.message, (
        removed.message)
    again = client.remove_target('a')
    assert not again.success and "no target 'a'" in again.message, again.message
    bad = client.remove_target('b\x07')
    assert not bad.success and 'target_id holds control characters' in bad.message, bad.message
    _, status_arrays = client.arrays()
    idle = [s for a in status_arrays for s in a.statuses if s.state == IDLE]
    assert [s.target_id for s in idle] == ['a'], 'one IDLE status for the removed target'
    client.clear()
    client.stream(frames[10:15], first=first + 10, rate=10.0)
    detections, statuses = client.settle(first + 14)
    arrays, _ = client.arrays()
    assert arrays and all([d.id for d in a.detections] == ['b'] for a in arrays)
    assert {d.id for d in detections} == {'b'} and {s.target_id for s in statuses} == {'b'}

    readded = client.init(tuple(gt[14]), frame_stamp_ns(first + 14), 'camera',
                          target_id='a')
    assert readded.success, readded.message
    client.clear()
    reply = client.reset()
    assert reply.success and '2 targets removed' in reply.message, reply.message
    _, statuses = client.settle()
    _, status_arrays = client.arrays()
    assert sorted(s.target_id for s in statuses if s.state == IDLE) == ['a', 'b']
    removals = [a for a in status_arrays if any(s.state == IDLE for s in a.statuses)]
    assert [sorted(s.target_id for s in a.statuses) for a in removals] == [['a', 'b']]
    client.clear()
    client.stream(frames[15:18], first=first + 15)
    detections, _ = client.settle()
    assert detections == [] and client.arrays()[0] == [], 'nothing tracked after reset'
