"""End-to-end latency of the tracker node: publish -> Detection2D received, and achieved fps.

Cases: 640x480 and 1280x720, Image and CompressedImage (JPEG q90), default Fast DDS and the
large-SHM profile (config/fastdds_large_shm.xml), next to the tracker's bare `track` time.
Frames are vot15_ball1 from ../shared/data/sot, resized, streamed at --rate Hz; latency is
receive time minus the header stamp (set with the system clock right before publish).

Run it like the ROS tests, inside a loopback-only network namespace with the env sourced:
    unshare --net -- bash -c 'ip link set lo up && source scripts/ros_env.sh &&
        python benchmarks/ros_latency.py'
"""
import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import QoSProfile

from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header
from std_srvs.srv import Trigger
from vision_msgs.msg import Detection2D

from siam_tracker_ros import build_tracker
from siam_tracker_ros.config import default_tracker
from siam_tracker_ros.detection_mapping import box_to_bbox_fields
from siam_tracker_ros.models.weights import resolve_weights
from siam_tracker_ros.ros.conversions import rgb_to_compressed, rgb_to_image
from siam_tracker_ros.ros.interfaces import InitTarget, TrackerStatus
from siam_tracker_ros.ros.workspace import node_command

ROOT = Path(__file__).resolve().parents[1]
SEQUENCE = ROOT.parent / 'shared' / 'data' / 'sot' / 'vot15_ball1'
SIZES = ((640, 480), (1280, 720))
PROFILE_XML = ROOT / 'config' / 'fastdds_large_shm.xml'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seconds', type=float, default=5.0, help='streaming time per case')
    parser.add_argument('--rate', type=float, default=30.0, help='camera rate (Hz)')
    parser.add_argument('--tracker', default=default_tracker())
    parser.add_argument('--weights', default='default',
                        help="'default' = the shipped weights, 'none' = seeded random init")
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--profile', choices=('default', 'large_shm'),
                        help='run one Fast DDS profile and print JSON rows (internal)')
    return parser.parse_args(argv)


def load_frames(size, count=60):
    """The first `count` frames and ground-truth boxes of the clip, resized to `size`."""
    files = sorted((SEQUENCE / 'img').glob('*.jpg'))[:count]
    first = cv2.imread(str(files[0]))
    sx, sy = size[0] / first.shape[1], size[1] / first.shape[0]
    frames = [cv2.cvtColor(cv2.resize(cv2.imread(str(f)), size), cv2.COLOR_BGR2RGB)
              for f in files]
    gt = [float(v) for v in (SEQUENCE / 'groundtruth_rect.txt').read_text().split('\n')[0]
          .split(',')]
    return frames, ((gt[0] - 1) * sx, (gt[1] - 1) * sy, gt[2] * sx, gt[3] * sy)


def bare_step_ms(args, size):
    """Median `track` time of the tracker alone on frames of `size` (ms)."""
    tracker = build_tracker(args.tracker, weights=resolve_weights(args.weights, args.tracker),
                            device='cpu', threads=args.threads)
    frames, box = load_frames(size, 25)
    tracker.init(frames[0], box)
    times = []
    for frame in frames[1:]:
        start = time.perf_counter()
        tracker.track(frame)
        times.append((time.perf_counter() - start) * 1e3)
    return float(np.median(times))


def run_all(args):
    """Both profiles in child processes (the profile must be set before DDS starts)."""
    rows = []
    for profile in ('default', 'large_shm'):
        env = dict(os.environ)
        env.pop('FASTDDS_DEFAULT_PROFILES_FILE', None)
        if profile == 'large_shm':
            env['FASTDDS_DEFAULT_PROFILES_FILE'] = str(PROFILE_XML)
            env['RMW_FASTRTPS_USE_QOS_FROM_XML'] = '0'
        command = [sys.executable, __file__, '--profile', profile, '--seconds',
                   str(args.seconds), '--rate', str(args.rate), '--tracker', args.tracker,
                   '--weights', args.weights, '--threads', str(args.threads)]
        out = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
        rows += [json.loads(line) for line in out.stdout.splitlines() if line.startswith('{')]
    bare = {f'{w}x{h}': bare_step_ms(args, (w, h)) for w, h in SIZES}
    print_table(rows, bare, args)


