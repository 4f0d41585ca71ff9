"""Soak the real tracker node: a 30 Hz camera for --minutes, optionally with CPU hogs beside it.

The camera plays otb_Crossing forwards and backwards (so the motion stays continuous) with the
system clock as the stamp; the target is initialised once. Every --period s it prints frames
published / processed / dropped, latency (status receive time - image stamp) p50 / p95, the
node's step (decode + track, p50), and the node's RSS, threads and open fds. At the end: RSS
growth, thread and fd growth, and p95 latency against 2 steps + 20 ms (issue 15's target).

Run it like the ROS tests, in a loopback-only network namespace with the env sourced:
    unshare --net --mount -- bash -c 'ip link set lo up && mount -t tmpfs tmpfs /dev/shm &&
        . scripts/ros_env.sh && python benchmarks/soak_node.py --minutes 30 --hog 2'
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import rclpy

from node_harness import NodeClient, NodeUnderTest, load_sequence

HOG = 'while True: pass'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--minutes', type=float, default=30.0)
    parser.add_argument('--period', type=float, default=60.0, help='seconds per table row')
    parser.add_argument('--rate', type=float, default=30.0, help='camera rate (Hz)')
    parser.add_argument('--hog', type=int, default=0, help='busy-loop processes beside the node')
    parser.add_argument('--sequence', default='otb_Crossing')
    parser.add_argument('--out', default='runs/soak', help='folder for the node log and JSON')
    return parser.parse_args(argv)


def row_of(published, statuses, node, start):
    """One table row from the statuses received in a period."""
    latency = [(t - s.header.stamp.sec * 10**9 - s.header.stamp.nanosec) / 1e6
               for t, s in statuses]
    step = [s.processing_ms for _, s in statuses if s.processing_ms > 0]
    pct = (lambda v, q: float(np.percentile(v, q)) if v else float('nan'))  # noqa: E731
    return {'minute': round((time.monotonic() - start) / 60, 2), 'published': published,
            'processed': len(statuses), 'dropped': sum(s.dropped_frames for _, s in statuses),
            'latency_p50': pct(latency, 50), 'latency_p95': pct(latency, 95),
            'step_p50': pct(step, 50), 'rss_mb': node.rss_mb(), 'threads': node.threads(),
            'fds': node.fds()}


def print_header():
    print('| min | published | processed | dropped | latency p50 / p95 (ms) | step p50 (ms) '
          '| RSS (MiB) | threads | fds |')
    print('|---|---|---|---|---|---|---|---|---|')


def print_row(r):
    print(f"| {r['minute']:.1f} | {r['published']} | {r['processed']} | {r['dropped']} | "
          f"{r['latency_p50']:.0f} / {r['latency_p95']:.0f} | {r['step_p50']:.0f} | "
          f"{r['rss_mb']:.0f} | {r['threads']} | {r['fds']} |", flush=True)


def verdict(rows) -> dict:
    """Growth from the first row to the last, and p95 latency against 2 steps + 20 ms."""
    first, last = rows[0], rows[-1]
    worst = max(rows, key=lambda r: r['latency_p95'] - 2 * r['step_p50'])
    return {'rss_growth_mb': round(last['rss_mb'] - first['rss_mb'], 1),
            'thread_growth': last['threads'] - first['threads'],
            'fd_growth': last['fds'] - first['fds'],
            'worst_p95_minus_2_steps_ms': round(worst['latency_p95'] - 2 * worst['step_p50'], 1)}


def soak(args, node, client, frames, boxes):
    loop = frames + frames[-2:0:-1]
    stamp = time.time_ns()
    client.publish(frames[0], stamp)
    time.sleep(0.3)
    reply = client.init(boxes[0], stamp, target_id='soak')
    if reply is None or not reply.success:
        raise RuntimeError(f'init failed: {reply and reply.message}')
    client.take_statuses()
    print_header()
    rows, start, published = [], time.monotonic(), 0
    next_row, period = start + args.period, 1.0 / args.rate
    for index in range(int(args.minutes * 60 * args.rate)):
        delay = start + index * period - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        client.publish(loop[(index + 1) % len(loop)], time.time_ns())
        published += 1
        if time.monotonic() >= next_row:
            rows.append(row_of(published, client.take_statuses(), node, start))
            print_row(rows[-1])
            published, next_row = 0, next_row + args.period
    time.sleep(0.5)  # the last frame's status
    if published:
        rows.append(row_of(published, client.take_statuses(), node, start))
        print_row(rows[-1])
    return rows


def main(argv=None):
    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    frames, boxes = load_sequence(args.sequence)
    hogs = [subprocess.Popen([sys.executable, '-c', HOG]) for _ in range(args.hog)]
    rclpy.init()
    node = NodeUnderTest('siam_tracker_soak', out / 'node.log')
    node.start()
    client = NodeClient('soak_camera', node.name)
    try:
        client.wait_matched()
        rows = soak(args, node, client, frames, boxes)
    finally:
        client.close()
        code = node.stop()
        for hog in hogs:
            hog.kill()
            hog.wait()
        rclpy.try_shutdown()
    summary = {**verdict(rows), 'exit_code': code, 'hogs': args.hog, 'rows': rows}
    print(json.dumps({k: v for k, v in summary.items() if k != 'rows'}))
    (out / 'soak.json').write_text(json.dumps(summary, indent=1))


if __name__ == '__main__':
    main()
