"""launch/tracker.launch.py, checked without launch_ros (ros-on-pypi.md §4): generate the
description with stubbed launch modules, rebuild launch_ros's command line, run the node with
it, and receive detections on the remapped, namespaced topics."""
import ast
import runpy
import sys

import launch_stubs
import pytest

from siam_tracker_ros.ros.workspace import installed_prefix

from rostest_support import Client, frame_stamp_ns, load_sequence

SHARE = installed_prefix() / 'share' / 'siam_tracker_ros'
EXECUTABLE = installed_prefix() / 'lib' / 'siam_tracker_ros' / 'tracker_node'
LIFECYCLE_EXECUTABLE = EXECUTABLE.with_name('tracker_lifecycle_node')


@pytest.fixture(scope='module')
def description(repo_root):
    path = SHARE / 'launch' / 'tracker.launch.py'
    assert path.is_file(), 'the launch file is installed in share/siam_tracker_ros/launch'
    ast.parse(path.read_text())
    saved = {name: sys.modules.get(name) for name in launch_stubs.modules()}
    sys.modules.update(launch_stubs.modules())
    try:
        return runpy.run_path(str(path))['generate_launch_description']()
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def _node(description, overrides):
    context = launch_stubs.launch_context(description, overrides)
    found = launch_stubs.nodes(description, context)
    assert len(found) == 1
    return found[0], context


def test_description(description):
    declared = {d.args[0] for d in description.args[0]
                if isinstance(d, launch_stubs.DeclareLaunchArgument)}
    assert {'tracker', 'weights', 'device', 'image', 'namespace', 'params_file',
            'lifecycle'} <= declared
    node, context = _node(description, {})
    kwargs = node.kwargs
    assert (kwargs['package'], kwargs['executable'], kwargs['name']) == (
        'siam_tracker_ros', 'tracker_node', 'siam_tracker')
    # Issue 14 item 3: arguments not given pass nothing over the params file.
    assert [launch_stubs.resolve(p, context) for p in kwargs['parameters']] == [
        str(SHARE / 'config' / 'tracker.yaml')]
    node, _ = _node(description, {'weights': 'none', 'device': 'cpu'})
    assert node.kwargs['parameters'][1] == {'weights': 'none', 'device': 'cpu'}
    assert EXECUTABLE.is_file()


def test_lifecycle_argument_selects_the_managed_node(description):
    for value in ('true', 'True'):
        node, _ = _node(description, {'lifecycle': value})
        assert node.kwargs['executable'] == 'tracker_lifecycle_node'
        assert node.kwargs['name'] == 'siam_tracker'
    assert LIFECYCLE_EXECUTABLE.is_file()
    with pytest.raises(ValueError, match="lifecycle must be 'true' or 'false', got 'yes'"):
        _node(description, {'lifecycle': 'yes'})


def test_launch_command_runs_the_node(description, start_node, sot_dir, tmp_path, ros_session):
    # Issue 14 item 3: tracker, weights and device come from params_file when not given.
    params = (SHARE / 'config' / 'tracker.yaml').read_text()
    params = params.replace('weights: default', 'weights: none').replace(
        'device: auto', 'device: cpu')
    assert 'weights: none' in params and 'device: cpu' in params
    params_file = tmp_path / 'robot1.yaml'
    params_file.write_text(params)
    node_def, context = _node(description, {'params_file': str(params_file),
                                            'image': '/cam/image_raw', 'namespace': 'robot1'})
    command = launch_stubs.node_command(node_def, context, str(EXECUTABLE), tmp_path)
    assert '__ns:=/robot1' in ' '.join(command)
    node = start_node(command=command)
    assert 'ready on /cam/image_raw' in node.log()
    assert 'on device cpu' in node.log() and 'seeded random init' in node.log(), node.log()
    frames, boxes = load_sequence(sot_dir / 'vot15_bag', 8)
    client = Client('siam_tracker_launch_test', node_name='robot1/siam_tracker')
    try:
        client.make_publisher(reliable=True, topic='/cam/image_raw')
        client.wait_matched(reliable=True)
        client.stream(frames[:2])
        reply = client.init(tuple(boxes[1]), frame_stamp_ns(1), 'camera')
        assert reply.success, reply.message
        client.stream(frames[2:], first=2)
        detections, statuses = client.settle(7)
        assert detections and statuses
        assert all(d.header.frame_id == 'camera' for d in detections)
    finally:
        client.close()
