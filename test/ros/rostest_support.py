"""Helpers for the ROS tests: sequences, the tracker node as a process, a streaming client."""
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy

from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header
from std_srvs.srv import Trigger
from vision_msgs.msg import Detection2D, Detection2DArray

from siam_tracker_ros.detection_mapping import box_to_bbox_fields, ns_to_stamp, stamp_to_ns
from siam_tracker_ros.ros import workspace
from siam_tracker_ros.ros.conversions import rgb_to_compressed, rgb_to_image
from siam_tracker_ros.ros.interfaces import (InitTarget, RemoveTarget, TrackerStatus,
                                             TrackerStatusArray)

NODE = 'siam_tracker'
T0_NS = 1_700_000_000 * 10**9  # sender stamps: frame i is stamped T0 + i / 30 s


def load_sequence(seq_dir: Path, count: int):
    """First `count` frames (RGB uint8) and 0-based xywh ground truth of an OTB-layout clip."""
    files = sorted((seq_dir / 'img').glob('*.jpg'))[:count]
    frames = [cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB) for f in files]
    lines = (seq_dir / 'groundtruth_rect.txt').read_text().split('\n')[:count]
    boxes = np.array([[float(v) for v in line.replace('\t', ',').split(',')] for line in lines])
    boxes[:, :2] -= 1.0
    return frames, boxes


IN_TRANSIT = ('newer than every', 'no image received yet')   # init replies that change nothing


def frame_stamp_ns(index: int) -> int:
    """The stamp the tests give frame `index`."""
    return T0_NS + index * 10**9 // 30


def node_command(*ros_args, params_file=None):
    """The installed tracker_node with config/tracker.yaml and seeded random weights."""
    return workspace.node_command('-p', 'weights:=none', *ros_args, params_file=params_file)


