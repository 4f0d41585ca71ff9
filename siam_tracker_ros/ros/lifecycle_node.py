"""`tracker_lifecycle_node`: the tracker node as a managed (lifecycle) node (docs/ros.md).

A lifecycle manager (nav2's lifecycle_manager, `ros2 lifecycle set`) drives it through the
standard states: configure reads the parameters and loads the weights, activate subscribes the
camera and starts the worker, deactivate stops processing and drops the target, cleanup frees
the model, shutdown (from any state) ends the process. Everything else is TrackerNode's.
"""
import gc
import threading

import torch
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState
from rcl_interfaces.msg import SetParametersResult
from rclpy.lifecycle import LifecycleNodeMixin, LifecyclePublisher, TransitionCallbackReturn
from rclpy.node import Node
from rclpy.service import Service

from siam_tracker_ros.registry import tracker_names
from siam_tracker_ros.ros import qos
from siam_tracker_ros.ros.params import PARAMETERS, declare_node_param
from siam_tracker_ros.ros.tracker_node import JOB_TIMEOUT_S, TrackerNode, run
from siam_tracker_ros.ros.worker import ResetJob

SUCCESS = TransitionCallbackReturn.SUCCESS
FAILURE = TransitionCallbackReturn.FAILURE
EXIT_DELAY_S = 0.5  # between the shutdown transition and the exit, for its reply to go out

# The transitions a client may request in each primary state (design.ros2.org, node_lifecycle).
TRANSITIONS = {
    'unconfigured': {Transition.TRANSITION_CONFIGURE: 'configure',
                     Transition.TRANSITION_UNCONFIGURED_SHUTDOWN: 'shutdown'},
    'inactive': {Transition.TRANSITION_CLEANUP: 'cleanup',
                 Transition.TRANSITION_ACTIVATE: 'activate',
                 Transition.TRANSITION_INACTIVE_SHUTDOWN: 'shutdown'},
    'active': {Transition.TRANSITION_DEACTIVATE: 'deactivate',
               Transition.TRANSITION_ACTIVE_SHUTDOWN: 'shutdown'},
    'finalized': {},
}


