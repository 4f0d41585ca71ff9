"""Stamp-matched init on a fast-motion clip: a box drawn on a frame 5 frames old is applied to
that frame, the node catches up through the buffered frames, and its boxes equal an offline run
of the same tracker started on that frame. Also re-init while tracking and reset."""
import re
import threading

import numpy as np
import pytest
import torch

from siam_tracker_ros import build_tracker
from siam_tracker_ros.status import IDLE

from rostest_support import frame_stamp_ns, load_sequence, stamp_of

FRAMES = 40
NEWEST = 9      # init is called right after this frame is published ...
INIT_FRAME = 4  # ... with the ground truth of this one (5 frames older)


@pytest.fixture(scope='module')
def node(start_node):
    return start_node()


@pytest.fixture(scope='module')
def clip(sot_dir):
    frames, boxes = load_sequence(sot_dir / 'otb_DragonBaby', FRAMES)
    return frames, boxes


def _centre_distance(a, b):
    return float(np.hypot(a[0] + a[2] / 2 - b[0] - b[2] / 2, a[1] + a[3] / 2 - b[1] - b[3] / 2))


def _det_box(det):
    b = det.bbox
    return (b.center.position.x - (b.size_x - 1) / 2, b.center.position.y - (b.size_y - 1) / 2,
            b.size_x, b.size_y)


def test_init_on_a_frame_five_frames_old(node, client, clip):
    frames, gt = clip
    # The clip moves fast: initialising on the newest frame instead would be far off.
    assert _centre_distance(gt[INIT_FRAME], gt[NEWEST]) > 30
    client.make_publisher(reliable=True)
    client.wait_matched(reliable=True)
    responses = []

    def on_frame(index):
        if index == NEWEST:
            threading.Thread(target=lambda: responses.append(client.init(
                gt[INIT_FRAME], frame_stamp_ns(INIT_FRAME), 'camera', target_id='old'))).start()

    client.clear()
    client.stream(frames, on_frame=on_frame)
    detections, _ = client.settle(FRAMES - 1)
    assert responses[0].success, responses[0].message
    index_of = {frame_stamp_ns(i): i for i in range(FRAMES)}
    dets = [d for d in detections if d.id == 'old']
    indices = [index_of[stamp_of(d)] for d in dets]
    assert indices[0] == INIT_FRAME
    np.testing.assert_allclose(_det_box(dets[0]), gt[INIT_FRAME], atol=1e-6)
    # Frames received by the time init ran (how many depends on DDS and CPU timing) are caught
    # up in order; later ones follow the newest-frame policy.
    caught_up = int(re.search(r'caught up (\d+) buffered', responses[0].message)[1])
    assert caught_up >= 1, responses[0].message
    assert indices[1:caught_up + 1] == list(range(INIT_FRAME + 1, INIT_FRAME + caught_up + 1)), (
        'catch-up processes every buffered frame in order')
    _check_offline_replay(frames, gt, dets, indices)


def _check_offline_replay(frames, gt, dets, indices):
    torch.set_num_threads(1)
    tracker = build_tracker('siamfc', weights=None, device='cpu')
    tracker.init(frames[INIT_FRAME], tuple(gt[INIT_FRAME]))
    for det, index in zip(dets[1:], indices[1:]):
        expected = tracker.track(frames[index])
        np.testing.assert_allclose(_det_box(det), expected.box, atol=1e-3,
                                   err_msg=f'frame {index}')
        assert abs(det.results[0].hypothesis.score - expected.score) < 1e-4


def test_reinit_replaces_target_and_reset(node, client, clip):
    frames, gt = clip
    client.make_publisher(reliable=True)
    client.wait_matched(reliable=True)
    client.stream(frames[:3], first=100)
    first = client.init(gt[0], 0)  # zero stamp: the newest frame
    assert first.success and first.target_id.startswith('target_'), first.message
    second = client.init(gt[1], 0, target_id='second')
    assert second.success and second.target_id == 'second', second.message
    client.clear()
    client.stream(frames[3:8], first=103)
    detections, _ = client.settle(107)
    assert detections and {d.id for d in detections} == {'second'}
    client.clear()
    reply = client.reset()
    assert reply.success, reply.message
    _, statuses = client.settle()
    assert statuses and statuses[-1].state == IDLE
    # Issue 14 item 6: the IDLE status carries the last image's frame_id and stamp.
    assert statuses[-1].header.frame_id == 'camera'
    assert stamp_of(statuses[-1]) == frame_stamp_ns(107)
    client.clear()
    client.stream(frames[8:11], first=108)
    detections, _ = client.settle()
    assert detections == [], 'no detections while IDLE'
