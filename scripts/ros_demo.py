"""The whole ROS pipeline on a video: start the tracker node, stream the video as a
sensor_msgs/Image topic, call ~/init_target, and save an annotated video of what the node
published (its Detection2D boxes and TRACKING/LOST status).

    source scripts/ros_env.sh
    python scripts/ros_demo.py --input .cache/media/box.mp4 --init x,y,w,h --out runs/demo/ros.mp4

scripts/ros_env.sh keeps DDS on this machine (ROS_LOCALHOST_ONLY=1); wrap the command in
`unshare --net -- bash -c 'ip link set lo up && ...'` (root) to isolate it completely.
Frames the node skipped to stay on the newest frame are drawn with its last box, in grey.
"""
import argparse
import subprocess
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import QoSProfile

from sensor_msgs.msg import Image
from std_msgs.msg import Header
from vision_msgs.msg import Detection2D

from siam_tracker_ros.cli.run_cmd import parse_box
from siam_tracker_ros.config import default_tracker
from siam_tracker_ros.detection_mapping import box_to_bbox_fields, ns_to_stamp, stamp_to_ns
from siam_tracker_ros.frames import FrameSource, draw_box, first_groundtruth_box
from siam_tracker_ros.models.weights import resolve_weights
from siam_tracker_ros.ros.conversions import bbox_to_box, rgb_to_image
from siam_tracker_ros.ros.interfaces import InitTarget, TrackerStatus
from siam_tracker_ros.status import STATE_NAMES
from siam_tracker_ros.ros.workspace import node_command


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--input', required=True, help='video file or image folder')
    parser.add_argument('--init', help='x,y,w,h in the first frame (0-based); optional for an '
                        'OTB-layout folder')
    parser.add_argument('--out', required=True, help='annotated video (.mp4 or .avi)')
    parser.add_argument('--boxes', help='also write the published boxes, one x,y,w,h a frame')
    parser.add_argument('--tracker', default=default_tracker())
    parser.add_argument('--weights', default='default',
                        help="weights file, 'default' (shipped, if any) or 'none' (random)")
    parser.add_argument('--threads', type=int, default=1,
                        help='torch threads in the node (its default; leave a core to DDS)')
    parser.add_argument('--rate', type=float, default=0.0,
                        help='camera rate in Hz (default: the video rate)')
    parser.add_argument('--max-frames', type=int, default=600)
    return parser.parse_args(argv)


def load_frames(args):
    """Frames (RGB), their rate and the init box."""
    source = FrameSource(args.input)
    frames = []
    for frame in source:
        frames.append(frame)
        if len(frames) >= args.max_frames:
            break
    box = parse_box(args.init) if args.init else first_groundtruth_box(args.input)
    return frames, args.rate or source.fps, box


def start_node(args):
    """The installed tracker_node with config/tracker.yaml and our overrides."""
    weights = resolve_weights(args.weights, args.tracker) or ''
    command = node_command('-p', f'tracker:={args.tracker}', '-p', f"weights:='{weights}'",
                           '-p', f'threads:={args.threads}')
    return subprocess.Popen(command)


