"""Frames from a recorded bag for `siam-track run --input BAG --topic T` (no rclpy).

Reads rosbag2 (a bag folder with metadata.yaml, or a bare `.mcap` / sqlite `.db3` file) and
ROS 1 `.bag` files with the pure-Python `rosbags` package (`pip install
'siam_tracker_ros[bag]'`). The topic may carry sensor_msgs/Image (rgb8, bgr8, mono8, rgba8,
bgra8) or CompressedImage (JPEG, PNG), decoded as the node decodes them (image_messages.py).
Frames come in recorded order; `stamps` holds each frame's header stamp (ns), or its record
time where the header stamp is zero.
"""
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from siam_tracker_ros.frames import FrameSourceError
from siam_tracker_ros.image_messages import ImageError, compressed_to_rgb, image_to_rgb

BAG_SUFFIXES = ('.mcap', '.db3', '.bag')
IMAGE_TYPES = {'sensor_msgs/msg/Image': image_to_rgb,
               'sensor_msgs/msg/CompressedImage': compressed_to_rgb}


def is_bag(path) -> bool:
    """A bag file, or a rosbag2 folder (it holds metadata.yaml)."""
    path = Path(path)
    return path.suffix in BAG_SUFFIXES or (path.is_dir() and (path / 'metadata.yaml').is_file())


def _any_reader(path: Path):
    try:
        from rosbags.highlevel import AnyReader
        from rosbags.typesys import Stores, get_typestore
    except ImportError:
        raise FrameSourceError("reading bags needs the rosbags package: pip install "
                               "'siam_tracker_ros[bag]' (or: pip install rosbags)") from None
    # Bags without embedded message definitions (older .db3) are read with Humble's types.
    return AnyReader([path], default_typestore=get_typestore(Stores.ROS2_HUMBLE))


class BagSource:
    """Iterates RGB uint8 frames of one image topic of a bag; `fps` from the stamps."""

    def __init__(self, path, topic: str):
        self.path, self.topic = Path(path), topic
        if not self.path.exists():
            raise FrameSourceError(f'input not found: {self.path}')
        self.stamps = []
        with self._open() as reader:
            self.connections = self._topic_connections(reader)
            self.count = sum(c.msgcount for c in self.connections)
            self.stamps = [stamp for stamp, _ in self._messages(reader)]
        if not self.count:
            raise FrameSourceError(f'{self.path}: topic {topic} holds no messages')
        periods = np.diff(self.stamps)
        positive = periods[periods > 0]
        self.fps = 1e9 / float(np.median(positive)) if positive.size else 30.0

    @contextmanager
    def _open(self):
        """The opened AnyReader; rosbags' errors (several unrelated types) as FrameSourceError."""
        reader = _any_reader(self.path)
        try:
            reader.open()
        except Exception as err:  # noqa: BLE001
            raise FrameSourceError(f'cannot read bag {self.path}: {type(err).__name__}: '
                                   f'{err}') from None
        try:
            yield reader
        finally:
            reader.close()

    def _topic_connections(self, reader):
        found = [c for c in reader.connections if c.topic == self.topic]
        images = sorted({c.topic for c in reader.connections if c.msgtype in IMAGE_TYPES})
        if not found:
            raise FrameSourceError(f'{self.path} has no topic {self.topic}; image topics: '
                                   f'{", ".join(images) or "none"}')
        wrong = {c.msgtype for c in found} - set(IMAGE_TYPES)
        if wrong:
            raise FrameSourceError(f'{self.topic} in {self.path} carries {", ".join(wrong)}, '
                                   'not sensor_msgs/Image or CompressedImage')
        return found

    def _messages(self, reader):
        """(stamp ns, message) in recorded order; the record time stands in for a zero stamp."""
        for connection, record_ns, raw in reader.messages(connections=[
                c for c in reader.connections if c.topic == self.topic]):
            msg = reader.deserialize(raw, connection.msgtype)
            stamp = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
            yield (stamp or record_ns), (connection.msgtype, msg)

    def __len__(self):
        return self.count

    def __iter__(self):
        with self._open() as reader:
            for index, (_, (msgtype, msg)) in enumerate(self._messages(reader)):
                try:
                    yield IMAGE_TYPES[msgtype](msg)
                except ImageError as err:
                    raise FrameSourceError(f'{self.topic} message {index} in {self.path}: '
                                           f'{err}') from None
