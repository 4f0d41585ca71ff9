"""The managed node (tracker_lifecycle_node) driven through its standard lifecycle services, as
`ros2 lifecycle set` or nav2's lifecycle_manager do: transitions in order track real frames;
out of order they are refused with a clear log line and the node keeps its state and runs; a
configure with a bad parameter fails until the parameter is fixed (issue 14 item 4)."""
import itertools
import threading
import time
from pathlib import Path

import pytest
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState, GetState
from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters

from siam_tracker_ros.status import IDLE

from rostest_support import Client, frame_stamp_ns, load_sequence, node_command, stamp_of

CYCLES = 10
NAMES = itertools.count(1)  # each test's node gets its own name: no stale discovery entries


def lifecycle_command(*ros_args) -> list:
    """The installed tracker_lifecycle_node with the tests' params and random weights."""
    command = node_command(*ros_args)
    command[0] = str(Path(command[0]).with_name('tracker_lifecycle_node'))
    return command


class Lifecycle:
    """Calls a node's lifecycle and parameter services through a test Client."""

    def __init__(self, client: Client, node_name: str):
        self._client = client
        self._change = client.node.create_client(ChangeState, f'/{node_name}/change_state')
        self._get = client.node.create_client(GetState, f'/{node_name}/get_state')
        self._set = client.node.create_client(SetParameters, f'/{node_name}/set_parameters')

    def change(self, label='', transition_id=0) -> bool:
        """Request a transition by label (as `ros2 lifecycle set`) or id; its success."""
        request = ChangeState.Request()
        request.transition = Transition(id=transition_id, label=label)
        return self._client.call(self._change, request).success

    def state(self) -> str:
        """The node's current state label (resent if unanswered: a query changes nothing)."""
        return self._client.call(self._get, GetState.Request(),
                                 resend_every=5.0).current_state.label

    def set_string(self, name: str, text: str):
        """Set one string parameter; its SetParametersResult."""
        value = ParameterValue(type=ParameterType.PARAMETER_STRING, string_value=text)
        request = SetParameters.Request(parameters=[Parameter(name=name, value=value)])
        return self._client.call(self._set, request).results[0]


@pytest.fixture(scope='module')
def clip(sot_dir):
    return load_sequence(sot_dir / 'vot15_bag', 30)


@pytest.fixture
def managed(ros_session, start_node):
    """Factory: (node process, Client, Lifecycle) for a lifecycle node of a fresh name."""
    made = []

    def make(*ros_args):
        name = f'managed_tracker_{next(NAMES)}'
        node = start_node(command=lifecycle_command('-r', f'__node:={name}', *ros_args),
                          wait=False)
        client = Client(f'{name}_test', node_name=name)
        made.append(client)
        life = Lifecycle(client, name)
        assert life.state() == 'unconfigured'  # answered: the node has discovered us
        return node, client, life

    yield make
    for client in made:
        client.close()


def _track(client, frames, boxes, first, count):
    """Publish frames first.., init on frame first+1, track to first+count-1; detections."""
    client.make_publisher(reliable=True)
    client.wait_matched(reliable=True)
    client.clear()
    client.stream(frames[first:first + 2], first=first)
    reply = client.init(tuple(boxes[first + 1]), frame_stamp_ns(first + 1),
                        target_id='car')
    assert reply.success, reply.message
    client.stream(frames[first + 2:first + count], first=first + 2)
    detections, _ = client.settle(first + count - 1)
    return detections


def _exits_cleanly(node):
    assert node.wait_exit() == 0, node.log()
    assert 'Traceback' not in node.log(), node.log()


