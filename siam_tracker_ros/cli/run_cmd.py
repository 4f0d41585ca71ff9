"""`siam-track run`: track one object through an image folder, a video file or a recorded bag."""
import time
from pathlib import Path

import cv2
from tqdm import tqdm

from siam_tracker_ros.cli.common import USER_ERRORS, add_runtime_arguments, fail, runtime_options
from siam_tracker_ros.bag_source import BagSource, is_bag
from siam_tracker_ros.frames import (FrameSource, FrameSourceError, draw_box,
                                     first_groundtruth_box)
from siam_tracker_ros.models.weights import resolve_weights
from siam_tracker_ros.build import build_tracker
from siam_tracker_ros.config import default_tracker
from siam_tracker_ros.status import STATE_NAMES, TRACKING


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser('run', help='track one object through a folder or video')
    parser.add_argument('--tracker', default=default_tracker(),
                        help='registered tracker name (default: config/tracker.yaml)')
    parser.add_argument('--weights', default='default',
                        help="weights file, 'default' (shipped, if any) or 'none' (random)")
    parser.add_argument('--input', required=True,
                        help='image folder, video file, or bag (rosbag2 folder, .mcap, .db3; '
                             'ROS 1 .bag; needs the rosbags package)')
    parser.add_argument('--topic', help='image topic of a bag (sensor_msgs/Image or '
                        'CompressedImage); results then end with each frame\'s stamp (s)')
    parser.add_argument('--init', help='x,y,w,h of the target in the first frame (0-based); '
                        'optional for a folder with groundtruth_rect.txt')
    parser.add_argument('--max-frames', type=int, default=None)
    parser.add_argument('--out', required=True,
                        help='results file, one x,y,w,h,score,state line per frame '
                             '(state TRACKING or LOST; the init frame has score 1)')
    parser.add_argument('--save-video', help='write an annotated video (.mp4 or .avi)')
    add_runtime_arguments(parser)
    parser.set_defaults(func=run)


def parse_box(text: str) -> tuple:
    """'x,y,w,h' -> 4 floats, or ValueError."""
    values = text.replace(' ', '').split(',')
    if len(values) != 4:
        raise ValueError(f'--init must be x,y,w,h, got {text!r}')
    return tuple(float(v) for v in values)


def run(args) -> int:
    try:
        source = open_source(args.input, args.topic)
        box = parse_box(args.init) if args.init else first_groundtruth_box(args.input)
        tracker = build_tracker(args.tracker, weights=resolve_weights(args.weights, args.tracker),
                                **runtime_options(args))
        rows, seconds = track_source(tracker, source, box, args)
    except USER_ERRORS as err:
        return fail(str(err))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    stamps = getattr(source, 'stamps', None)
    lines = [result_line(*row, stamp_ns=stamps[i] if stamps else None)
             for i, row in enumerate(rows)]
    Path(args.out).write_text(''.join(lines))
    tracked = len(rows) - 1
    fps = tracked / seconds if seconds > 0 else float('nan')
    print(f'{args.tracker} on {tracker.device}: {len(rows)} frames, {fps:.1f} fps '
          f'(tracking only) -> {args.out}')
    return 0


def open_source(path, topic):
    """A BagSource for a bag (`topic` required), else a FrameSource."""
    if is_bag(path):
        if not topic:
            raise FrameSourceError(f'{path} is a bag: give its image topic with --topic')
        return BagSource(path, topic)
    if topic:
        raise FrameSourceError(f'--topic is for bags; {path} is not one (.mcap, .db3, .bag, '
                               'or a folder with metadata.yaml)')
    return FrameSource(path)


def result_line(box, score: float, state: int, stamp_ns=None) -> str:
    """'x,y,w,h,score,STATE' (0-based box, 3 decimals), then ',sec.nanosec' for a bag."""
    line = ','.join(f'{v:.3f}' for v in box) + f',{score:.4f},{STATE_NAMES[state]}'
    if stamp_ns is not None:
        line += f',{stamp_ns // 10**9}.{stamp_ns % 10**9:09d}'
    return line + '\n'


def track_source(tracker, source, box, args):
    """Init on the first frame, track the rest; return (box, score, state) rows and the
    tracking seconds."""
    total = min(len(source), args.max_frames) if args.max_frames else len(source) or None
    writer, rows, seconds = None, [], 0.0
    for index, frame in enumerate(tqdm(source, total=total, unit='frame', desc='tracking')):
        if args.max_frames and index >= args.max_frames:
            break
        if index == 0:
            tracker.init(frame, box)
            row, label = (tuple(float(v) for v in box), 1.0, TRACKING), 'init'
        else:
            start = time.perf_counter()
            result = tracker.track(frame)
            seconds += time.perf_counter() - start
            row = (result.box, result.score, result.state)
            label = f'{result.score:.2f} {result.state_name}'
        rows.append(row)
        if args.save_video:
            writer = writer or open_writer(args.save_video, frame.shape, source.fps)
            writer.write(draw_box(frame, row[0], f'{tracker.name} {label}'))
    if writer:
        writer.release()
    return rows, seconds


def open_writer(path, shape, fps):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fourcc = cv2.VideoWriter_fourcc(*('XVID' if str(path).endswith('.avi') else 'mp4v'))
    writer = cv2.VideoWriter(str(path), fourcc, fps, (shape[1], shape[0]))
    if not writer.isOpened():
        raise OSError(f'cannot write video {path}')
    return writer
