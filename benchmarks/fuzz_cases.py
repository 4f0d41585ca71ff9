"""The fuzz cases of benchmarks/fuzz_node.py: seeded, plain data (no ROS import).

A case is a dict: `kind` (image, compressed or service), `variant`, and the fields of the
message or request to send. `describe(case)` is its JSON-able log form (bytes as size + digest).
The same seed gives the same cases, in the same order.
"""
import hashlib
import struct

import cv2
import numpy as np

INT32 = (-2**31, 2**31 - 1)
UINT32_MAX = 2**32 - 1
ENCODINGS = ('rgb8', 'bgr8', 'mono8', 'rgba8', 'bgra8', 'mono16', '16UC1', '32FC1', 'yuv422',
             'rgb16', 'bayer_rggb8', '8UC3', 'nv21', 'RGB8', '', 'bgr8\x00junk', 'é' * 3,
             'x' * 1000)
CHANNELS = {'rgb8': 3, 'bgr8': 3, 'mono8': 1, 'rgba8': 4, 'bgra8': 4, 'mono16': 2, '16UC1': 2,
            '32FC1': 4, 'rgb16': 6}
FORMATS = ('jpeg', 'png', '', 'bmp', 'rgb8; jpeg compressed bgr8', 'tiff', 'webp', 'y' * 500)
LONG = (100, 1000, 10_000, 100_000)


def _pick(rng, options):
    return options[int(rng.integers(len(options)))]


def _stamp(rng, absurd=False):
    if not absurd:
        return None  # the sender's running stamp
    sec = int(_pick(rng, (INT32[0], -1, 0, 1, INT32[1], int(rng.integers(*INT32)))))
    nanosec = int(_pick(rng, (0, 999_999_999, 10**9, UINT32_MAX, int(rng.integers(UINT32_MAX)))))
    return sec, nanosec


def _raw(rng, height, width, encoding, step=None, size=None, bigendian=0, stamp=None):
    step = width * CHANNELS.get(encoding, 3) if step is None else step
    size = step * height if size is None else size
    return {'height': int(height), 'width': int(width), 'encoding': encoding,
            'step': int(min(step, UINT32_MAX)), 'data': rng.bytes(int(size)),
            'is_bigendian': int(bigendian), 'stamp': stamp}


def image_case(rng, variant):
    """A sensor_msgs/Image as fields."""
    h, w = int(rng.integers(1, 97)), int(rng.integers(1, 129))
    if variant == 'encoding':
        return _raw(rng, h, w, _pick(rng, ENCODINGS))
    if variant == 'step':
        enc = _pick(rng, ENCODINGS[:5])
        step = int(rng.integers(0, 2 * w * CHANNELS[enc] + 2))
        return _raw(rng, h, w, enc, step, size=_pick(rng, (step * h, w * CHANNELS[enc] * h)))
    if variant == 'data_size':
        enc = _pick(rng, ENCODINGS[:5])
        return _raw(rng, h, w, enc, size=int(rng.integers(0, 2 * h * w * CHANNELS[enc] + 8)))
    if variant == 'zero_dims':
        h, w = _pick(rng, ((0, 0), (0, w), (h, 0)))
        return _raw(rng, h, w, _pick(rng, ENCODINGS[:5]), size=int(rng.integers(0, 64)))
    if variant == 'huge_dims':
        big = int(_pick(rng, (2**16, 2**20, 2**31 - 1, UINT32_MAX)))
        h, w = _pick(rng, ((big, w), (h, big), (big, big)))
        return _raw(rng, h, w, 'rgb8', size=int(rng.integers(0, 4096)))
    if variant == 'endianness':
        return _raw(rng, h, w, _pick(rng, ('bgr8', 'rgb8', 'mono8', 'mono16')), bigendian=1)
    if variant == 'absurd_stamp':
        return _raw(rng, h, w, 'rgb8', stamp=_stamp(rng, absurd=True))
    if variant == 'large_valid':
        return _raw(rng, 1080, 1920, 'bgr8')
    raise ValueError(f'unknown image variant {variant!r}')


def _encoded(frame, ext):
    if ext == '.pgm':  # grey only
        frame = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    ok, data = cv2.imencode(ext, frame)
    return data.tobytes() if ok else b''


def _claiming_jpeg(jpeg: bytes, width: int, height: int) -> bytes:
    sof = jpeg.index(b'\xff\xc0')
    return jpeg[:sof + 5] + struct.pack('>HH', height, width) + jpeg[sof + 9:]


def _claiming_png(png: bytes, width: int, height: int) -> bytes:
    return png[:16] + struct.pack('>II', width, height) + png[24:]


