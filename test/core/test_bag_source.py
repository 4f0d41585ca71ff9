"""`siam-track run --input BAG --topic T` (issue 15, "What to build" 5): bags written here with
rosbags' own writers from a dev sequence (rosbag2 MCAP and sqlite .db3, ROS 1 .bag; Image and
CompressedImage) are read back through the CLI. The boxes equal a run on the image folder and
each result line ends with the frame's recorded header stamp."""
from pathlib import Path

import cv2
import numpy as np
import pytest
from rosbags.rosbag1 import Writer as Ros1Writer
from rosbags.rosbag2 import StoragePlugin, Writer as Ros2Writer
from rosbags.typesys import Stores, get_typestore

from siam_tracker_ros.bag_source import BagSource
from siam_tracker_ros.cli.main import main
from siam_tracker_ros.frames import FrameSource, FrameSourceError

FRAMES = 8
TOPIC = '/camera/image_raw'
T0_NS = 1_700_000_000 * 10**9 + 123  # header stamps; record times are 5 s later


@pytest.fixture(scope='module')
def clip(sot_dir):
    folder = sot_dir / 'otb_Crossing'
    return folder, [frame for frame, _ in zip(FrameSource(folder), range(FRAMES))]


def _stamp_ns(index):
    return T0_NS + index * 33_333_333


def _message(store, rgb, index, compressed, zero_stamp=False):
    types = store.types
    ns = 0 if zero_stamp else _stamp_ns(index)
    stamp = types['builtin_interfaces/msg/Time'](sec=ns // 10**9, nanosec=ns % 10**9)
    fields = {'stamp': stamp, 'frame_id': 'camera'}
    if 'seq' in types['std_msgs/msg/Header'].__dataclass_fields__:
        fields['seq'] = index  # ROS 1
    header = types['std_msgs/msg/Header'](**fields)
    if compressed:
        png = cv2.imencode('.png', rgb[:, :, ::-1])[1].ravel()  # lossless: same pixels
        return types['sensor_msgs/msg/CompressedImage'](header=header, format='png', data=png)
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    return types['sensor_msgs/msg/Image'](
        header=header, height=rgb.shape[0], width=rgb.shape[1], encoding='bgr8',
        is_bigendian=0, step=rgb.shape[1] * 3, data=bgr.ravel())


def write_bag(path: Path, frames, layout, compressed=False, zero_stamps=False):
    """Write `frames` to TOPIC (and a String topic beside it) as a `layout` bag."""
    ros1 = layout == 'ros1'
    store = get_typestore(Stores.ROS1_NOETIC if ros1 else Stores.ROS2_HUMBLE)
    msgtype = 'sensor_msgs/msg/CompressedImage' if compressed else 'sensor_msgs/msg/Image'
    serialize = store.serialize_ros1 if ros1 else store.serialize_cdr
    writer = Ros1Writer(path) if ros1 else Ros2Writer(
        path, version=9,
        storage_plugin=StoragePlugin.MCAP if layout == 'mcap' else StoragePlugin.SQLITE3)
    with writer:
        images = writer.add_connection(TOPIC, msgtype, typestore=store)
        notes = writer.add_connection('/notes', 'std_msgs/msg/String', typestore=store)
        for index, rgb in enumerate(frames):
            record_ns = _stamp_ns(index) + 5 * 10**9
            writer.write(images, record_ns, serialize(
                _message(store, rgb, index, compressed, zero_stamps), msgtype))
            writer.write(notes, record_ns, serialize(
                store.types['std_msgs/msg/String'](data=f'frame {index}'),
                'std_msgs/msg/String'))
    return path


def _run(tmp_path, name, *args):
    out = tmp_path / f'{name}.txt'
    code = main(['run', '--weights', 'none', '--threads', '1', '--init', '50,100,40,90',
                 '--out', str(out), *args])
    assert code == 0
    return [line.split(',') for line in out.read_text().splitlines()]


@pytest.mark.parametrize('layout, compressed, stored', [
    ('mcap', False, lambda bag: bag),
    ('mcap', True, lambda bag: next(bag.glob('*.mcap'))),  # the bare .mcap file
    ('sqlite3', False, lambda bag: next(bag.glob('*.db3'))),
    ('sqlite3', True, lambda bag: bag),
    ('ros1', False, lambda bag: bag),
    ('ros1', True, lambda bag: bag),
])
def test_run_reads_bags_like_the_image_folder(tmp_path, clip, layout, compressed, stored):
    folder, frames = clip
    bag = write_bag(tmp_path / ('rec.bag' if layout == 'ros1' else 'rec'), frames, layout,
                    compressed)
    rows = _run(tmp_path, 'bag', '--input', str(stored(bag)), '--topic', TOPIC)
    reference = _run(tmp_path, 'folder', '--input', str(folder), '--max-frames', str(FRAMES))
    assert [row[:6] for row in rows] == reference
    assert [row[6] for row in rows] == [
        f'{_stamp_ns(i) // 10**9}.{_stamp_ns(i) % 10**9:09d}' for i in range(FRAMES)]


def test_zero_header_stamps_fall_back_to_record_time(tmp_path, clip):
    bag = write_bag(tmp_path / 'rec', clip[1][:3], 'mcap', zero_stamps=True)
    source = BagSource(bag, TOPIC)
    assert source.stamps == [_stamp_ns(i) + 5 * 10**9 for i in range(3)]
    assert round(source.fps) == 30 and len(source) == 3


def test_bag_errors_name_the_problem(tmp_path, clip):
    bag = write_bag(tmp_path / 'rec', clip[1][:2], 'mcap')
    with pytest.raises(FrameSourceError, match=f'has no topic /image; image topics: {TOPIC}'):
        BagSource(bag, '/image')
    with pytest.raises(FrameSourceError, match='/notes .* carries std_msgs/msg/String'):
        BagSource(bag, '/notes')
    broken = tmp_path / 'broken.mcap'
    broken.write_bytes(b'\x89MCAP0\r\n' + bytes(100))
    with pytest.raises(FrameSourceError, match='cannot read bag'):
        BagSource(broken, TOPIC)
    assert main(['run', '--input', str(bag), '--init', '1,1,5,5', '--out',
                 str(tmp_path / 'x.txt')]) != 0  # no --topic
