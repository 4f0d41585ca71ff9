"""Messages <-> numpy: images in (decoded by image_messages.py), Detection2D and debug images
out.

No cv_bridge: `np.frombuffer` on the message buffer is zero-copy and cv_bridge is not
installable everywhere (ros-on-pypi.md §3.3, §4). Assign `bytes` to `msg.data`, never an ndarray
(60 ms per 640x480 frame otherwise).
"""
import cv2
import numpy as np
from sensor_msgs.msg import CompressedImage, Image
from vision_msgs.msg import Detection2D, ObjectHypothesisWithPose

from siam_tracker_ros.detection_mapping import bbox_fields_to_box, box_to_bbox_fields
from siam_tracker_ros.image_messages import (  # noqa: F401  re-exported for the node
    ENCODINGS, ImageError, compressed_size, compressed_to_rgb, image_to_rgb)


def rgb_to_image(rgb: np.ndarray, header, encoding='rgb8') -> Image:
    """An HxWx3 uint8 RGB array as a sensor_msgs/Image ('rgb8' or 'bgr8')."""
    pixels = rgb if encoding == 'rgb8' else rgb[:, :, ::-1]
    msg = Image(header=header, height=rgb.shape[0], width=rgb.shape[1], encoding=encoding,
                is_bigendian=0, step=rgb.shape[1] * 3)
    msg.data = np.ascontiguousarray(pixels).tobytes()
    return msg


def rgb_to_compressed(rgb: np.ndarray, header, quality=90) -> CompressedImage:
    """An HxWx3 uint8 RGB array as a JPEG sensor_msgs/CompressedImage."""
    ok, data = cv2.imencode('.jpg', rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ImageError('JPEG encoding failed')
    return CompressedImage(header=header, format='jpeg', data=data.tobytes())


def make_detection(header, box, score, tracker_name, target_id) -> Detection2D:
    """Detection2D for one tracked frame (spec §1.8): header kept, one hypothesis."""
    fields = box_to_bbox_fields(box)
    det = Detection2D(header=header, id=target_id)
    det.bbox.center.position.x = fields['center_x']
    det.bbox.center.position.y = fields['center_y']
    det.bbox.center.theta = fields['theta']
    det.bbox.size_x = fields['size_x']
    det.bbox.size_y = fields['size_y']
    hypothesis = ObjectHypothesisWithPose()
    hypothesis.hypothesis.class_id = tracker_name
    hypothesis.hypothesis.score = float(score)
    det.results.append(hypothesis)
    return det


def bbox_to_box(bbox) -> tuple:
    """A vision_msgs/BoundingBox2D as a 0-based `xywh` tuple."""
    return bbox_fields_to_box(bbox.center.position.x, bbox.center.position.y,
                              bbox.size_x, bbox.size_y)