def compressed_case(rng, variant, frame):
    """A sensor_msgs/CompressedImage as fields; `frame` is a real BGR frame to spoil."""
    jpeg, png = _encoded(frame, '.jpg'), _encoded(frame, '.png')
    if variant == 'garbage':
        data, fmt = rng.bytes(int(rng.integers(1, 20_000))), _pick(rng, FORMATS)
    elif variant == 'truncated':
        real = _pick(rng, (jpeg, png))
        data, fmt = real[:int(rng.integers(0, len(real)))], 'jpeg' if real is jpeg else 'png'
    elif variant == 'bit_flips':
        spoiled = bytearray(jpeg)
        for index in rng.integers(0, len(spoiled), int(rng.integers(1, 50))):
            spoiled[index] ^= 1 << int(rng.integers(8))
        data, fmt = bytes(spoiled), 'jpeg'
    elif variant == 'other_format':
        ext = _pick(rng, ('.bmp', '.tiff', '.webp', '.ppm', '.pgm'))
        data, fmt = _encoded(frame, ext), ext[1:]
    elif variant == 'huge_claim':
        side = lambda: int(_pick(rng, (0, 1, 4097, 8000, 30_000, 65_535)))  # noqa: E731
        data = (_claiming_jpeg(jpeg, side(), side()) if rng.random() < 0.5
                else _claiming_png(png, side(), side()))
        fmt = _pick(rng, ('jpeg', 'png'))
    elif variant == 'format_lie':
        data, fmt = _pick(rng, ((png, 'jpeg'), (jpeg, 'png'), (jpeg, 'bmp')))
    elif variant == 'empty':
        data, fmt = b'', _pick(rng, FORMATS)
    else:
        raise ValueError(f'unknown compressed variant {variant!r}')
    return {'format': fmt, 'data': data, 'stamp': None}


def _box(rng, width, height):
    x, y = rng.uniform(-0.2, 1.0) * width, rng.uniform(-0.2, 1.0) * height
    return [float(x), float(y), float(rng.uniform(2, width / 2)), float(rng.uniform(2, height / 2))]


def _long(rng, control=False):
    text = 'a' * int(_pick(rng, LONG))
    return text[:5] + _pick(rng, ('\n', '\t', '\x1b[2J', '\x7f')) + text[5:] if control else text


def service_case(rng, variant, width, height):
    """An InitTarget request (box: 0-based xywh) or a reset, as fields."""
    request = {'box': _box(rng, width, height), 'stamp': [0, 0], 'frame_id': '', 'tracker': '',
               'target_id': ''}
    if variant == 'nonfinite_box':
        request['box'][int(rng.integers(4))] = _pick(rng, (float('nan'), float('inf'),
                                                           float('-inf')))
    elif variant == 'huge_box':
        side = float(_pick(rng, (1e4, 3e4, 1e9, 1e30, 1.7e308)))
        request['box'] = [width / 2 - side / 2, height / 2 - side / 2, side, side]
    elif variant == 'negative_box':
        request['box'][int(rng.integers(2, 4))] *= -1.0
    elif variant == 'absurd_stamp':
        request['stamp'] = list(_stamp(rng, absurd=True))
    elif variant == 'frame_id_mismatch':
        request['frame_id'] = _pick(rng, ('other_camera', 'camera ', '/camera', 'z' * 300))
    elif variant == 'unknown_tracker':
        request['tracker'] = _pick(rng, ('siamrpn_not_here', 'SIAMFC', 'siamfc ', '../siamfc'))
    elif variant == 'long_strings':
        request[_pick(rng, ('tracker', 'target_id', 'frame_id'))] = _long(rng)
    elif variant == 'control_chars':
        request[_pick(rng, ('tracker', 'target_id'))] = _long(rng, control=True)[:40]
    elif variant == 'valid_init':
        request['box'] = [width * 0.3, height * 0.3, width * 0.2, height * 0.2]
    elif variant == 'reset':
        return {'reset': True}
    elif variant == 'storm':
        size = int(rng.integers(5, 61))
        return {'storm': [service_case(rng, _pick(rng, ('valid_init', 'reset', 'huge_box')),
                                       width, height) for _ in range(size)]}
    else:
        raise ValueError(f'unknown service variant {variant!r}')
    return request


VARIANTS = {
    'image': ('encoding', 'step', 'data_size', 'zero_dims', 'huge_dims', 'endianness',
              'absurd_stamp', 'large_valid'),
    'compressed': ('garbage', 'truncated', 'bit_flips', 'other_format', 'huge_claim',
                   'format_lie', 'empty'),
    'service': ('nonfinite_box', 'huge_box', 'negative_box', 'absurd_stamp',
                'frame_id_mismatch', 'unknown_tracker', 'long_strings', 'control_chars',
                'valid_init', 'reset', 'storm'),
}
RARE = {'large_valid': 0.3, 'storm': 0.3}  # relative weight (others: 1)


def cases(seed: int, count: int, image_kind: str, frames, width: int, height: int):
    """`count` cases: half `image_kind` (image or compressed), half service requests.
    `frames`: real BGR frames to spoil (compressed cases)."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        kind = image_kind if rng.random() < 0.5 else 'service'
        names = VARIANTS[kind]
        weights = np.array([RARE.get(name, 1.0) for name in names])
        variant = names[int(rng.choice(len(names), p=weights / weights.sum()))]
        if kind == 'image':
            fields = image_case(rng, variant)
        elif kind == 'compressed':
            fields = compressed_case(rng, variant, frames[int(rng.integers(len(frames)))])
        else:
            fields = service_case(rng, variant, width, height)
        yield {'kind': kind, 'variant': variant, **fields}


def describe(value):
    """A JSON-able form of a case: bytes as size + digest, long strings as length + head."""
    if isinstance(value, dict):
        return {key: describe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [describe(item) for item in value]
    if isinstance(value, (bytes, bytearray)):
        return {'bytes': len(value), 'sha1': hashlib.sha1(value).hexdigest()[:12]}
    if isinstance(value, str) and len(value) > 80:
        return {'chars': len(value), 'head': value[:40]}
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    return value
