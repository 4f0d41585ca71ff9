"""Messages <-> numpy: images in, Detection2D / TrackerStatus / debug images out.

No cv_bridge: `np.frombuffer` on the message buffer is zero-copy and cv_bridge is not
installable everywhere (ros-on-pypi.md §3.3, §4). Assign `bytes` to `msg.data`, never an ndarray
(60 ms per 640x480 frame otherwise).
"""
import struct

import cv2
import numpy as np
from sensor_msgs.msg import CompressedImage, Image
from vision_msgs.msg import Detection2D, ObjectHypothesisWithPose

from siam_tracker_ros.detection_mapping import bbox_fields_to_box, box_to_bbox_fields

# encoding -> (channels, conversion to RGB)
ENCODINGS = {
    'rgb8': (3, lambda a: a),
    'bgr8': (3, lambda a: a[:, :, ::-1]),
    'mono8': (1, lambda a: np.repeat(a, 3, axis=2)),
    'rgba8': (4, lambda a: a[:, :, :3]),
    'bgra8': (4, lambda a: a[:, :, 2::-1]),
}


PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
# JPEG start-of-frame markers (SOF0-SOF15 less DHT C4, JPG C8 and DAC CC) hold the image size.
JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
JPEG_NO_LENGTH = frozenset(range(0xD0, 0xD8)) | {0x01, 0xD8}  # RSTn, TEM, SOI: no length field


class ImageError(ValueError):
    """An image message the node cannot decode; the message says why."""


def image_to_rgb(msg: Image) -> np.ndarray:
    """Decode a sensor_msgs/Image into a contiguous HxWx3 uint8 RGB array.

    Raises:
        ImageError: unsupported encoding, 0x0 image, step/size mismatch or truncated data.
    """
    encoding = msg.encoding.lower()
    if encoding not in ENCODINGS:
        raise ImageError(f'unsupported encoding {msg.encoding!r}; supported: '
                         f'{", ".join(ENCODINGS)}')
    channels, to_rgb = ENCODINGS[encoding]
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if height == 0 or width == 0:
        raise ImageError(f'empty image: {width}x{height}')
    if step < width * channels:
        raise ImageError(f'step {step} is smaller than width {width} x {channels} channels')
    size = len(msg.data)
    if size < step * height:
        raise ImageError(f'truncated data: {size} bytes, expected step {step} x height '
                         f'{height} = {step * height}')
    if size != step * height:
        raise ImageError(f'data size {size} does not match step {step} x height {height}')
    rows = np.frombuffer(msg.data, dtype=np.uint8).reshape(height, step)
    pixels = rows[:, :width * channels].reshape(height, width, channels)
    return np.ascontiguousarray(to_rgb(pixels))


def compressed_size(data: bytes) -> tuple:
    """(width, height) from a JPEG or PNG header, without decoding the pixels.

    Raises:
        ImageError: neither JPEG nor PNG, or no readable size in the header.
    """
    if data[:8] == PNG_SIGNATURE:
        if len(data) < 24 or data[12:16] != b'IHDR':
            raise ImageError('cannot decode compressed image: PNG without an IHDR header')
        return struct.unpack('>II', data[16:24])
    if data[:2] == b'\xff\xd8':
        return _jpeg_size(data)
    raise ImageError(f'compressed image is neither JPEG nor PNG (starts with {data[:8].hex()})')


def _jpeg_size(data: bytes) -> tuple:
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise ImageError(f'cannot decode compressed image: JPEG header corrupt at byte {pos}')
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in JPEG_NO_LENGTH:
            pos += 2
            continue
        if marker == 0xDA:  # start of scan before any frame header
            break
        (length,) = struct.unpack('>H', data[pos + 2:pos + 4])
        if marker in JPEG_SOF:
            if pos + 9 > len(data):
                break
            height, width = struct.unpack('>HH', data[pos + 5:pos + 9])
            return width, height
        pos += 2 + length
    raise ImageError('cannot decode compressed image: JPEG without a frame header (SOF)')


def compressed_to_rgb(msg: CompressedImage, max_pixels: int = 4096 * 4096) -> np.ndarray:
    """Decode a sensor_msgs/CompressedImage (JPEG or PNG) into HxWx3 uint8 RGB.

    The size in the header is checked first, so a small message claiming a huge image costs
    no memory.

    Raises:
        ImageError: empty data, not JPEG/PNG, a size of 0 or above `max_pixels`, or undecodable.
    """
    if len(msg.data) == 0:
        raise ImageError('compressed image has no data')
    data = bytes(msg.data) if not isinstance(msg.data, bytes) else msg.data
    width, height = compressed_size(data)
    if width == 0 or height == 0:
        raise ImageError(f'compressed image declares an empty size {width}x{height}')
    if width * height > max_pixels:
        raise ImageError(f'compressed image declares {width}x{height} = {width * height} '
                         f'pixels, more than max_image_pixels {max_pixels}')
    bgr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if bgr is None or bgr.size == 0:
        raise ImageError(f'cannot decode compressed image ({len(msg.data)} bytes, '
                         f'format {msg.format!r})')
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


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
