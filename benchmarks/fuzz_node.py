"""Fuzz the real tracker node with malformed images, compressed images and service requests.

Seeded and reproducible (benchmarks/fuzz_cases.py); every case and every health check is one
JSON line in --log. Two phases, one node each: `image_transport: raw` gets the Image cases,
`compressed` the CompressedImage cases; both get the service cases, interleaved with real
frames of a dev sequence. After each --batch cases a health check asks: is the node alive,
does it answer ~/reset, does it still track otb_Crossing (init on a real frame, 15 frames, mean
IoU against the ground truth), and what is its RSS. A crash (the node exited; it is restarted),
a hang (a request not answered in --answer-timeout s) and a broken state (a failed health
check) are counted; the table goes to stdout, the totals to --summary as JSON.

Run it like the ROS tests, in a loopback-only network namespace with the env sourced:
    unshare --net --mount -- bash -c 'ip link set lo up && mount -t tmpfs tmpfs /dev/shm &&
        . scripts/ros_env.sh && python benchmarks/fuzz_node.py --cases 10000'
"""
import argparse
import json
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import rclpy

from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

from siam_tracker_ros.detection_mapping import ns_to_stamp
from siam_tracker_ros.evaluation.metrics import rect_iou

from fuzz_cases import cases, describe
from node_harness import NodeClient, NodeUnderTest, load_sequence

SEQUENCE = 'otb_Crossing'
T0_NS = 1_800_000_000 * 10**9
HEALTH_FRAMES = 15
MIN_IOU = 0.5


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--cases', type=int, default=10_000)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--batch', type=int, default=250, help='cases between health checks')
    parser.add_argument('--answer-timeout', type=float, default=30.0)
    parser.add_argument('--log', default='runs/fuzz/cases.jsonl')
    parser.add_argument('--summary', default='runs/fuzz/summary.json')
    parser.add_argument('--dry-run', action='store_true',
                        help='only write the cases to --log (no node): check reproducibility')
    return parser.parse_args(argv)


class Sender(NodeClient):
    """The node's client, with running stamps (frame i: T0 + i/30 s) and raw fuzz fields."""

    def __init__(self, node_name: str, compressed: bool):
        super().__init__(f'fuzz_sender_{"c" if compressed else "r"}', node_name, compressed)
        self.index = 0

    def next_header(self, stamp=None):
        """The next running stamp, or `stamp` (sec, nanosec)."""
        header = Header(frame_id='camera')
        self.index += 1
        header.stamp.sec, header.stamp.nanosec = stamp or ns_to_stamp(self.stamp_ns())
        return header

    def stamp_ns(self):
        return T0_NS + self.index * 10**9 // 30

    def publish_real(self, rgb) -> int:
        """Publish a real frame with the next running stamp; returns the stamp (ns)."""
        self.index += 1
        self.publish(rgb, self.stamp_ns())
        return self.stamp_ns()

    def publish_fields(self, case):
        header = self.next_header(case.get('stamp'))
        if self.compressed:
            self.pub.publish(CompressedImage(header=header, format=case['format'],
                                             data=case['data']))
        else:
            self.pub.publish(Image(header=header, height=case['height'], width=case['width'],
                                   encoding=case['encoding'], step=case['step'],
                                   is_bigendian=case['is_bigendian'], data=case['data']))