def test_transitions_in_order(managed, clip):
    frames, boxes = clip
    node, client, life = managed()
    assert life.state() == 'unconfigured'
    assert life.change('configure') and life.state() == 'inactive'
    assert 'seeded random init' in node.log()
    reply = client.init(tuple(boxes[0]))
    assert not reply.success and 'init refused: the node is inactive, not active' in reply.message
    assert life.change('activate') and life.state() == 'active'
    detections = _track(client, frames, boxes, 0, 10)
    assert {frame_stamp_ns(i) for i in range(1, 10)} & {stamp_of(d) for d in detections}
    assert all(d.id == 'car' for d in detections)

    assert life.change('deactivate') and life.state() == 'inactive'
    _, statuses = client.settle()
    assert statuses[-1].state == IDLE, 'deactivate drops the target and says so'
    client.clear()
    client.stream(frames[10:16], first=10)
    detections, statuses = client.settle()
    assert detections == [] and statuses == [], 'nothing is processed while inactive'
    reply = client.init(tuple(boxes[15]))
    assert not reply.success and 'not active' in reply.message, reply.message

    assert life.change('activate') and life.state() == 'active'
    detections = _track(client, frames, boxes, 16, 10)
    assert {stamp_of(d) for d in detections} >= {frame_stamp_ns(17), frame_stamp_ns(25)}

    assert life.change('deactivate') and life.change('cleanup')
    assert life.state() == 'unconfigured' and 'model freed' in node.log()
    assert life.change('shutdown')
    _exits_cleanly(node)


def test_transitions_out_of_order_are_refused(managed, clip):
    frames, boxes = clip
    node, client, life = managed()
    for refused, state in [('activate', 'unconfigured'), ('cleanup', 'unconfigured'),
                           (None, 'unconfigured'), ('configure', 'inactive'),
                           ('deactivate', 'inactive'), (None, 'inactive'),
                           ('cleanup', 'active'), ('configure', 'active')]:
        if refused is None:  # the allowed next step
            assert life.change({'unconfigured': 'configure', 'inactive': 'activate'}[state])
            continue
        assert not life.change(refused), f'{refused} while {state}'
        assert life.state() == state
        assert (f"transition '{refused}' refused: the node is {state} (allowed from there: "
                in node.log()), node.log()
    assert not life.change(transition_id=Transition.TRANSITION_CONFIGURE)
    assert 'transition 1 refused: the node is active (allowed from there: deactivate, shutdown)' \
        in node.log()
    assert node.proc.poll() is None and life.state() == 'active'
    assert _track(client, frames, boxes, 0, 6), 'still tracks after the refusals'
    assert life.change('shutdown')  # from active
    _exits_cleanly(node)


def test_transitions_while_a_camera_streams(managed, clip):
    """CYCLES configure/activate/deactivate/cleanup cycles while frames arrive: each answers,
    and the node exits cleanly. (Destroying the outputs and the camera subscription while the
    executor spun once killed the node with rclpy's InvalidHandle: qos.without_event_handlers.)"""
    frames, _ = clip
    node, client, life = managed()
    client.make_publisher(reliable=True)
    streaming = threading.Event()
    streaming.set()

    def camera():
        for index in itertools.count():
            if not streaming.is_set():
                return
            client.publish(frames[index % len(frames)], index)
            time.sleep(0.005)

    thread = threading.Thread(target=camera)
    thread.start()
    try:
        for _ in range(CYCLES):
            for transition in ('configure', 'activate', 'deactivate', 'cleanup'):
                assert life.change(transition), f'{transition} failed:\n{node.log()}'
    finally:
        streaming.clear()
        thread.join()
    assert life.change('shutdown')
    _exits_cleanly(node)


def test_bad_parameter_fails_configure_until_fixed(managed):
    node, _, life = managed('-p', 'tracker:=no_such_tracker')
    assert not life.change('configure') and life.state() == 'unconfigured'
    errors = [line for line in node.log().splitlines() if 'ERROR' in line]
    assert len(errors) == 1 and 'configure failed' in errors[0], node.log()
    assert "unknown tracker 'no_such_tracker'" in errors[0]
    assert life.set_string('tracker', 'siamfc').successful
    assert life.change('configure') and life.state() == 'inactive'
    result = life.set_string('tracker', 'siamrpn')
    assert not result.successful and 'change only while unconfigured' in result.reason
    assert life.change('shutdown')  # from inactive
    _exits_cleanly(node)



def test_sigint_while_active_exits_cleanly(managed, clip):
    frames, boxes = clip
    node, client, life = managed()
    assert life.change('configure') and life.change('activate')
    assert _track(client, frames, boxes, 0, 4)
    assert node.stop() == 0, node.log()
    assert 'Traceback' not in node.log(), node.log()