def run_profile(args):
    """Every size and transport under the current Fast DDS profile; one JSON line per case."""
    rclpy.init()
    try:
        for transport in ('raw', 'compressed'):
            node = start_node(args, transport)
            try:
                for size in SIZES:
                    row = stream_case(args, transport, size, args.rate)
                    print(json.dumps({**row, 'profile': args.profile}), flush=True)
                    paced = min(args.rate, 0.7 * 1000.0 / row['proc_ms'])
                    row = stream_case(args, transport, size, paced, 2 * args.seconds)
                    print(json.dumps({**row, 'profile': args.profile}), flush=True)
            finally:
                node.send_signal(2)
                node.wait(30)
    finally:
        rclpy.try_shutdown()


def start_node(args, transport):
    """The installed tracker_node at its defaults (plus tracker, weights, threads)."""
    command = node_command('-p', f'tracker:={args.tracker}', '-p', f"weights:='{args.weights}'",
                           '-p', f'threads:={args.threads}', '-p', 'device:=cpu',
                           '-p', f'image_transport:={transport}')
    node = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    time.sleep(1.0)
    return node


def stream_case(args, transport, size, rate, seconds=None):
    """Stream one case through a fresh client node; returns the measured row."""
    client = BenchClient(transport)
    try:
        frames, box = load_frames(size)
        messages = client.prebuild(frames)
        client.wait_for_node()
        client.publish(messages[0])
        time.sleep(0.3)
        reply = client.init(box)
        if not reply.success:
            raise RuntimeError(reply.message)
        client.clear()
        seconds = seconds or args.seconds
        published = client.stream(messages, rate, seconds)
        time.sleep(2.0)
        latencies = client.latencies()
        client.reset()
        return {'size': f'{size[0]}x{size[1]}', 'transport': transport, 'rate': rate,
                'published': published, 'processed': len(latencies),
                'dropped': client.dropped(), 'fps': len(latencies) / seconds,
                'proc_ms': client.processing_ms(), 'overhead_ms': client.overhead_ms(),
                'median_ms': float(np.median(latencies)) if latencies else float('nan'),
                'p90_ms': float(np.percentile(latencies, 90)) if latencies else float('nan')}
    finally:
        client.close()