class Phase:
    """One node, one image kind: send the cases, check health after each batch."""

    def __init__(self, args, transport, clip, log):
        self.args, self.clip, self.log = args, clip, log
        out = Path(args.log).parent
        self.node = NodeUnderTest(f'siam_tracker_fuzz_{transport}', out / f'node_{transport}.log',
                                  '-p', f'image_transport:={transport}')
        self.transport = transport
        self.stats = defaultdict(Counter)  # kind -> cases, crashes, hangs
        self.broken, self.checks, self.ious, self.rss = 0, 0, [], []

    def run(self, case_iter, count):
        self.node.start()
        self.sender = Sender(self.node.name, self.transport == 'compressed')
        try:
            self.sender.wait_matched()
            self.health('start')
            for number, case in enumerate(case_iter, start=1):
                self.send(number, case)
                if number % self.args.batch == 0 or number == count:
                    self.health(f'after case {number}')
        finally:
            self.sender.close()
            self.exit_code = self.node.stop()

    def send(self, number, case):
        kind, frames, boxes = case['kind'], *self.clip
        self.stats[kind]['cases'] += 1
        if number % 3 == 0:  # real frames in between: inits can succeed, tracking runs
            self.sender.publish_real(frames[number % len(frames)])
        result = self._send_case(case)
        record = {'case': number, **describe(case), 'result': result}
        if result.get('unanswered'):
            self.stats[kind]['hangs'] += 1
        if not self.node.alive():
            self.stats[kind]['crashes'] += 1
            record['crash'] = self.node.proc.returncode
            self.node.stop()
            self.node.start()
            self.sender.wait_matched()
        self.log(record)

    def _send_case(self, case):
        if case['kind'] != 'service':
            self.sender.publish_fields(case)
            time.sleep(0.002)
            return {'published': True}
        requests = case.get('storm', [case])
        answers = self.sender.wait([self.sender.request(r) for r in requests],
                                   self.args.answer_timeout)
        missing = sum(a is None for a in answers)
        shown = [{'ok': a.success, 'message': a.message[:160]} for a in answers[:1] if a]
        return {'answered': len(answers) - missing, 'unanswered': missing, 'first': shown}

    def health(self, when):
        """Alive, answers, tracks the clip (mean IoU >= MIN_IOU), RSS."""
        self.checks += 1
        frames, boxes = self.clip
        check = {'health': when, 'alive': self.node.alive()}
        if check['alive']:
            check.update(self._track_clip(frames, boxes))
            check['rss_mb'] = round(self.node.rss_mb(), 1)
            self.rss.append(check['rss_mb'])
        check['ok'] = check['alive'] and check.get('answers') and check.get('iou', 0) >= MIN_IOU
        self.broken += not check['ok']
        self.log(check)
        return check

    def _track_clip(self, frames, boxes):
        sender, timeout = self.sender, self.args.answer_timeout
        target = f'health_{self.checks}'
        reset = sender.wait([sender.request({'reset': True})], timeout)[0]
        stamps = [sender.publish_real(frames[0])]
        time.sleep(0.3)
        init = {'box': list(boxes[0]), 'stamp': list(ns_to_stamp(stamps[0])),
                'frame_id': 'camera', 'tracker': '', 'target_id': target}
        reply = sender.wait([sender.request(init)], timeout)[0]
        if reset is None or reply is None or not reply.success:
            return {'answers': reset is not None and reply is not None,
                    'init': reply.message[:200] if reply else None}
        for rgb in frames[1:]:
            stamps.append(sender.publish_real(rgb))
            time.sleep(0.1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = sender.detections_by_stamp(target)
            if stamps[-1] in got:
                break
            time.sleep(0.05)
        pairs = [(got[s][1], boxes[i]) for i, s in enumerate(stamps) if i and s in got]
        if not pairs:
            return {'answers': True, 'iou': 0.0, 'tracked': 0}
        pred = np.array([box for box, _ in pairs])
        iou = float(np.mean(rect_iou(pred, np.array([gt for _, gt in pairs]))))
        self.ious.append(iou)
        return {'answers': True, 'iou': round(iou, 3), 'tracked': len(pairs)}


def print_table(phases, seconds):
    rows = ['| node | kind | cases | crashes | hangs |', '|---|---|---|---|---|']
    for phase in phases:
        for kind, counts in sorted(phase.stats.items()):
            rows.append(f'| {phase.transport} | {kind} | {counts["cases"]} | '
                        f'{counts["crashes"]} | {counts["hangs"]} |')
    rows += ['', '| node | health checks | broken states | IoU min / mean | RSS start / max '
             '(MiB) | exit code |', '|---|---|---|---|---|---|']
    for p in phases:
        iou = f'{min(p.ious):.3f} / {np.mean(p.ious):.3f}' if p.ious else '-'
        rss = f'{p.rss[0]:.0f} / {max(p.rss):.0f}' if p.rss else '-'
        rows.append(f'| {p.transport} | {p.checks} | {p.broken} | {iou} | {rss} | '
                    f'{p.exit_code} |')
    print('\n'.join(rows))
    print(f'\n{sum(sum(c["cases"] for c in p.stats.values()) for p in phases)} cases in '
          f'{seconds:.0f} s')


def summary(phases):
    total = Counter()
    for phase in phases:
        for counts in phase.stats.values():
            total.update(counts)
    return {'cases': total['cases'], 'crashes': total['crashes'], 'hangs': total['hangs'],
            'broken_states': sum(p.broken for p in phases),
            'health_checks': sum(p.checks for p in phases),
            'exit_codes': [p.exit_code for p in phases],
            'rss_mb': {p.transport: [p.rss[0], max(p.rss)] for p in phases if p.rss},
            'iou_min': min((min(p.ious) for p in phases if p.ious), default=0.0)}


def main(argv=None):
    args = parse_args(argv)
    Path(args.log).parent.mkdir(parents=True, exist_ok=True)
    Path(args.summary).parent.mkdir(parents=True, exist_ok=True)
    clip = load_sequence(SEQUENCE, HEALTH_FRAMES)
    bgr = [np.ascontiguousarray(f[:, :, ::-1]) for f in clip[0]]
    height, width = clip[0][0].shape[:2]
    if not args.dry_run:
        rclpy.init()
    phases, start = [], time.monotonic()
    with open(args.log, 'w') as log_file:
        def log(record):
            log_file.write(json.dumps(record) + '\n')
            log_file.flush()

        for offset, (transport, kind) in enumerate((('raw', 'image'),
                                                    ('compressed', 'compressed'))):
            count = args.cases // 2 + (args.cases % 2 if offset else 0)
            log({'phase': transport, 'seed': args.seed + offset, 'cases': count})
            phase_cases = cases(args.seed + offset, count, kind, bgr, width, height)
            if args.dry_run:
                for number, case in enumerate(phase_cases, start=1):
                    log({'case': number, **describe(case)})
                continue
            phase = Phase(args, transport, clip, log)
            phase.run(phase_cases, count)
            phases.append(phase)
    if args.dry_run:
        return
    rclpy.try_shutdown()
    print_table(phases, time.monotonic() - start)
    Path(args.summary).write_text(json.dumps(summary(phases), indent=1))


if __name__ == '__main__':
    main()
