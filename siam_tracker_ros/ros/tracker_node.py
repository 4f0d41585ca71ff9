"""`tracker_node`: Siamese object tracking as a ROS 2 node (docs/ros.md).

Subscribes `image` (sensor_msgs/Image) or `image/compressed`, serves `~/init_target`
(siam_tracker_ros/InitTarget, stamp-matched), `~/remove_target` (siam_tracker_ros/RemoveTarget)
and `~/reset` (std_srvs/Trigger), publishes per target `~/detection` (vision_msgs/Detection2D)
and `~/status` (siam_tracker_ros/TrackerStatus), per frame `~/detections`
(vision_msgs/Detection2DArray) and `~/statuses` (siam_tracker_ros/TrackerStatusArray), and
optionally `~/debug_image`. Up to `max_targets` targets; inference runs in a worker thread on
the newest frame only.
"""
import ctypes
import functools
import itertools
import signal
import sys
import threading
import time
import warnings

import rclpy
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header
from std_srvs.srv import Trigger
from vision_msgs.msg import Detection2D, Detection2DArray

from siam_tracker_ros.detection_mapping import ns_to_stamp, stamp_to_ns
from siam_tracker_ros.build import build_tracker
from siam_tracker_ros.models.weights import resolve_weights
from siam_tracker_ros.registry import get_entry
from siam_tracker_ros.ros import conversions, qos
from siam_tracker_ros.ros.debug import draw_result
from siam_tracker_ros.ros.frames import FrameStore
from siam_tracker_ros.ros.interfaces import (InitTarget, RemoveTarget, TrackerStatus,
                                             TrackerStatusArray)
from siam_tracker_ros.ros.params import (declare_node_params, declare_tracker_params,
                                         find_config_dir)
from siam_tracker_ros.ros.worker import InitJob, RemoveJob, ResetJob, TrackingWorker
from siam_tracker_ros.runtime import set_threads
from siam_tracker_ros.trackers.base import warm_up
from siam_tracker_ros.types import check_box

OUTPUT_DEPTH = 50
GIL_SWITCH_S = 0.001
MALLOC_ARENAS = 2  # glibc arenas: per-thread arenas each kept their own multi-MiB image buffers

JOB_TIMEOUT_S = 60.0
MAX_TRACKER_NAME = 64   # characters; longer names are rejected
MAX_TARGET_ID = 256
SHOWN_CHARS = 64        # a rejected string is shown up to this many characters
REQUEST_QUEUE_DEPTH = 100  # DDS request queue of each service (at least max_pending_requests)