class LifecycleTrackerNode(LifecycleNodeMixin, TrackerNode):
    """The tracker node, built up and torn down by lifecycle transitions (module docstring)."""

    def __init__(self, node_name='siam_tracker', **kwargs):
        Node.__init__(self, node_name, **kwargs)  # not TrackerNode's: configure builds it
        LifecycleNodeMixin.__init__(self, enable_communication_interface=True)
        self._lifecycle_state = 'unconfigured'
        self._active = threading.Event()  # services and images are served only while set
        self._input_lock = threading.Lock()  # image callbacks against deactivate
        self._worker, self._sub, self._qos_timer, self._frames = None, None, None, None
        self._created = []  # publishers and services made by configure
        # It sizes the executor's thread pool, so it is read at start-up.
        self._max_pending = declare_node_param(self, 'max_pending_requests')
        if self._max_pending < 1:
            raise ValueError(f'max_pending_requests must be >= 1, got {self._max_pending}')
        self.add_on_set_parameters_callback(self._check_parameters)
        self._guard_transitions()
        self.get_logger().info(f'unconfigured; next: ros2 lifecycle set {self._name()} configure')

    @property
    def max_pending_requests(self) -> int:
        """How many service requests are served at once (read at start-up)."""
        return self._max_pending

    def on_configure(self, state):
        """Read the parameters, load the tracker, create the publishers and services."""
        try:
            self._configure(read_only=False)
            self._create_outputs_and_services()
        except Exception as err:  # noqa: BLE001  a bad parameter, tracker name or weights file
            self._release()
            self.get_logger().error(f'configure failed: {type(err).__name__}: {err}')
            return FAILURE
        self._lifecycle_state = 'inactive'
        self.get_logger().info(f'configured; next: ros2 lifecycle set {self._name()} activate')
        return SUCCESS

    def on_activate(self, state):
        """Enable the publishers, start the worker, subscribe the camera."""
        result = super().on_activate(state)
        try:
            self._start_worker()
            self._create_input()
        except Exception as err:  # noqa: BLE001  e.g. a thread that cannot start
            self._stop()
            self.get_logger().error(f'activate failed: {type(err).__name__}: {err}')
            return FAILURE
        self._active.set()
        self._lifecycle_state = 'active'
        self._log_ready()
        return result

    def on_deactivate(self, state):
        """Unsubscribe, drop the target (an IDLE status goes out if there was one), stop."""
        self._stop()
        self._lifecycle_state = 'inactive'
        self.get_logger().info('deactivated: camera unsubscribed, target dropped, services '
                               'refuse until activate')
        return super().on_deactivate(state)

    def on_cleanup(self, state):
        """Destroy the publishers and services and free the trackers."""
        self._release()
        self._lifecycle_state = 'unconfigured'
        self.get_logger().info('cleaned up: model freed, parameters may change until configure')
        return super().on_cleanup(state)

    def on_shutdown(self, state):
        """Tear down whatever the state holds, then end the process (exit code 0)."""
        self._stop()
        self._release()
        self._lifecycle_state = 'finalized'
        self.get_logger().info('shut down; exiting')
        self._exit_timer = self.create_timer(EXIT_DELAY_S, self._exit)
        return super().on_shutdown(state)

    def on_error(self, state):
        """A transition raised unexpectedly: free everything and return to unconfigured."""
        self.get_logger().error(f'a transition from {state.label} raised; back to unconfigured')
        self._stop()
        self._release()
        self._lifecycle_state = 'unconfigured'
        return SUCCESS

    def _output(self, msg_type, topic, depth):
        # cleanup destroys it while the node spins (qos.without_event_handlers)
        return self.create_lifecycle_publisher(
            msg_type, topic, depth, event_callbacks=qos.without_event_handlers('publisher'))

    def _create_outputs_and_services(self):
        before = {id(entity) for entity in (*self.publishers, *self.services)}
        super()._create_outputs_and_services()
        self._created = [entity for entity in (*self.publishers, *self.services)
                         if id(entity) not in before]

    def _stop(self):
        """Unsubscribe and stop the worker, dropping its target; nothing when not active."""
        with self._input_lock:
            self._active.clear()
            if self._qos_timer is not None:
                self.destroy_timer(self._qos_timer)
            if self._sub is not None:
                self.destroy_subscription(self._sub)
            self._qos_timer, self._sub = None, None
        if self._worker is not None:
            self._worker.submit(ResetJob(), JOB_TIMEOUT_S)
            self._worker.stop()
            self._worker = None

    def _release(self):
        """Destroy what configure created and drop the trackers with their networks."""
        for entity in self._created:
            if isinstance(entity, Service):
                self.destroy_service(entity)
            elif isinstance(entity, LifecyclePublisher):
                self.destroy_lifecycle_publisher(entity)
            else:
                self.destroy_publisher(entity)
        self._created, self._trackers, self._frames = [], {}, None
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def _image_cb(self, msg):
        with self._input_lock:
            if self._active.is_set():
                super()._image_cb(msg)

    def _match_qos_cb(self):
        with self._input_lock:
            if self._active.is_set():
                super()._match_qos_cb()

    def _admit(self) -> bool:
        return self._active.is_set() and super()._admit()

    def _refuse(self, response, what):
        if self._active.is_set():
            return super()._refuse(response, what)
        return self._answer(response, False, f'{what} refused: the node is '
                                             f'{self._lifecycle_state}, not active')

    def _check_parameters(self, parameters) -> SetParametersResult:
        """Node and tracker parameters are read on configure: they change only while
        unconfigured (a change while configured would silently not apply)."""
        ours = [p.name for p in parameters
                if p.name in PARAMETERS or p.name.split('.')[0] in tracker_names()]
        if not ours or self._lifecycle_state == 'unconfigured':
            return SetParametersResult(successful=True)
        return SetParametersResult(successful=False, reason=(
            f'{", ".join(ours)}: the node is {self._lifecycle_state}; parameters are read on '
            'configure, so they change only while unconfigured (cleanup first)'))

    def _guard_transitions(self):
        """Refuse a transition the current state does not offer, with one clear log line.

        rclpy without ros2/rclpy#1319 (2024) raises out of the executor on such a request, which
        kills the node (ros2/rclpy#1209, reported on Humble); later rclpy logs only its number.
        """
        service = next(s for s in self.services if s.srv_type is ChangeState)
        change_state = service.callback

        def guarded(request, response):
            refusal = self._refusal(request.transition)
            if refusal:
                self.get_logger().warning(refusal)
                response.success = False
                return response
            return change_state(request, response)

        service.callback = guarded

    def _refusal(self, transition) -> str:
        """Why `transition` (a lifecycle_msgs/Transition) cannot start now; '' if it can."""
        offered = TRANSITIONS[self._lifecycle_state]
        if transition.label in offered.values() or (
                not transition.label and transition.id in offered):
            return ''
        name = repr(transition.label) if transition.label else str(transition.id)
        allowed = ', '.join(sorted(set(offered.values()))) or 'none'
        return (f'transition {name} refused: the node is {self._lifecycle_state} '
                f'(allowed from there: {allowed})')

    def _exit(self):
        self._exit_timer.cancel()
        self.context.try_shutdown()  # ends the executor's spin, as SIGINT does

    def _name(self) -> str:
        return self.get_fully_qualified_name()

    def close(self):
        """Stop the worker if it runs (SIGINT or SIGTERM in any state)."""
        if self._worker is not None:
            self._worker.stop()


def main(args=None):
    """Run the lifecycle node until shutdown, SIGINT or SIGTERM."""
    run(LifecycleTrackerNode, args)


if __name__ == '__main__':
    main()
