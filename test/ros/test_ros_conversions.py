"""Pieces of the node without a running graph: box mapping (spec §1.8, C3), image decoding,
the frame store, LOST/TRACKING hysteresis and QoS matching."""
import cv2
import numpy as np
import pytest

import rclpy
from rclpy.qos import ReliabilityPolicy
from rclpy.serialization import deserialize_message, serialize_message
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

from siam_tracker_ros.detection_mapping import bbox_fields_to_box, box_to_bbox_fields
from siam_tracker_ros.ros import conversions, qos
from siam_tracker_ros.ros.frames import FrameStore, InitFrameError
from siam_tracker_ros.ros.interfaces import InitTarget
from siam_tracker_ros.ros.tracker_node import check_name

RNG = np.random.default_rng(7)


def test_box_mapping_round_trip_and_centre_convention():
    fields = box_to_bbox_fields((10.0, 20.0, 5.0, 8.0))
    assert (fields['center_x'], fields['center_y']) == (12.0, 23.5)
    assert (fields['size_x'], fields['size_y'], fields['theta']) == (5.0, 8.0, 0.0)
    for box in RNG.uniform(-50, 500, size=(100, 4)) + [0, 0, 51, 51]:
        f = box_to_bbox_fields(box)
        back = bbox_fields_to_box(f['center_x'], f['center_y'], f['size_x'], f['size_y'])
        np.testing.assert_allclose(back, box, atol=1e-9)


def test_detection_message_round_trip():
    det = conversions.make_detection(Header(frame_id='cam'), (3.0, 4.0, 10.0, 12.0), 0.7,
                                     'siamfc', 't1')
    assert det.bbox.center.position.x == 3.0 + 4.5 and det.id == 't1'
    assert det.results[0].hypothesis.class_id == 'siamfc'
    assert det.results[0].hypothesis.score == pytest.approx(0.7)
    assert conversions.bbox_to_box(det.bbox) == pytest.approx((3.0, 4.0, 10.0, 12.0))


@pytest.mark.parametrize('encoding, code', [
    ('rgb8', None), ('bgr8', cv2.COLOR_RGB2BGR), ('rgba8', cv2.COLOR_RGB2RGBA),
    ('bgra8', cv2.COLOR_RGB2BGRA), ('mono8', cv2.COLOR_RGB2GRAY)])
def test_image_encodings_with_row_padding(encoding, code):
    rgb = RNG.integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    if encoding == 'mono8':
        rgb = np.repeat(rgb[:, :, :1], 3, axis=2)
    pixels = rgb if code is None else cv2.cvtColor(rgb, code)
    pixels = pixels.reshape(5, 7, -1)
    step = 7 * pixels.shape[2] + 3
    rows = np.zeros((5, step), np.uint8)
    rows[:, :7 * pixels.shape[2]] = pixels.reshape(5, -1)
    msg = Image(height=5, width=7, encoding=encoding, step=step, data=rows.tobytes())
    np.testing.assert_array_equal(conversions.image_to_rgb(msg), rgb)


def test_image_round_trips():
    rgb = RNG.integers(0, 256, size=(6, 9, 3), dtype=np.uint8)
    for encoding in ('rgb8', 'bgr8'):
        msg = conversions.rgb_to_image(rgb, Header(), encoding)
        np.testing.assert_array_equal(conversions.image_to_rgb(msg), rgb)
    smooth = np.full((32, 48, 3), 120, np.uint8)
    decoded = conversions.compressed_to_rgb(conversions.rgb_to_compressed(smooth, Header()))
    assert decoded.shape == smooth.shape and np.abs(decoded.astype(int) - 120).max() <= 2
    with pytest.raises(conversions.ImageError, match='cannot decode'):
        conversions.compressed_to_rgb(CompressedImage(format='jpeg', data=b'\xff\xd8junk'))