class TrackerNode(Node):
    """The tracker node; see the module docstring and docs/ros.md."""

    def __init__(self, node_name='siam_tracker', **kwargs):
        super().__init__(node_name, **kwargs)
        self._configure()
        self._create_outputs_and_services()
        self._start_worker()
        self._create_input()
        self._log_ready()

    def _configure(self, read_only=True):
        """Read the parameters and build the main tracker (loading its weights)."""
        self._params = declare_node_params(self, read_only)
        self._config_dir = find_config_dir()
        overrides = declare_tracker_params(self, self._params.tracker,
                                           self._config_path(self._params.tracker), read_only)
        set_threads(self._params.threads)
        self._trackers = {}
        self._trackers_lock = threading.Lock()  # service callbacks run concurrently
        self._get_tracker(self._params.tracker, overrides)
        compressed = self._params.image_transport == 'compressed'
        self._msg_type = CompressedImage if compressed else Image
        self._decode = (functools.partial(conversions.compressed_to_rgb,
                                          max_pixels=self._params.max_image_pixels)
                        if compressed else conversions.image_to_rgb)
        self._topic = 'image/compressed' if compressed else 'image'
        self._ids = itertools.count(1)
        self._last_logged = {}

    def _start_worker(self):
        """A fresh frame buffer and the worker thread that tracks on it."""
        self._frames = FrameStore(self._params.buffer_length)
        self._worker = TrackingWorker(self._frames, self._decode, self._publish, self._report,
                                      self._params.max_targets, self._params.targets_per_batch)
        self._worker.start()

    def _log_ready(self):
        self.get_logger().info(
            f'{self._params.tracker} ready on {self._sub.topic_name} '
            f'({self._params.image_transport}, qos {self._params.qos}); '
            f'call {self.get_fully_qualified_name()}/init_target')

    def _create_outputs_and_services(self):
        """The publishers, the services and the callback groups."""
        self._image_group = MutuallyExclusiveCallbackGroup()
        # Reentrant: each request is taken and matched to its frame as soon as it arrives, even
        # while earlier ones wait for the worker (a request that waited behind others in the DDS
        # queue could find its frame gone from the ring: 'stamp too old').
        self._service_group = ReentrantCallbackGroup()
        # Small messages: a deep history lets a briefly stalled controller still get every one.
        self._det_pub = self._output(Detection2D, '~/detection', OUTPUT_DEPTH)
        self._status_pub = self._output(TrackerStatus, '~/status', OUTPUT_DEPTH)
        self._dets_pub = self._output(Detection2DArray, '~/detections', OUTPUT_DEPTH)
        self._statuses_pub = self._output(TrackerStatusArray, '~/statuses', OUTPUT_DEPTH)
        self._debug_pub = None
        if self._params.publish_debug_image:
            self._debug_pub = self._output(Image, '~/debug_image', 2)
        requests = QoSProfile(history=HistoryPolicy.KEEP_LAST,
                              depth=max(REQUEST_QUEUE_DEPTH, self._params.max_pending_requests),
                              reliability=ReliabilityPolicy.RELIABLE,
                              durability=DurabilityPolicy.VOLATILE)
        self._pending = 0
        self._pending_lock = threading.Lock()
        self._init_srv = self.create_service(InitTarget, '~/init_target', self._init_target_cb,
                                             qos_profile=requests,
                                             callback_group=self._service_group)
        self._remove_srv = self.create_service(RemoveTarget, '~/remove_target',
                                               self._remove_target_cb, qos_profile=requests,
                                               callback_group=self._service_group)
        self._reset_srv = self.create_service(Trigger, '~/reset', self._reset_cb,
                                              qos_profile=requests,
                                              callback_group=self._service_group)

    def _output(self, msg_type, topic, depth):
        """A publisher of the node's outputs (the lifecycle node makes lifecycle publishers)."""
        return self.create_publisher(msg_type, topic, depth)

    def _create_input(self):
        """The image subscription, and the timer that re-matches its QoS to the publishers
        (qos auto) or warns when they cannot reach it (a fixed qos)."""
        self._sub, self._reliability, self._mismatch = None, None, ''
        self._subscribe(qos.choose_reliability(self._params.qos, []))
        self._qos_timer = self.create_timer(self._params.qos_recheck_period,
                                            self._match_qos_cb,
                                            callback_group=self._image_group)

    def _subscribe(self, reliability):
        if self._sub is not None:
            self.destroy_subscription(self._sub)
        self._reliability = reliability
        self._sub = self.create_subscription(
            self._msg_type, self._topic, self._image_cb,
            qos.image_qos(reliability, self._params.qos_depth),
            callback_group=self._image_group,
            event_callbacks=qos.without_event_handlers('subscription'))

    def _match_qos_cb(self):
        found = qos.publisher_reliabilities(self, self._sub.topic_name)
        wanted = qos.choose_reliability(self._params.qos, found, self._reliability)
        if wanted != self._reliability:
            self.get_logger().info(f'{len(found)} publisher(s) on {self._sub.topic_name}: '
                                   f'subscribing {qos.policy_name(wanted)}')
            self._subscribe(wanted)
        mismatch = qos.mismatch_warning(self._reliability, found)
        if mismatch and mismatch != self._mismatch:
            self.get_logger().warning(f'{self._sub.topic_name}: {mismatch}')
        self._mismatch = mismatch

    def _get_tracker(self, name, overrides=None):
        with self._trackers_lock:
            if name not in self._trackers:
                self._trackers[name] = self._build_tracker(name, overrides)
            return self._trackers[name]

    def _build_tracker(self, name, overrides):
        # 'none' (or '') is a seeded random init; other trackers requested at init use their
        # shipped weights, or random ones when the main tracker's are.
        text = self._params.weights
        if name != self._params.tracker:
            random = resolve_weights(text, self._params.tracker) is None
            text = 'none' if random else 'default'
        weights = resolve_weights(text, name)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            tracker = build_tracker(name, weights=weights, device=self._params.device,
                                    precision=self._params.precision,
                                    backend=self._params.backend, step=self._params.step,
                                    config_path=self._config_path(name), **(overrides or {}))
        for warning in caught:  # e.g. 'cuda requested but only 0 CUDA device(s); using cpu'
            self.get_logger().warning(str(warning.message))
        step = 'device' if getattr(tracker, 'on_device', False) else 'host'
        self.get_logger().info(f'tracker {name} on device {tracker.device}, '
                               f'{self._params.backend}/{self._params.precision}, {step} step '
                               f'(weights: {weights or "seeded random init"}; '
                               f'config: {self._config_path(name)})')
        warm_up(tracker)
        return tracker

    def _config_path(self, name):
        return get_entry(name).config_file or self._config_dir / f'{name}.yaml'

    def _image_cb(self, msg):
        # The executor takes one queued message per turn, oldest first: when the CPU is starved
        # it falls behind and the 'newest' frame was up to a queue (qos_depth) old. So take
        # everything queued now too; all go to the ring buffer, the worker sees the newest.
        received = [msg, *self._take_queued(self._params.qos_depth)]
        now = self.get_clock().now().nanoseconds
        self._frames.add_all([(m, stamp_to_ns(m.header.stamp.sec, m.header.stamp.nanosec), now)
                              for m in received])

    def _take_queued(self, limit: int) -> list:
        """Up to `limit` messages already queued on the image subscription (the executor does
        not take from it meanwhile: the image callback group is mutually exclusive)."""
        taken = []
        sub = self._sub
        try:
            with sub.handle:
                while len(taken) < limit:
                    info = sub.handle.take_message(sub.msg_type, sub.raw)
                    if info is None:
                        break
                    taken.append(info[0])
        except Exception as err:  # noqa: BLE001  e.g. destroyed on re-subscription
            self._report('take', f'could not take queued images: {type(err).__name__}: {err}')
        return taken

    def _init_target_cb(self, request, response):
        return self._serve('init', self._init_target, request, response)

    def _serve(self, what, handle, request, response):
        """`handle(request, response)` when admitted (`max_pending_requests`), else refused."""
        if not self._admit():
            return self._refuse(response, what)
        try:
            return handle(request, response)
        finally:
            self._leave()

    def _init_target(self, request, response):
        try:
            job = self._prepare_init(request)
        except (ValueError, KeyError) as err:
            return self._answer(response, False, f'init rejected: {err}')
        except Exception as err:  # noqa: BLE001  an unforeseen error must not stop the node
            return self._answer(response, False, f'init failed: {type(err).__name__}: {err}')
        if not self._worker.submit(job, JOB_TIMEOUT_S):
            return self._answer(response, False, 'init timed out in the worker thread')
        if job.error:
            return self._answer(response, False, job.error)
        response.target_id = job.target_id
        stamp = job.frame.msg.header.stamp
        return self._answer(
            response, True, f'tracking {shown(job.target_id)} with {job.tracker.name} from the '
            f'frame stamped {stamp.sec}.{stamp.nanosec:09d}; caught up {job.caught_up} '
            f'buffered frames; {job.tracked} of max_targets {self._params.max_targets} '
            'targets tracked')

    def _prepare_init(self, request) -> InitJob:
        check_name('tracker', request.tracker, MAX_TRACKER_NAME)
        check_name('target_id', request.target_id, MAX_TARGET_ID)
        if not 0 <= request.header.stamp.nanosec < 1_000_000_000:
            raise ValueError(f'stamp nanosec {request.header.stamp.nanosec} is out of range '
                             '[0, 1e9)')
        stamp = stamp_to_ns(request.header.stamp.sec, request.header.stamp.nanosec)
        frame = self._frames.find(stamp, int(self._params.init_stamp_tolerance * 1e9))
        frame_id = frame.msg.header.frame_id
        if request.header.frame_id and frame_id and request.header.frame_id != frame_id:
            raise ValueError(f'frame_id {shown(request.header.frame_id)} does not match the '
                             f'image frame_id {shown(frame_id)}')
        tracker = self._get_tracker(request.tracker or self._params.tracker)
        image = self._decode(frame.msg)
        box = check_box(conversions.bbox_to_box(request.bbox), image.shape)
        target_id = request.target_id or f'target_{next(self._ids)}'
        return InitJob(frame, image, box, tracker, target_id)

    def _admit(self) -> bool:
        """Count a request in; False when `max_pending_requests` are already being served."""
        with self._pending_lock:
            if self._pending >= self._params.max_pending_requests:
                return False
            self._pending += 1
            return True

    def _leave(self):
        with self._pending_lock:
            self._pending -= 1

    def _refuse(self, response, what):
        limit = self._params.max_pending_requests
        return self._answer(response, False, f'{what} refused: busy, {limit} requests pending '
                                             '(max_pending_requests)')

    def _remove_target_cb(self, request, response):
        return self._serve('remove_target', self._remove_target, request, response)

    def _remove_target(self, request, response):
        try:
            check_name('target_id', request.target_id, MAX_TARGET_ID)
        except ValueError as err:
            return self._answer(response, False, f'remove_target rejected: {err}')
        job = RemoveJob(request.target_id)
        if not self._worker.submit(job, JOB_TIMEOUT_S):
            return self._answer(response, False, 'remove_target timed out in the worker thread')
        if not job.found:
            return self._answer(response, False, f'remove_target: no target '
                                                 f'{shown(request.target_id)}')
        return self._answer(response, True, f'removed {shown(request.target_id)}; '
                                            f'{job.tracked} targets tracked')

    def _reset_cb(self, request, response):
        return self._serve('reset', self._reset, request, response)

    def _reset(self, request, response):
        job = ResetJob()
        if not self._worker.submit(job, JOB_TIMEOUT_S):
            return self._answer(response, False, 'reset timed out in the worker thread')
        if not job.was_tracking:
            return self._answer(response, False, 'reset: no target (already IDLE)')
        return self._answer(response, True, f'reset: IDLE ({job.removed} targets removed)')

    def _answer(self, response, success, message):
        response.success, response.message = success, message
        if not self.context.ok():
            return response  # shutting down: the log's rosout publisher is gone
        if success:  # rclpy ties one severity to each logging call site
            self.get_logger().info(message)
        else:
            self.get_logger().warning(message)
        return response

    def _publish(self, processed):
        try:
            self._publish_outputs(processed)
        except Exception:  # noqa: BLE001
            if self.context.ok():
                raise
            # SIGINT shut the context down between the check and the publish: nothing to say.

    def _publish_outputs(self, processed):
        if not self.context.ok():
            return  # shutting down
        now = self.get_clock().now().nanoseconds
        frame = processed.frame
        if frame is None:
            header = Header()
            header.stamp.sec, header.stamp.nanosec = ns_to_stamp(now)
            start = now
        else:
            header = frame.msg.header
            start = frame.stamp_ns or frame.receipt_ns
        detections = [conversions.make_detection(header, t.box, t.score, t.tracker_name,
                                                 t.target_id)
                      for t in processed.targets if t.box is not None]
        statuses = [TrackerStatus(
            header=header, target_id=t.target_id, state=t.state, score=t.score,
            tracker=t.tracker_name, latency_ms=(now - start) / 1e6,
            dropped_frames=processed.dropped, frames_tracked=t.frames_tracked,
            processing_ms=processed.processing_ms) for t in processed.targets]
        for detection in detections:
            self._det_pub.publish(detection)
        for status in statuses:
            self._status_pub.publish(status)
        if processed.image is not None:  # a tracked or init frame, not a removal
            self._dets_pub.publish(Detection2DArray(header=header, detections=detections))
        self._statuses_pub.publish(TrackerStatusArray(header=header, statuses=statuses))
        if self._debug_pub is not None and processed.image is not None:
            drawn = processed.image
            for row, t in enumerate(processed.targets):
                drawn = draw_result(drawn, t.box, t.state, t.score, t.target_id, row)
            self._debug_pub.publish(conversions.rgb_to_image(drawn, header, 'rgb8'))

    def _report(self, kind, text):
        """Log an input error, at most once per `error_log_period` s for the same text."""
        now = time.monotonic()
        key = (kind, text)
        if now - self._last_logged.get(key, -1e9) >= self._params.error_log_period:
            if len(self._last_logged) > 100:
                self._last_logged.clear()
            self._last_logged[key] = now
            self.get_logger().error(text)

    @property
    def max_pending_requests(self) -> int:
        """How many service requests are served at once (the rest are refused)."""
        return self._params.max_pending_requests

    def close(self):
        """Stop and join the worker thread (before destroy_node)."""
        self._worker.stop()


