"""Real frames through real DDS: the node at its defaults, reliable and best-effort cameras,
raw and compressed. Every frame after the init frame is either answered by a Detection2D with
its stamp and frame_id, or counted as dropped (newest-frame policy) in the status stream."""
import math
import signal
import threading
import time

import cv2
import pytest

from sensor_msgs.msg import Image

from rostest_support import frame_stamp_ns, load_sequence, stamp_of

FRAMES = 45
INIT_AT = 3  # init is called (from another thread) once this frame is published


@pytest.fixture(scope='module')
def raw_node(start_node):
    return start_node()


def _stream_and_track(client, seq_dir, frame_id, target_id, first):
    """Stream FRAMES frames stamped from index `first` (distinct per test, so no frame left in
    the node's ring by an earlier test can match); init on frame `first` like a controller."""
    frames, boxes = load_sequence(seq_dir, FRAMES)
    responses = []

    def init_when_received():
        responses.append(client.init(boxes[0], frame_stamp_ns(first), frame_id,
                                     target_id=target_id))

    def on_frame(index):
        if index == first + INIT_AT:
            threading.Thread(target=init_when_received).start()

    client.clear()
    client.stream(frames, first=first, frame_id=frame_id, on_frame=on_frame)
    detections, statuses = client.settle(first + FRAMES - 1)
    assert responses and responses[0].success, responses and responses[0].message
    assert responses[0].target_id == target_id
    height, width = frames[0].shape[:2]
    return detections, statuses, (width, height)


def _check_complete(detections, statuses, size, frame_id, target_id, first):
    dets = [d for d in detections if d.id == target_id]
    stats = [s for s in statuses if s.target_id == target_id]
    published = {frame_stamp_ns(first + i): i for i in range(FRAMES)}
    indices = [published[stamp_of(d)] for d in dets]
    assert indices[0] == 0, 'the first detection is the init frame'
    assert indices == sorted(set(indices)), 'one detection per frame, in stamp order'
    assert [stamp_of(s) for s in stats] == [stamp_of(d) for d in dets]
    dropped = sum(s.dropped_frames for s in stats)
    assert len(indices) - 1 + dropped == FRAMES - 1, (
        f'{FRAMES - 1} frames after init: {len(indices) - 1} processed, {dropped} dropped; '
        f'processed {indices}, dropped per status {[s.dropped_frames for s in stats]}')
    width, height = size
    for det in dets:
        assert det.header.frame_id == frame_id
        box = det.bbox
        values = (box.center.position.x, box.center.position.y, box.size_x, box.size_y)
        assert all(math.isfinite(v) for v in values)
        assert 0 <= box.center.position.x < width and 0 <= box.center.position.y < height
        assert box.size_x > 0 and box.size_y > 0
        assert det.results[0].hypothesis.class_id == 'siamfc'
        assert 0.0 <= det.results[0].hypothesis.score <= 1.0
    for status in stats:
        assert status.tracker == 'siamfc' and status.state in (1, 2)
        assert status.latency_ms > 0
    return len(indices) - 1, dropped


def test_reliable_camera_raw(raw_node, client, sot_dir):
    client.make_publisher(reliable=True)
    client.wait_matched(reliable=True)
    dets, stats, size = _stream_and_track(client, sot_dir / 'otb_DragonBaby', 'cam_rel', 'rel', 0)
    processed, dropped = _check_complete(dets, stats, size, 'cam_rel', 'rel', 0)
    assert processed >= INIT_AT
    assert client.reset().success


def test_best_effort_camera_raw(raw_node, client, sot_dir):
    # Same node: with qos auto it re-subscribes best effort when the camera changes.
    client.make_publisher(reliable=True)
    client.wait_matched(reliable=True)
    client.make_publisher(reliable=False)
    client.wait_matched(reliable=False)
    assert 'subscribing best_effort' in raw_node.log()
    dets, stats, size = _stream_and_track(client, sot_dir / 'otb_Crossing', 'cam_be', 'be', 1000)
    processed, _ = _check_complete(dets, stats, size, 'cam_be', 'be', 1000)
    assert processed >= INIT_AT
    assert client.reset().success


def test_fixed_reliable_qos_warns_of_best_effort_cameras(start_node, client):
    node = start_node('-p', 'qos:=reliable', '-r', '__node:=siam_tracker_reliable_only')
    client.make_publisher(reliable=False)
    deadline = time.monotonic() + 20.0
    while 'offer best_effort' not in node.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ('/image: 1 of 1 publisher(s) offer best_effort: a reliable subscription receives '
            'nothing from them (set qos to auto or best_effort)') in node.log(), node.log()


def test_newest_frame_first_after_a_stall(raw_node, client, sot_dir):
    """Issue 15 item 2: frames that queued while the node could not run (a starved CPU, here a
    SIGSTOP) are not worked through oldest first: the first one processed is the newest."""
    frames, boxes = load_sequence(sot_dir / 'otb_Crossing', 24)
    # Small frames, so that all of them wait in shared memory, none in UDP retransmission.
    size = (96, 64)
    small = [cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames]
    scale = [size[0] / frames[0].shape[1], size[1] / frames[0].shape[0]] * 2
    first, stall = 3000, range(6, 21)
    client.make_publisher(reliable=True)
    client.wait_matched(reliable=True)
    client.stream(small[:3], first=first)
    reply = client.init(tuple(boxes[1] * scale), frame_stamp_ns(first + 1), 'camera',
                        target_id='stall')
    assert reply.success, reply.message
    client.stream(small[3:stall[0]], first=first + 3)
    client.settle(first + stall[0] - 1)
    client.clear()
    raw_node.proc.send_signal(signal.SIGSTOP)
    try:
        client.stream([small[i] for i in stall], first=first + stall[0])
        time.sleep(0.5)
    finally:
        raw_node.proc.send_signal(signal.SIGCONT)
    _, statuses = client.settle(first + stall[-1])
    index_of = {frame_stamp_ns(first + i): i for i in range(len(frames))}
    processed = [index_of[stamp_of(s)] for s in statuses if s.target_id == 'stall']
    after = [i for i in processed if i >= stall[0]]
    assert after and after[0] == stall[-1], f'processed after the stall: {after}'
    assert client.reset().success


def test_compressed_camera_with_debug_image(raw_node, start_node, client, sot_dir):
    raw_node.stop()  # one node named siam_tracker at a time
    node = start_node('-p', 'image_transport:=compressed', '-p', 'publish_debug_image:=true')
    debug = []
    sub = client.node.create_subscription(Image, '/siam_tracker/debug_image', debug.append, 10)
    client.make_publisher(compressed=True, reliable=True)
    client.wait_matched(reliable=True)
    dets, stats, size = _stream_and_track(client, sot_dir / 'vot15_ball1', 'cam_jpg', 'jpg', 2000)
    processed, _ = _check_complete(dets, stats, size, 'cam_jpg', 'jpg', 2000)
    assert processed >= INIT_AT
    client.node.destroy_subscription(sub)
    assert {stamp_of(m) for m in debug} <= {stamp_of(d) for d in dets} and debug
    assert (debug[0].width, debug[0].height, debug[0].encoding) == (*size, 'rgb8')
    assert client.reset().success
    node.stop()
