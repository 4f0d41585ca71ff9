"""Bad input never stops the node: each case gets a clear service error or a throttled log,
and no message makes it allocate much memory (issue 15 items 1 and 5)."""
import math
import struct
import time

import cv2

import numpy as np
import pytest

from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

from siam_tracker_ros.detection_mapping import ns_to_stamp

from siam_tracker_ros.ros.interfaces import InitTarget
from siam_tracker_ros.status import LOST, TRACKING

from rostest_support import Client, frame_stamp_ns, load_sequence


@pytest.fixture(scope='module')
def node(start_node):
    return start_node()


@pytest.fixture(scope='module')
def clip(sot_dir):
    return load_sequence(sot_dir / 'otb_Crossing', 6)


def _header(index):
    header = Header(frame_id='camera')
    header.stamp.sec, header.stamp.nanosec = ns_to_stamp(frame_stamp_ns(index))
    return header


def _raw(index, height, width, encoding='bgr8', step=None, size=None):
    step = width * 3 if step is None else step
    size = step * height if size is None else size
    return Image(header=_header(index), height=height, width=width, encoding=encoding,
                 step=step, data=bytes(size))


def _init_error(client, box, stamp_ns=0, once=False, **kwargs):
    """The message of a refused init; with `once`, replies that mean 'frame still in transit'
    are the ones expected, so they are not waited out."""
    reply = (client.init_once if once else client.init)(box, stamp_ns, **kwargs)
    assert not reply.success, 'init should fail'
    return reply.message


def test_init_before_any_image(node, client):
    client.make_publisher(reliable=True)
    assert 'no image received yet' in _init_error(client, (10, 10, 20, 20), once=True)


@pytest.mark.parametrize('box, text', [
    ((10, 10, 0, 20), 'positive width and height'),
    ((10, 10, -5, 20), 'positive width and height'),
    ((math.nan, 10, 20, 20), 'non-finite'),
    ((5000, 5000, 20, 20), 'outside'),
    ((180 - 5000, 120 - 5000, 10000, 10000), 'larger than 2 times the 360x240 image'),
    ((180 - 15000, 120 - 15000, 30000, 30000), 'larger than 2 times the 360x240 image'),
])
def test_bad_boxes(node, client, clip, box, text):
    client.make_publisher(reliable=True)
    client.wait_matched(reliable=True)
    client.stream(clip[0][:2])
    assert text in _init_error(client, box)


def test_huge_box_costs_no_memory(node, client, clip):
    client.stream(clip[0][:2], first=30)
    before = node.rss_mb()
    assert 'larger than 2 times' in _init_error(client, (180 - 5000, 120 - 5000, 10000, 10000))
    assert node.rss_mb() - before < 100


def _request(box, stamp=(0, 0), tracker='', target_id=''):
    request = InitTarget.Request()
    request.header.stamp.sec, request.header.stamp.nanosec = stamp
    x, y, w, h = box
    request.bbox.center.position.x = x + (w - 1) / 2
    request.bbox.center.position.y = y + (h - 1) / 2
    request.bbox.size_x, request.bbox.size_y = float(w), float(h)
    request.tracker, request.target_id = tracker, target_id
    return request


@pytest.mark.parametrize('fields, text', [
    ({'tracker': 'x' * 1_000_000}, 'tracker is 1000000 characters long (at most 64)'),
    ({'target_id': 'y' * 1_000_000}, 'target_id is 1000000 characters long (at most 256)'),
    ({'tracker': 'siam\tfc'}, 'tracker holds control characters'),
    ({'target_id': 'a\nb'}, 'target_id holds control characters'),
    ({'stamp': (1_700_000_000, 1_000_000_000)}, 'nanosec 1000000000 is out of range'),
    ({'stamp': (1_700_000_000, 4_294_967_295)}, 'nanosec 4294967295 is out of range'),
])
def test_absurd_request_fields(node, client, clip, fields, text):
    client.stream(clip[0][:2], first=40)
    reply = client.call(client.init_client, _request(tuple(clip[1][0]), **fields))
    assert not reply.success and text in reply.message, reply.message[:300]
    assert len(reply.message) < 400, 'long strings are not echoed whole'
    assert node.log_path.stat().st_size < 100_000, 'nor logged whole'


def test_unknown_tracker_and_old_stamp(node, client, clip):
    box = tuple(clip[1][0])
    assert 'unknown tracker' in _init_error(client, box, tracker='no_such_tracker')
    assert 'too old' in _init_error(client, box, frame_stamp_ns(-100))
    assert 'newer than every received' in _init_error(client, box, frame_stamp_ns(10**6),
                                                      once=True)
    assert 'does not match' in _init_error(client, box, frame_id='other_camera')


@pytest.mark.parametrize('kwargs, text', [
    ({'encoding': '16UC1'}, 'unsupported encoding'),
    ({'size': 100}, 'truncated data'),
    ({'step': 30}, 'smaller than width'),
    ({'size': 240 * 360 * 3 + 7}, 'does not match step'),
    ({'height': 0, 'width': 0}, 'empty image'),
])
def test_bad_images_at_init(node, client, kwargs, text):
    client.make_publisher(reliable=True)
    client.wait_matched(reliable=True)
    shape = {'height': 240, 'width': 360, **kwargs}
    client.pub.publish(_raw(50, **shape))
    time.sleep(0.3)
    assert text in _init_error(client, (10, 10, 20, 20))