def shown(text: str) -> str:
    """`text` quoted for a log line or reply, cut to SHOWN_CHARS characters."""
    if len(text) <= SHOWN_CHARS:
        return repr(text)
    return f'{text[:SHOWN_CHARS]!r}... ({len(text)} characters)'


def check_name(field: str, text: str, max_length: int):
    """A tracker name or target id: at most `max_length` printable characters ('' allowed).

    Raises:
        ValueError: too long or holding control characters.
    """
    if len(text) > max_length:
        raise ValueError(f'{field} is {len(text)} characters long (at most {max_length}): '
                         f'{shown(text)}')
    if not text.isprintable():
        raise ValueError(f'{field} holds control characters: {shown(text)}')


def return_large_buffers():
    """Cap glibc's malloc arenas at MALLOC_ARENAS, so image buffers freed by the executor's
    many threads are reused instead of each thread's arena keeping its own.

    Without a cap the node's RSS grew by 540 MiB over 5000 fuzz cases (a 1080p image every
    ~30). Forcing every buffer above 1 MiB to mmap also bounded it, but page-faulting each
    frame's buffers anew cost a third of the node's throughput (demo: 130 instead of 205 of
    455 frames at 30 Hz). No effect where the C library is not glibc.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(ctypes.c_int(-8), ctypes.c_int(MALLOC_ARENAS))  # -8: M_ARENA_MAX


def _ignore_signal(signum, frame):
    """Python's SIGINT handler while the node runs (see main)."""


