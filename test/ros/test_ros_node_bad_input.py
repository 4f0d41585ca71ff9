"""Bad input never stops the node: each case gets a clear service error or a throttled log."""
import math
import time

import numpy as np
import pytest

from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

from siam_tracker_ros.detection_mapping import ns_to_stamp

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


def _init_error(client, box, stamp_ns=0, **kwargs):
    reply = client.init(box, stamp_ns, **kwargs)
    assert not reply.success, 'init should fail'
    return reply.message


def test_init_before_any_image(node, client):
    client.make_publisher(reliable=True)
    assert 'no image received yet' in _init_error(client, (10, 10, 20, 20))


@pytest.mark.parametrize('box, text', [
    ((10, 10, 0, 20), 'positive width and height'),
    ((10, 10, -5, 20), 'positive width and height'),
    ((math.nan, 10, 20, 20), 'non-finite'),
    ((5000, 5000, 20, 20), 'outside'),
])
def test_bad_boxes(node, client, clip, box, text):
    client.make_publisher(reliable=True)
    client.wait_matched(reliable=True)
    client.stream(clip[0][:2])
    assert text in _init_error(client, box)


def test_unknown_tracker_and_old_stamp(node, client, clip):
    box = tuple(clip[1][0])
    assert 'unknown tracker' in _init_error(client, box, tracker='no_such_tracker')
    assert 'too old' in _init_error(client, box, frame_stamp_ns(-100))
    assert 'newer than every received' in _init_error(client, box, frame_stamp_ns(10**6))
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


def test_reset_while_idle(node, client):
    reply = client.reset()
    assert not reply.success and 'already IDLE' in reply.message
    assert node.proc.poll() is None


def test_corrupt_jpeg(node, start_node, clip, ros_session):
    node.stop()
    start_node('-p', 'image_transport:=compressed', '-r', '__node:=siam_tracker_jpg')
    jpg = Client('siam_tracker_test_jpg', node_name='siam_tracker_jpg')
    try:
        jpg.make_publisher(compressed=True, reliable=True)
        jpg.wait_matched(reliable=True)
        jpg.pub.publish(CompressedImage(header=_header(0), format='jpeg',
                                        data=np.random.default_rng(0).bytes(5000)))
        time.sleep(0.3)
        assert 'cannot decode compressed image' in _init_error(jpg, (10, 10, 20, 20))
        jpg.pub.publish(CompressedImage(header=_header(1), format='jpeg', data=b''))
        time.sleep(0.3)
        assert 'no data' in _init_error(jpg, (10, 10, 20, 20))
        jpg.stream(clip[0][:2], first=2)
        assert jpg.init(tuple(clip[1][0]), 0).success, 'still works after bad input'
    finally:
        jpg.close()