class BenchClient:
    """Camera publisher, Detection2D/status subscriber and init client in one node."""

    def __init__(self, transport):
        self.compressed = transport == 'compressed'
        self.node = Node('ros_latency_bench')
        topic = '/image/compressed' if self.compressed else '/image'
        self.pub = self.node.create_publisher(
            CompressedImage if self.compressed else Image, topic, QoSProfile(depth=10))
        self.received, self.statuses = [], []
        self.node.create_subscription(Detection2D, '/siam_tracker/detection', self._on_det, 100)
        self.node.create_subscription(TrackerStatus, '/siam_tracker/status',
                                      self.statuses.append, 100)
        self.init_client = self.node.create_client(InitTarget, '/siam_tracker/init_target')
        self.reset_client = self.node.create_client(Trigger, '/siam_tracker/reset')
        self.executor = SingleThreadedExecutor()
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def _on_det(self, msg):
        now = time.time_ns()
        stamp = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
        self.received.append((stamp, now - stamp))

    def prebuild(self, frames):
        """Messages with their data filled in; only the header is set at publish time."""
        if self.compressed:
            return [rgb_to_compressed(f, Header(frame_id='camera'), 90) for f in frames]
        return [rgb_to_image(f, Header(frame_id='camera'), 'bgr8') for f in frames]

    def wait_for_node(self, timeout=60.0):
        """Wait for the node's services and its subscription on our topic."""
        self.init_client.wait_for_service(timeout_sec=timeout)
        deadline = time.monotonic() + timeout
        while self.pub.get_subscription_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # let qos auto settle on reliable

    def publish(self, msg):
        """Stamp with the system clock and publish."""
        now = time.time_ns()
        msg.header.stamp.sec, msg.header.stamp.nanosec = now // 10**9, now % 10**9
        self.pub.publish(msg)

    def stream(self, messages, rate, seconds):
        """Publish at `rate` Hz for `seconds`, cycling through `messages`; returns the count."""
        count, start = int(rate * seconds), time.monotonic()
        for k in range(count):
            delay = start + k / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self.publish(messages[1 + k % (len(messages) - 1)])
        return count

    def _call(self, client, request):
        future = client.call_async(request)
        deadline = time.monotonic() + 60
        while not future.done() and time.monotonic() < deadline:
            time.sleep(0.01)
        return future.result()

    def init(self, box):
        """Init on the newest frame."""
        request = InitTarget.Request()
        fields = box_to_bbox_fields(box)
        request.bbox.center.position.x = fields['center_x']
        request.bbox.center.position.y = fields['center_y']
        request.bbox.size_x, request.bbox.size_y = fields['size_x'], fields['size_y']
        return self._call(self.init_client, request)

    def reset(self):
        """Back to IDLE."""
        return self._call(self.reset_client, Trigger.Request())

    def clear(self):
        """Forget what was received so far."""
        time.sleep(0.5)
        self.received.clear()
        self.statuses.clear()

    def latencies(self):
        """Latencies (ms) of the received detections."""
        return [ns / 1e6 for _, ns in self.received]

    def overhead_ms(self):
        """Median over frames of latency minus the node's decode + track time (ms)."""
        processing = {m.header.stamp.sec * 10**9 + m.header.stamp.nanosec: m.processing_ms
                      for m in self.statuses}
        diffs = [ns / 1e6 - processing[s] for s, ns in self.received if s in processing]
        return float(np.median(diffs)) if diffs else float('nan')

    def dropped(self):
        """Frames dropped by the node's newest-frame policy."""
        return int(sum(m.dropped_frames for m in self.statuses))

    def processing_ms(self):
        """Median decode + track time reported by the node (ms)."""
        return float(np.median([m.processing_ms for m in self.statuses if m.processing_ms]))

    def close(self):
        """Stop spinning, then destroy the node."""
        self.executor.shutdown()
        self.thread.join(10)
        self.node.destroy_node()


def print_table(rows, bare, args):
    """Markdown table of all cases."""
    print(f'\ntracker {args.tracker}, threads {args.threads}, camera {args.rate:g} Hz, '
          f'{args.seconds:g} s per case, CPU\n')
    print('| size | transport | Fast DDS | camera Hz | processed + dropped / published '
          '| latency median / p90 (ms) | node decode+track (ms) | latency - node, per frame (ms) '
          '| bare step (ms) | fps |')
    print('|---|---|---|---|---|---|---|---|---|---|')
    for r in rows:
        print(f"| {r['size']} | {r['transport']} | {r['profile']} | {r['rate']:.1f} | "
              f"{r['processed']} + {r['dropped']} / {r['published']} | "
              f"{r['median_ms']:.1f} / {r['p90_ms']:.1f} | {r['proc_ms']:.1f} | "
              f"{r['overhead_ms']:+.1f} | {bare[r['size']]:.1f} | "
              f"{r['fps']:.1f} |")
    print('\nlatency = Detection2D received - image stamp (set right before publish). At the '
          'camera rate the tracker cannot keep up with, frames wait for the previous step '
          '(newest-frame policy, the rest are dropped); paced rows run at 70 % of the rate '
          'the node can sustain, so latency - node = transport in and out.')


if __name__ == '__main__':
    ARGS = parse_args()
    if ARGS.profile:
        run_profile(ARGS)
    else:
        run_all(ARGS)
