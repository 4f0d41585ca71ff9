"""Bursts of service requests (issue 15 items 3 and 4): every request is answered, and inits
whose stamps name buffered frames succeed even when they queue behind many others."""
import threading
import time

import pytest

from std_srvs.srv import Trigger

from siam_tracker_ros.detection_mapping import box_to_bbox_fields, ns_to_stamp
from siam_tracker_ros.ros.interfaces import InitTarget

from rostest_support import Client, frame_stamp_ns, load_sequence

BURST = 40
BACK = 5  # inits name the frame published this many frames before the call (~170 ms)


@pytest.fixture(scope='module')
def node(start_node):
    return start_node()


def _init_request(box, index):
    request = InitTarget.Request()
    request.header.frame_id = 'camera'
    request.header.stamp.sec, request.header.stamp.nanosec = ns_to_stamp(frame_stamp_ns(index))
    fields = box_to_bbox_fields(box)
    request.bbox.center.position.x = fields['center_x']
    request.bbox.center.position.y = fields['center_y']
    request.bbox.size_x, request.bbox.size_y = fields['size_x'], fields['size_y']
    request.target_id = f'burst_{index}'
    return request


def _wait_all(futures, timeout=180.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all(f.done() for _, f in futures):
        time.sleep(0.05)
    return [(kind, f.result() if f.done() else None) for kind, f in futures]


def test_burst_of_inits_and_resets_is_answered_in_full(node, client, sot_dir):
    frames, boxes = load_sequence(sot_dir / 'otb_Crossing', 120)
    client.make_publisher(reliable=True)
    client.wait_matched(reliable=True)
    assert client.init_client.wait_for_service(timeout_sec=30)
    assert client.reset_client.wait_for_service(timeout_sec=30)
    newest = [BACK + 9]
    client.stream(frames[:newest[0] + 1])
    streaming = threading.Thread(target=client.stream, args=(frames[newest[0] + 1:],), kwargs={
        'first': newest[0] + 1, 'on_frame': lambda i: newest.__setitem__(0, i)})
    streaming.start()
    futures = []
    for k in range(BURST):  # as fast as the client can send them, while frames stream in
        if k % 4 == 3:
            futures.append(('reset', client.reset_client.call_async(Trigger.Request())))
        else:
            index = newest[0] - BACK
            futures.append(('init', client.init_client.call_async(
                _init_request(tuple(boxes[index]), index))))
    answers = _wait_all(futures)
    streaming.join()
    unanswered = [k for k, (_, reply) in enumerate(answers) if reply is None]
    assert not unanswered, f'{len(unanswered)} of {BURST} requests never answered'
    for kind, reply in answers:
        if kind == 'init':
            assert reply.success, reply.message
        else:
            assert reply.success or 'already IDLE' in reply.message, reply.message
    assert node.proc.poll() is None
    client.reset()  # leave the node idle


def test_requests_beyond_the_limit_are_refused_visibly(start_node, client, sot_dir, ros_session):
    busy = start_node('-p', 'max_pending_requests:=2', '-r', '__node:=siam_tracker_busy')
    frames, boxes = load_sequence(sot_dir / 'otb_Crossing', 3)
    other = Client('siam_tracker_busy_test', node_name='siam_tracker_busy')
    try:
        other.make_publisher(reliable=True)
        other.wait_matched(reliable=True)
        for _ in range(20):  # until the node has the frames (a new reader may miss the first)
            other.stream(frames, first=500)
            if other.init(tuple(boxes[2]), frame_stamp_ns(502), 'camera').success:
                break
        futures = [('init', other.init_client.call_async(_init_request(tuple(boxes[2]), 502)))
                   for _ in range(12)]
        answers = _wait_all(futures)
    finally:
        other.close()
    replies = [reply for _, reply in answers]
    assert all(reply is not None for reply in replies), 'every request is answered'
    refused = [r for r in replies if 'refused: busy, 2 requests pending' in r.message]
    assert refused and all(r.success or r in refused for r in replies), (
        [r.message for r in replies])
    assert any(r.success for r in replies)
    assert 'refused: busy' in busy.log()