def test_frame_store_matching_and_drops():
    store = FrameStore(4)
    with pytest.raises(InitFrameError, match='no image'):
        store.find(0, 0)
    for i in range(6):
        store.add(f'msg{i}', 1000 * i, 0)
    assert store.find(0, 0).msg == 'msg5'
    assert store.find(3010, 20).msg == 'msg3'
    with pytest.raises(InitFrameError, match='too old'):
        store.find(1000, 20)
    with pytest.raises(InitFrameError, match='no frame within'):
        store.find(3500, 20)
    backlog = store.start(store.find(3000, 0))
    assert [f.msg for f in backlog] == ['msg4', 'msg5']
    for i in range(6, 9):
        store.add(f'msg{i}', 1000 * i, 0)
    frame, dropped = store.take(0.1)
    assert frame.msg == 'msg8' and dropped == 2
    assert store.take(0.01) == (None, 0)


def test_qos_matching():
    rel, best = ReliabilityPolicy.RELIABLE, ReliabilityPolicy.BEST_EFFORT
    assert qos.choose_reliability('auto', []) == best
    assert qos.choose_reliability('auto', [], current=rel) == rel
    assert qos.choose_reliability('auto', [rel, rel]) == rel
    assert qos.choose_reliability('auto', [rel, best]) == best
    assert qos.choose_reliability('reliable', [best]) == rel
    assert qos.choose_reliability('best_effort', [rel]) == best


def test_qos_mismatch_warning():
    rel, best = ReliabilityPolicy.RELIABLE, ReliabilityPolicy.BEST_EFFORT
    assert qos.mismatch_warning(rel, [rel, best]).startswith('1 of 2 publisher(s) offer best_')
    assert qos.mismatch_warning(rel, [rel]) == qos.mismatch_warning(rel, []) == ''
    assert qos.mismatch_warning(best, [rel, best]) == ''


def test_entities_without_event_handlers(ros_session):
    """What the node destroys while spinning carries no QoS event handler to race with the
    executor (qos.without_event_handlers); rclpy's default gives it at least one."""
    node = rclpy.create_node('event_handler_check')
    try:
        default = node.create_subscription(Image, '/x', lambda msg: None, 1)
        bare_sub = node.create_subscription(
            Image, '/x', lambda msg: None, 1,
            event_callbacks=qos.without_event_handlers('subscription'))
        bare_pub = node.create_publisher(
            Image, '/x', 1, event_callbacks=qos.without_event_handlers('publisher'))
        assert default.event_handlers
        assert bare_sub.event_handlers == [] and bare_pub.event_handlers == []
    finally:
        node.destroy_node()


@pytest.mark.parametrize('ext, params', [
    ('.jpg', []), ('.jpg', [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]), ('.png', [])])
def test_compressed_size_from_the_header_equals_the_decoded_size(sot_dir, ext, params):
    for name in ('otb_Crossing', 'vot15_ball1', 'dtb70_Surfing06'):
        image = cv2.imread(str(sorted((sot_dir / name / 'img').glob('*.jpg'))[0]))
        data = cv2.imencode(ext, image, params)[1].tobytes()
        height, width = image.shape[:2]
        assert conversions.compressed_size(data) == (width, height)
        msg = CompressedImage(format=ext[1:], data=data)
        assert conversions.compressed_to_rgb(msg).shape == image.shape
        with pytest.raises(conversions.ImageError, match='more than max_image_pixels'):
            conversions.compressed_to_rgb(msg, max_pixels=width * height - 1)


def test_a_nul_in_a_request_string_is_cut_or_refused():
    """Issue 15 item 5: 'siamfc\\x00junk' was "accepted as siamfc". rclpy's C conversion stops
    at the NUL on the sender's side, so the node receives exactly 'siamfc' and cannot tell;
    where the NUL does arrive, the node refuses it. The messages are compared as the node
    reads them: their serialized bytes also hold CDR alignment padding, which is not zeroed
    (it made a byte comparison fail now and then)."""
    sent = deserialize_message(serialize_message(InitTarget.Request(tracker='siamfc\x00junk')),
                               InitTarget.Request)
    assert sent.tracker in ('siamfc', 'siamfc\x00junk')
    assert sent == deserialize_message(serialize_message(
        InitTarget.Request(tracker=sent.tracker)), InitTarget.Request)
    with pytest.raises(ValueError, match='control characters'):
        check_name('tracker', 'siamfc\x00junk', 64)
