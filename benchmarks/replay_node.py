"""Replay a recorded bag or an OTB-layout sequence into the real node at the recorded rate and
score what the node published: the accuracy a user gets in real time, not offline.

Frames go out with their recorded stamps (a bag's header stamps; a folder: i / --fps), paced
by those stamps; the node is initialised on the first frame (stamp-matched) with the first
ground-truth box (or --init). Scores, over every frame after the first:
- processed: AUC over the frames the node processed (its box for that very frame);
- real time: AUC over every frame, each scored with the newest box received when the next
  frame was published (what a display refreshed with the camera shows; nothing yet: IoU 0);
- offline (--offline): AUC of the same tracker run on every frame in this process.
Also frames processed / dropped, and latency (status receive time - publish time) p50 / p95.

Run it like the ROS tests, in a loopback-only network namespace with the env sourced:
    unshare --net --mount -- bash -c 'ip link set lo up && mount -t tmpfs tmpfs /dev/shm &&
        . scripts/ros_env.sh && python benchmarks/replay_node.py --input ../shared/data/sot/otb_Crossing'
"""
import argparse
import json
import time
from pathlib import Path

import numpy as np
import rclpy

from siam_tracker_ros.bag_source import BagSource, is_bag
from siam_tracker_ros.build import build_tracker
from siam_tracker_ros.config import default_tracker
from siam_tracker_ros.evaluation.metrics import auc, rect_iou, success_curve
from siam_tracker_ros.frames import FrameSource
from siam_tracker_ros.models.weights import resolve_weights

from node_harness import NodeClient, NodeUnderTest

T0_NS = 1_900_000_000 * 10**9  # stamps of folder frames


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--input', required=True, help='bag (with --topic) or OTB folder')
    parser.add_argument('--topic', help='image topic of a bag')
    parser.add_argument('--groundtruth', help='x,y,w,h lines (1-based, OTB); default: the '
                        "folder's groundtruth_rect.txt")
    parser.add_argument('--init', help='0-based x,y,w,h on the first frame (no ground truth)')
    parser.add_argument('--fps', type=float, default=30.0, help='rate of a folder')
    parser.add_argument('--max-frames', type=int)
    parser.add_argument('--compressed', action='store_true', help='send CompressedImage')
    parser.add_argument('--offline', action='store_true', help='also run the tracker offline')
    parser.add_argument('--out', default='runs/replay')
    return parser.parse_args(argv)


def read_input(args):
    """(RGB frames, stamps ns, 0-based ground truth or None)."""
    if is_bag(args.input):
        source = BagSource(args.input, args.topic)
        frames, stamps = list(source), list(source.stamps)
    else:
        frames = list(FrameSource(args.input))
        stamps = [T0_NS + round(i * 1e9 / args.fps) for i in range(len(frames))]
    gt_path = Path(args.groundtruth or Path(args.input) / 'groundtruth_rect.txt')
    gt = None
    if gt_path.is_file():
        lines = gt_path.read_text().split('\n')[:len(frames)]
        gt = np.array([[float(v) for v in line.replace('\t', ',').split(',')] for line in lines])
        gt[:, :2] -= 1.0
    count = min(len(frames), args.max_frames or len(frames))
    return frames[:count], stamps[:count], None if gt is None else gt[:count]


def play(client, frames, stamps):
    """Publish at the recorded rate; returns the publish times (ns, system clock)."""
    sent, start = [], time.monotonic()
    for rgb, stamp in zip(frames, stamps):
        delay = start + (stamp - stamps[0]) / 1e9 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        sent.append(time.time_ns())
        client.publish(rgb, stamp)
    return sent


def realtime_boxes(got, stamps, sent):
    """For each frame, the newest box received before the next frame was published."""
    received = sorted((t, stamp, box) for stamp, (t, box) in got.items())
    boxes = []
    for i in range(len(stamps)):
        until = sent[i + 1] if i + 1 < len(sent) else float('inf')
        shown = [box for t, stamp, box in received if t <= until and stamp <= stamps[i]]
        boxes.append(shown[-1] if shown else (0.0, 0.0, 0.0, 0.0))
    return np.array(boxes)


def score(got, statuses, frames, stamps, sent, gt, init_box, args):
    sent_at = dict(zip(stamps, sent))
    latency = [(t - sent_at[stamp_ns(s)]) / 1e6 for t, s in statuses if stamp_ns(s) in sent_at]
    result = {'frames': len(frames), 'processed': len(got) - 1,
              'dropped': sum(s.dropped_frames for _, s in statuses),
              'latency_p50_ms': round(float(np.percentile(latency, 50)), 1),
              'latency_p95_ms': round(float(np.percentile(latency, 95)), 1)}
    if gt is None:
        return result
    done = [i for i in range(1, len(frames)) if stamps[i] in got]
    processed = rect_iou([got[stamps[i]][1] for i in done], gt[done])
    realtime = rect_iou(realtime_boxes(got, stamps, sent)[1:], gt[1:])
    result['auc_processed'] = round(auc(success_curve(processed)), 3)
    result['auc_realtime'] = round(auc(success_curve(realtime)), 3)
    if args.offline:
        tracker = build_tracker(default_tracker(), weights=resolve_weights('default',
                                default_tracker()), device='cpu', threads=1)
        tracker.init(frames[0], init_box)
        boxes = [tracker.track(f).box for f in frames[1:]]
        result['auc_offline'] = round(auc(success_curve(rect_iou(boxes, gt[1:]))), 3)
    return result


def stamp_ns(msg) -> int:
    return msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec


def main(argv=None):
    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    frames, stamps, gt = read_input(args)
    init_box = tuple(float(v) for v in args.init.split(',')) if args.init else tuple(gt[0])
    rclpy.init()
    transport = 'compressed' if args.compressed else 'raw'
    node = NodeUnderTest('siam_tracker_replay', out / 'node.log',
                         '-p', f'image_transport:={transport}')
    node.start()
    client = NodeClient('replay_camera', node.name, compressed=args.compressed)
    try:
        client.wait_matched()
        client.publish(frames[0], stamps[0])
        time.sleep(0.3)
        reply = client.init(init_box, stamps[0], target_id='replay')
        if reply is None or not reply.success:
            raise RuntimeError(f'init failed: {reply and reply.message}')
        client.take_statuses()
        sent = [time.time_ns()] + play(client, frames[1:], stamps[1:])
        time.sleep(2.0)  # the last frames' outputs
        got = client.detections_by_stamp('replay')
        statuses = [(t, s) for t, s in client.take_statuses() if s.target_id == 'replay']
    finally:
        client.close()
        code = node.stop()
        rclpy.try_shutdown()
    result = {'input': args.input, 'transport': transport, 'exit_code': code,
              **score(got, statuses, frames, stamps, sent, gt, init_box, args)}
    print(json.dumps(result))
    (out / 'replay.json').write_text(json.dumps(result, indent=1))


if __name__ == '__main__':
    main()