def main(args=None):
    """Run the node until SIGINT/SIGTERM; exit code 1 on a configuration error."""
    run(TrackerNode, args)


def run(node_class, args=None):
    """Run a `node_class` (TrackerNode or the lifecycle node) until SIGINT/SIGTERM or until it
    shuts its context down; exit code 1 on a configuration error."""
    # The executor threads wait for the GIL while the worker runs Python between torch ops;
    # a 1 ms switch interval (default 5 ms) keeps image callbacks up with the camera.
    sys.setswitchinterval(GIL_SWITCH_S)
    return_large_buffers()
    # rclpy's handler shuts the context down (which ends spin) and then calls Python's. Ctrl-C
    # under `ros2 launch` delivers SIGINT twice (the terminal's, then launch's): Python's
    # default handler would raise KeyboardInterrupt anywhere in the clean-up (a thread join,
    # executor.shutdown), so it does nothing here; rclpy's shutdown is the stop signal.
    signal.signal(signal.SIGINT, _ignore_signal)
    rclpy.init(args=args)
    node, executor = None, None
    code = 0
    try:
        node = node_class()
        # One thread for images and the QoS timer, one per request being served, one spare.
        executor = MultiThreadedExecutor(num_threads=node.max_pending_requests + 2)
        executor.add_node(node)
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except (ValueError, KeyError) as err:  # a bad parameter, tracker name or weights file
        if node is not None and not rclpy.ok():
            pass  # a signal shut the context down while the executor rebuilt its wait set
        else:
            rclpy.logging.get_logger('siam_tracker').fatal(f'{type(err).__name__}: {err}')
            code = 1
    except Exception:  # noqa: BLE001
        if rclpy.ok():
            raise
        # A signal shut the context down while the executor was rebuilding its wait set.
    finally:
        if node is not None:
            node.close()
        if executor is not None:
            executor.shutdown()
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
        # A signal arriving during interpreter teardown must not kill the process either
        # (Python restores SIG_DFL for handlers it set, not for SIG_IGN).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if code:
        raise SystemExit(code)


if __name__ == '__main__':
    main()