class NodeProcess:
    """The tracker node in its own process; output goes to a log file."""

    def __init__(self, command, log_path: Path, own_group=False, env=None, cwd=None):
        """`own_group`: start it in a new process group (a session), as a terminal would;
        `env`: variables added to the environment; `cwd`: its working directory."""
        self.log_path = log_path
        self._log = open(log_path, 'w')
        self.proc = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=own_group, cwd=cwd,
                                     env={**os.environ, **(env or {})})

    def log(self) -> str:
        """Everything the node printed so far."""
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text()

    def wait_ready(self, timeout=60.0):
        """Wait for the node's 'ready' log line."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f'node exited early:\n{self.log()}'
            if ' ready on ' in self.log():
                return
            time.sleep(0.1)
        raise AssertionError(f'node not ready after {timeout} s:\n{self.log()}')

    def signal_group(self, sig):
        """Send `sig` to the node's process group (as Ctrl-C in a terminal does)."""
        os.killpg(self.proc.pid, sig)

    def wait_exit(self, timeout=30.0) -> int:
        """Wait for the process to exit by itself; returns the exit code."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f'node still running after {timeout} s:\n{self.log()}') from None

    def rss_mb(self) -> float:
        """The node's resident memory in MiB."""
        with open(f'/proc/{self.proc.pid}/status') as status:
            line = next(line for line in status if line.startswith('VmRSS:'))
        return int(line.split()[1]) / 1024

    def stop(self, sig=signal.SIGINT, timeout=20.0) -> int:
        """Send `sig`, wait, and return the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


class Client:
    """A test-side ROS node: camera publisher, output subscriber and service client."""

    def __init__(self, name='siam_tracker_test', node_name=NODE):
        self.node = Node(name)
        self.executor = SingleThreadedExecutor()
        self.executor.add_node(self.node)
        self.detections, self.statuses = [], []
        self.detection_arrays, self.status_arrays = [], []
        self._lock = threading.Lock()
        self.node.create_subscription(Detection2D, f'/{node_name}/detection',
                                      self._keep(self.detections), 100)
        self.node.create_subscription(TrackerStatus, f'/{node_name}/status',
                                      self._keep(self.statuses), 100)
        self.node.create_subscription(Detection2DArray, f'/{node_name}/detections',
                                      self._keep(self.detection_arrays), 100)
        self.node.create_subscription(TrackerStatusArray, f'/{node_name}/statuses',
                                      self._keep(self.status_arrays), 100)
        self.init_client = self.node.create_client(InitTarget, f'/{node_name}/init_target')
        self.remove_client = self.node.create_client(RemoveTarget,
                                                     f'/{node_name}/remove_target')
        self.reset_client = self.node.create_client(Trigger, f'/{node_name}/reset')
        self.pub = None
        self._thread = threading.Thread(target=self.executor.spin, daemon=True)
        self._thread.start()

    def _keep(self, store):
        def callback(msg):
            with self._lock:
                store.append(msg)
        return callback

    def clear(self):
        """Forget received outputs."""
        with self._lock:
            for store in (self.detections, self.statuses, self.detection_arrays,
                          self.status_arrays):
                store.clear()

    def make_publisher(self, compressed=False, reliable=True, topic=None):
        """(Re)create the camera publisher."""
        if self.pub is not None:
            self.node.destroy_publisher(self.pub)
        reliability = ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT
        msg_type = CompressedImage if compressed else Image
        topic = topic or ('/image/compressed' if compressed else '/image')
        # 1 s of history: with depth 10, a reliable writer on default Fast DDS (images over UDP)
        # rarely dropped unacknowledged frames while both processes loaded the 2 cores.
        self.pub = self.node.create_publisher(msg_type, topic,
                                              QoSProfile(depth=30, reliability=reliability))
        self.compressed = compressed

    def wait_matched(self, reliable, timeout=20.0):
        """Wait until the node subscribes our topic with the matching reliability."""
        want = ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            infos = self.node.get_subscriptions_info_by_topic(self.pub.topic_name)
            if (self.pub.get_subscription_count() > 0 and infos
                    and all(i.qos_profile.reliability == want for i in infos)):
                time.sleep(0.3)
                return
            time.sleep(0.1)
        raise AssertionError(f'node never subscribed {self.pub.topic_name} with {want}')

    def publish(self, rgb, index, frame_id='camera', encoding='bgr8'):
        """Publish frame `index` with its test stamp."""
        header = Header(frame_id=frame_id)
        header.stamp.sec, header.stamp.nanosec = ns_to_stamp(frame_stamp_ns(index))
        if self.compressed:
            self.pub.publish(rgb_to_compressed(rgb, header))
        else:
            self.pub.publish(rgb_to_image(rgb, header, encoding))

    def stream(self, frames, first=0, rate=30.0, frame_id='camera', on_frame=None):
        """Publish `frames` at `rate` Hz; `on_frame(i)` is called after frame i."""
        period, start = 1.0 / rate, time.monotonic()
        for k, rgb in enumerate(frames):
            index = first + k
            delay = start + k * period - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self.publish(rgb, index, frame_id)
            if on_frame is not None:
                on_frame(index)

    def call(self, client, request, timeout=60.0, resend_every=None):
        """Call a service (Humble-compatible: no Client.call timeout) and return the response.

        `resend_every` (idempotent requests only): send the request again after that many
        seconds without an answer. Right after discovery a response can be lost when the server
        has not yet matched our reader; a resend then gets through."""
        assert client.wait_for_service(timeout_sec=timeout), f'{client.srv_name} unavailable'
        futures = [client.call_async(request)]
        deadline = time.monotonic() + timeout
        next_send = time.monotonic() + (resend_every or timeout)
        while not any(f.done() for f in futures) and time.monotonic() < deadline:
            if time.monotonic() > next_send:
                futures.append(client.call_async(request))
                next_send = time.monotonic() + resend_every
            time.sleep(0.01)
        done = [f for f in futures if f.done()]
        assert done, f'{client.srv_name} did not answer in {timeout} s'
        return done[0].result()

    def init_once(self, box, stamp_ns=0, frame_id='', tracker='', target_id=''):
        """Call ~/init_target once with a 0-based xywh box."""
        return self.call(self.init_client,
                         init_request(box, stamp_ns, frame_id, tracker, target_id))

    def init(self, box, stamp_ns=0, frame_id='', tracker='', target_id='', timeout=15.0):
        """`init_once`, called again while the node has not yet received the frame asked for
        (its reply says so and changes nothing: 'newer than every received frame', or 'no
        image received yet' before the first): a published frame may still be in transit
        when `stream` returns, more so on a loaded machine."""
        deadline = time.monotonic() + timeout
        while True:
            reply = self.init_once(box, stamp_ns, frame_id, tracker, target_id)
            in_transit = any(m in reply.message for m in IN_TRANSIT)
            if reply.success or not in_transit or time.monotonic() > deadline:
                return reply
            time.sleep(0.05)

    def remove_target(self, target_id):
        """Call ~/remove_target."""
        return self.call(self.remove_client, RemoveTarget.Request(target_id=target_id))

    def arrays(self):
        """Copies of the received (~/detections, ~/statuses) messages."""
        with self._lock:
            return list(self.detection_arrays), list(self.status_arrays)

    def reset(self):
        """Call ~/reset."""
        return self.call(self.reset_client, Trigger.Request())

    def settle(self, last_index=None, quiet=1.5, timeout=90.0):
        """Wait for the node to finish; returns copies of (detections, statuses).

        With `last_index`, wait until the status of that frame arrived (the node always
        processes the newest frame in the end), then briefly for stragglers; without it, until
        no status arrived for `quiet` s.
        """
        deadline, last, seen = time.monotonic() + timeout, time.monotonic(), -1
        target = None if last_index is None else frame_stamp_ns(last_index)
        while time.monotonic() < deadline:
            with self._lock:
                count = len(self.statuses)
                done = target is not None and any(stamp_of(m) == target for m in self.statuses)
            if done:
                time.sleep(0.3)
                break
            if count != seen:
                seen, last = count, time.monotonic()
            elif target is None and time.monotonic() - last >= quiet:
                break
            time.sleep(0.05)
        with self._lock:
            return list(self.detections), list(self.statuses)

    def close(self):
        """Stop spinning and destroy the node (join before destroy: ros-on-pypi.md §5)."""
        self.executor.shutdown()
        self._thread.join(10)
        self.node.destroy_node()


def init_request(box, stamp_ns=0, frame_id='', tracker='', target_id=''):
    """An InitTarget request for a 0-based xywh box."""
    request = InitTarget.Request()
    request.header.frame_id = frame_id
    request.header.stamp.sec, request.header.stamp.nanosec = ns_to_stamp(stamp_ns)
    fields = box_to_bbox_fields(box)
    request.bbox.center.position.x = fields['center_x']
    request.bbox.center.position.y = fields['center_y']
    request.bbox.size_x, request.bbox.size_y = fields['size_x'], fields['size_y']
    request.tracker, request.target_id = tracker, target_id
    return request


def stamp_of(msg) -> int:
    """A message header's stamp in nanoseconds."""
    return stamp_to_ns(msg.header.stamp.sec, msg.header.stamp.nanosec)


def start_rclpy():
    """rclpy.init if needed (the session fixture owns shutdown)."""
    if not rclpy.ok():
        rclpy.init()
