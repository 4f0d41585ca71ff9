"""sensor_msgs/Image and CompressedImage payloads -> RGB arrays, without importing ROS.

The functions read only the message fields (`height`, `width`, `encoding`, `step`, `data`;
`format`, `data`), so they serve rclpy messages in the node and messages read from bag files
by `rosbags` alike. Sizes are checked before any pixel is decoded.
"""
import struct

import cv2
import numpy as np

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


def image_to_rgb(msg) -> np.ndarray:
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


def compressed_to_rgb(msg, max_pixels: int = 4096 * 4096) -> np.ndarray:
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
