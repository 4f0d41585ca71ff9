"""`siam-track run`: track one object through an image folder, a video file or a recorded bag."""
import time
from contextlib import contextmanager

import cv2
from tqdm import tqdm

from siam_tracker_ros.cli.common import (USER_ERRORS, add_runtime_arguments, check_output_file,
                                         fail, positive_int, replaced_on_success,
                                         runtime_options, weights_for, write_text_file)
from siam_tracker_ros.bag_source import BagSource, is_bag
from siam_tracker_ros.frames import (FrameSource, FrameSourceError, draw_box,
                                     first_groundtruth_box)
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
                        'optional for a folder with groundtruth_rect.txt. A negative first '
                        'number needs the = form: --init=-5,10,20,20')
    parser.add_argument('--max-frames', type=positive_int, default=None, metavar='N',
                        help='only the first N frames (the init frame included)')
    parser.add_argument('--out', required=True,
                        help='results file, one x,y,w,h,score,state line per frame '
                             '(state TRACKING or LOST; the init frame has score 1)')
    parser.add_argument('--save-video', help='write an annotated video (.mp4 or .avi)')
    add_runtime_arguments(parser)
    parser.set_defaults(func=run)


def parse_box(text: str) -> tuple:
    """'x,y,w,h' -> 4 floats, or ValueError."""
    values = text.replace(' ', '').split(',')
    try:
        if len(values) == 4:
            return tuple(float(v) for v in values)
    except ValueError:
        pass
    raise ValueError(f'--init must be four numbers x,y,w,h, got {text!r}')


def run(args) -> int:
    try:
        for path in filter(None, (args.out, args.save_video)):
            check_output_file(path)
        source = open_source(args.input, args.topic)
        box = parse_box(args.init) if args.init else first_groundtruth_box(args.input)
        tracker = build_tracker(args.tracker, weights=weights_for(args.weights, args.tracker),
                                **runtime_options(args))
        with annotated_video(args.save_video, source.fps) as video:
            rows, seconds = track_source(tracker, source, box, args.max_frames, video)
            write_text_file(args.out, results_text(rows, getattr(source, 'stamps', None)))
    except USER_ERRORS as err:
        return fail(str(err))
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


def results_text(rows, stamps=None) -> str:
    """The --out file: one `result_line` per (box, score, state) row."""
    return ''.join(result_line(*row, stamp_ns=stamps[i] if stamps else None)
                   for i, row in enumerate(rows))


def result_line(box, score: float, state: int, stamp_ns=None) -> str:
    """'x,y,w,h,score,STATE' (0-based box, 3 decimals), then ',sec.nanosec' for a bag."""
    line = ','.join(f'{v:.3f}' for v in box) + f',{score:.4f},{STATE_NAMES[state]}'
    if stamp_ns is not None:
        line += f',{stamp_ns // 10**9}.{stamp_ns % 10**9:09d}'
    return line + '\n'


def track_source(tracker, source, box, max_frames=None, video=None):
    """Init on the first frame, track the rest (up to `max_frames` frames in all), passing
    each annotated frame to `video` when given; return (box, score, state) rows and the
    tracking seconds."""
    total = min(len(source), max_frames) if max_frames else len(source) or None
    rows, seconds = [], 0.0
    for index, frame in enumerate(tqdm(source, total=total, unit='frame', desc='tracking')):
        if max_frames and index >= max_frames:
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
        if video:
            video(draw_box(frame, row[0], f'{tracker.name} {label}'))
    return rows, seconds


@contextmanager
def annotated_video(path, fps):
    """Yield `write(frame)` for a --save-video file (None without `path`). The frames go to a
    temporary file that becomes `path` only when the block succeeds; on an error or Ctrl-C
    it is removed."""
    if not path:
        yield None
        return
    writer = None

    def write(frame):
        nonlocal writer
        writer = writer or open_writer(temporary, frame.shape, fps, shown_as=path)
        writer.write(frame)

    with replaced_on_success(path) as temporary:
        try:
            yield write
        finally:
            if writer:
                writer.release()


def open_writer(path, shape, fps, shown_as=None):
    """A cv2.VideoWriter for `path` (XVID for .avi, else mp4v); OSError naming `shown_as`."""
    fourcc = cv2.VideoWriter_fourcc(*('XVID' if str(path).endswith('.avi') else 'mp4v'))
    writer = cv2.VideoWriter(str(path), fourcc, fps, (shape[1], shape[0]))
    if not writer.isOpened():
        raise OSError(f'cannot write video {shown_as or path}')
    return writer
