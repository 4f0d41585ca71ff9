"""The real tracker node as a process, and a client for it: shared by fuzz_node.py,
soak_node.py and replay_node.py (run them with scripts/ros_env.sh sourced, in a
loopback-only network namespace like the ROS tests)."""
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import cv2
import numpy as np
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy

from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header
from std_srvs.srv import Trigger
from vision_msgs.msg import Detection2D

from siam_tracker_ros.detection_mapping import (bbox_fields_to_box, box_to_bbox_fields,
                                                ns_to_stamp, stamp_to_ns)
from siam_tracker_ros.ros.conversions import rgb_to_compressed, rgb_to_image
from siam_tracker_ros.ros.interfaces import InitTarget, TrackerStatus
from siam_tracker_ros.ros.workspace import node_command

SOT_DIR = Path(__file__).resolve().parents[2] / 'shared' / 'data' / 'sot'


def load_sequence(name: str, count=None):
    """RGB frames and 0-based xywh ground truth of a dev sequence (OTB layout)."""
    folder = SOT_DIR / name
    files = sorted((folder / 'img').glob('*.jpg'))[:count]
    frames = [cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB) for f in files]
    lines = (folder / 'groundtruth_rect.txt').read_text().split('\n')[:len(files)]
    boxes = np.array([[float(v) for v in line.replace('\t', ',').split(',')] for line in lines])
    boxes[:, :2] -= 1.0
    return frames, boxes


class NodeUnderTest:
    """The installed tracker_node (shipped default weights) in its own process."""

    def __init__(self, name: str, log_path: Path, *ros_args):
        self.name, self.log_path, self.ros_args = name, Path(log_path), ros_args
        self.proc, self._log = None, None

    def start(self, timeout=120.0):
        self._log = open(self.log_path, 'a')
        command = node_command(*self.ros_args, '-r', f'__node:={self.name}')
        self.proc = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while ' ready on ' not in self.log_path.read_text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f'node did not start:\n{self.log_path.read_text()[-3000:]}')
            time.sleep(0.2)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def _status(self, field: str) -> int:
        with open(f'/proc/{self.proc.pid}/status') as status:
            return int(next(l for l in status if l.startswith(field + ':')).split()[1])

    def rss_mb(self) -> float:
        return self._status('VmRSS') / 1024

    def threads(self) -> int:
        return self._status('Threads')

    def fds(self) -> int:
        return len(os.listdir(f'/proc/{self.proc.pid}/fd'))

    def stop(self) -> int:
        if self.alive():
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


class NodeClient:
    """Camera publisher, service clients (deep queues, for storms) and output subscribers,
    spun in a thread. Outputs are kept with their receive time (ns, system clock)."""

    def __init__(self, name: str, node_name: str, compressed=False):
        self.node = Node(name)
        self.compressed = compressed
        camera = QoSProfile(depth=30, reliability=ReliabilityPolicy.RELIABLE)
        self.pub = self.node.create_publisher(CompressedImage if compressed else Image,
                                              '/image/compressed' if compressed else '/image',
                                              camera)
        deep = QoSProfile(depth=200, reliability=ReliabilityPolicy.RELIABLE)
        self.init_client = self.node.create_client(InitTarget, f'/{node_name}/init_target',
                                                   qos_profile=deep)
        self.reset_client = self.node.create_client(Trigger, f'/{node_name}/reset',
                                                    qos_profile=deep)
        self.detections, self.statuses, self._lock = [], [], threading.Lock()
        self.node.create_subscription(Detection2D, f'/{node_name}/detection',
                                      self._keeper(self.detections), 200)
        self.node.create_subscription(TrackerStatus, f'/{node_name}/status',
                                      self._keeper(self.statuses), 200)
        self.executor = SingleThreadedExecutor()
        self.executor.add_node(self.node)
        self._thread = threading.Thread(target=self.executor.spin, daemon=True)
        self._thread.start()

    def _keeper(self, store):
        def keep(msg):
            now = time.time_ns()
            with self._lock:
                store.append((now, msg))
        return keep

    def wait_matched(self, timeout=30.0):
        deadline = time.monotonic() + timeout
        while self.pub.get_subscription_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)

    def publish(self, rgb, stamp_ns: int, frame_id='camera'):
        header = Header(frame_id=frame_id)
        header.stamp.sec, header.stamp.nanosec = ns_to_stamp(stamp_ns)
        self.pub.publish(rgb_to_compressed(rgb, header) if self.compressed
                         else rgb_to_image(rgb, header, 'bgr8'))

    def request(self, fields):
        """Send {'reset': True} or an init ({'box', 'stamp': [sec, ns], 'frame_id', 'tracker',
        'target_id'}); returns the future."""
        if fields.get('reset'):
            return self.reset_client.call_async(Trigger.Request())
        request = InitTarget.Request()
        request.header.frame_id = fields.get('frame_id', '')
        request.header.stamp.sec, request.header.stamp.nanosec = fields.get('stamp', (0, 0))
        box = box_to_bbox_fields(fields['box'])
        request.bbox.center.position.x = box['center_x']
        request.bbox.center.position.y = box['center_y']
        request.bbox.size_x, request.bbox.size_y = box['size_x'], box['size_y']
        request.tracker = fields.get('tracker', '')
        request.target_id = fields.get('target_id', '')
        return self.init_client.call_async(request)

    @staticmethod
    def wait(futures, timeout: float):
        """The results of `futures` (None: not answered in `timeout` s)."""
        deadline = time.monotonic() + timeout
        while not all(f.done() for f in futures) and time.monotonic() < deadline:
            time.sleep(0.002)
        return [f.result() if f.done() else None for f in futures]

    def init(self, box, stamp_ns: int, target_id='', timeout=30.0):
        """Stamp-matched init; returns the reply (None: no answer)."""
        fields = {'box': list(box), 'stamp': list(ns_to_stamp(stamp_ns)), 'frame_id': 'camera',
                  'target_id': target_id}
        return self.wait([self.request(fields)], timeout)[0]

    def detections_by_stamp(self, target_id: str) -> dict:
        """stamp ns -> (receive ns, xywh box) of the target's detections."""
        with self._lock:
            found = [(t, d) for t, d in self.detections if d.id == target_id]
        return {stamp_to_ns(d.header.stamp.sec, d.header.stamp.nanosec):
                (t, bbox_fields_to_box(d.bbox.center.position.x, d.bbox.center.position.y,
                                       d.bbox.size_x, d.bbox.size_y))
                for t, d in found}

    def take_statuses(self) -> list:
        """(receive ns, TrackerStatus) received since the last call."""
        with self._lock:
            taken, self.statuses[:] = list(self.statuses), []
        return taken

    def close(self):
        self.executor.shutdown()
        self._thread.join(10)
        self.node.destroy_node()