def test_bad_frames_while_tracking_are_logged_once(node, client, clip):
    frames, gt = clip
    client.make_publisher(reliable=True)
    client.wait_matched(reliable=True)
    client.stream(frames[:2], first=60)
    assert client.init(gt[1], 0).success
    for k in range(5):
        client.pub.publish(_raw(62 + k, 240, 360, encoding='yuv422'))
        time.sleep(0.1)
    client.clear()
    client.stream(frames[2:5], first=70)
    detections, _ = client.settle(72)
    assert detections, 'tracking goes on after bad frames'
    assert node.log().count("unsupported encoding 'yuv422'") == 1, node.log()
    assert client.reset().success


def test_a_camera_changing_resolution_turns_the_target_lost(node, client, clip):
    """Frames of another size than the init frame: the target is LOST on each (a status, no
    detection) with one error line, until an init on the new size tracks it again."""
    frames, gt = clip
    client.make_publisher(reliable=True)
    client.wait_matched(reliable=True)
    client.stream(frames[:2], first=80)
    assert client.init(gt[1], 0).success
    client.settle(81)
    client.clear()
    smaller = [cv2.resize(f, (180, 120)) for f in frames[2:5]]
    client.stream(smaller, first=82)
    detections, statuses = client.settle(84)
    assert statuses and all(s.state == LOST for s in statuses), [s.state for s in statuses]
    assert not detections
    assert node.log().count('started on a 360x240 frame') == 1, node.log()
    client.clear()
    half = [g / 2 for g in gt[4]]
    assert client.init(tuple(half), 0).success   # the newest frame: 180x120
    client.stream(smaller[1:], first=85)
    detections, statuses = client.settle(86)
    assert detections and statuses[-1].state == TRACKING
    assert client.reset().success


def test_reset_while_idle(node, client):
    reply = client.reset()
    assert not reply.success and 'already IDLE' in reply.message
    assert node.proc.poll() is None


def test_corrupt_jpeg(node, start_node, clip, ros_session):
    node.stop()
    jpg_node = start_node('-p', 'image_transport:=compressed', '-r', '__node:=siam_tracker_jpg')
    jpg = Client('siam_tracker_test_jpg', node_name='siam_tracker_jpg')
    try:
        jpg.make_publisher(compressed=True, reliable=True)
        jpg.wait_matched(reliable=True)
        jpg.pub.publish(CompressedImage(header=_header(0), format='jpeg',
                                        data=np.random.default_rng(0).bytes(5000)))
        time.sleep(0.3)
        assert 'neither JPEG nor PNG' in _init_error(jpg, (10, 10, 20, 20))
        real = cv2.imencode('.jpg', clip[0][0][:, :, ::-1])[1].tobytes()
        jpg.pub.publish(CompressedImage(header=_header(2), format='jpeg',
                                        data=real[:real.index(b'\xff\xda')]))  # no scan data
        time.sleep(0.3)
        assert 'cannot decode compressed image' in _init_error(jpg, (10, 10, 20, 20))
        jpg.pub.publish(CompressedImage(header=_header(1), format='jpeg', data=b''))
        time.sleep(0.3)
        assert 'no data' in _init_error(jpg, (10, 10, 20, 20))
        _check_huge_claims_are_rejected_before_decoding(jpg, clip, jpg_node)
        jpg.stream(clip[0][:2], first=2)
        assert jpg.init(tuple(clip[1][0]), 0).success, 'still works after bad input'
    finally:
        jpg.close()


def _claiming(data: bytes, width: int, height: int) -> bytes:
    """A real JPEG whose frame header (SOF0) claims width x height."""
    sof = data.index(b'\xff\xc0')
    return data[:sof + 5] + struct.pack('>HH', height, width) + data[sof + 9:]


def _check_huge_claims_are_rejected_before_decoding(jpg, clip, node):
    """Issue 15 item 1: a 3 KB JPEG claiming 8000x8000 (or 30000x30000) was decoded."""
    small = cv2.imencode('.jpg', clip[0][0][:40, :40, ::-1])[1].tobytes()
    assert cv2.imdecode(np.frombuffer(_claiming(small, 40, 40), np.uint8), 1).shape == (40, 40, 3)
    before = node.rss_mb()
    for index, side in enumerate((8000, 30000), start=3):
        jpg.pub.publish(CompressedImage(header=_header(index), format='jpeg',
                                        data=_claiming(small, side, side)))
        time.sleep(0.3)
        message = _init_error(jpg, (10, 10, 20, 20))
        assert f'declares {side}x{side} = {side * side} pixels, more than max_image_pixels' in (
            message), message
    png = cv2.imencode('.png', clip[0][0][:40, :40, ::-1])[1].tobytes()
    png = png[:16] + struct.pack('>II', 30000, 30000) + png[24:]
    jpg.pub.publish(CompressedImage(header=_header(5), format='png', data=png))
    time.sleep(0.3)
    assert 'declares 30000x30000' in _init_error(jpg, (10, 10, 20, 20))
    bmp = cv2.imencode('.bmp', clip[0][0][:40, :40, ::-1])[1].tobytes()
    jpg.pub.publish(CompressedImage(header=_header(6), format='bmp', data=bmp))
    time.sleep(0.3)
    assert 'neither JPEG nor PNG' in _init_error(jpg, (10, 10, 20, 20))
    assert node.rss_mb() - before < 100