class Camera:
    """Publishes the frames, calls init and records what the node publishes."""

    def __init__(self):
        self.node = Node('ros_demo_camera')
        self.pub = self.node.create_publisher(Image, 'image', QoSProfile(depth=5))
        self.detections, self.statuses, self.stamps = {}, {}, {}
        self.node.create_subscription(Detection2D, 'siam_tracker/detection', self._on_det, 50)
        self.node.create_subscription(TrackerStatus, 'siam_tracker/status', self._on_status, 50)
        self.init_client = self.node.create_client(InitTarget, 'siam_tracker/init_target')
        self.executor = SingleThreadedExecutor()
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def _on_det(self, msg):
        stamp = stamp_to_ns(msg.header.stamp.sec, msg.header.stamp.nanosec)
        self.detections[stamp] = (bbox_to_box(msg.bbox), msg.results[0].hypothesis.score)

    def _on_status(self, msg):
        stamp = stamp_to_ns(msg.header.stamp.sec, msg.header.stamp.nanosec)
        self.statuses[stamp] = msg

    def publish(self, frame, index):
        """Publish frame `index`, stamped with the system clock (the node's clock)."""
        header = Header(frame_id='camera')
        self.stamps[index] = time.time_ns()
        header.stamp.sec, header.stamp.nanosec = ns_to_stamp(self.stamps[index])
        self.pub.publish(rgb_to_image(frame, header, 'bgr8'))

    def wait_for_node(self, timeout=120.0):
        """Wait for the node's services and its image subscription."""
        if not self.init_client.wait_for_service(timeout_sec=timeout):
            raise RuntimeError('the tracker node did not come up')
        deadline = time.monotonic() + timeout
        while self.pub.get_subscription_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # QoS auto-matching settles on reliable

    def init(self, box):
        """Init on frame 0, by its stamp."""
        request = InitTarget.Request()
        request.header.frame_id = 'camera'
        request.header.stamp.sec, request.header.stamp.nanosec = ns_to_stamp(self.stamps[0])
        fields = box_to_bbox_fields(box)
        request.bbox.center.position.x = fields['center_x']
        request.bbox.center.position.y = fields['center_y']
        request.bbox.size_x, request.bbox.size_y = fields['size_x'], fields['size_y']
        future = self.init_client.call_async(request)
        while not future.done():
            time.sleep(0.01)
        return future.result()

    def close(self):
        """Stop spinning, then destroy the node."""
        self.executor.shutdown()
        self.thread.join(10)
        self.node.destroy_node()


def stream(camera, frames, rate, box):
    """Publish frame 0, init on it, then the rest at `rate` Hz."""
    camera.publish(frames[0], 0)
    time.sleep(0.5)
    reply = camera.init(box)
    if not reply.success:
        raise RuntimeError(reply.message)
    start = time.monotonic()
    for index in range(1, len(frames)):
        delay = start + index / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        camera.publish(frames[index], index)
    time.sleep(3.0)  # let the node finish its last frame


def write_outputs(args, camera, frames, rate):
    """The annotated video (and boxes file) of what the node published."""
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fourcc = cv2.VideoWriter_fourcc(*('XVID' if args.out.endswith('.avi') else 'mp4v'))
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(args.out, fourcc, rate, (width, height))
    last, lines = None, []
    for index, frame in enumerate(frames):
        stamp = camera.stamps.get(index)
        if stamp in camera.detections:
            last, score = camera.detections[stamp]
            status = camera.statuses.get(stamp)
            state = STATE_NAMES.get(status.state, '?') if status else '?'
            image = draw_box(frame, last, f'{args.tracker} {state} {score:.2f}')
        elif last is not None:
            image = draw_box(frame, last, 'skipped (newest-frame policy)', (160, 160, 160))
        else:
            image = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
        writer.write(image)
        lines.append(','.join(f'{v:.3f}' for v in (last if last else [np.nan] * 4)))
    writer.release()
    if args.boxes:
        Path(args.boxes).write_text('\n'.join(lines) + '\n')


def main(argv=None):
    """Run the demo; see the module docstring."""
    args = parse_args(argv)
    frames, rate, box = load_frames(args)
    node = start_node(args)
    rclpy.init()
    camera = Camera()
    try:
        camera.wait_for_node()
        stream(camera, frames, rate, box)
        write_outputs(args, camera, frames, rate)
    finally:
        camera.close()
        rclpy.try_shutdown()
        node.send_signal(2)
        node.wait(30)
    latencies = [s.latency_ms for s in camera.statuses.values()]
    print(f'{len(frames)} frames published at {rate:.1f} Hz, {len(camera.detections)} tracked '
          f'by the node, median latency {np.median(latencies):.0f} ms -> {args.out}')


if __name__ == '__main__':
    main()
