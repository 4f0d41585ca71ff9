"""Fixtures of the ROS tests (they assume scripts/ros_env.sh is sourced and a loopback-only
network namespace; test_isolation.py fails otherwise)."""
import rclpy
import pytest

from rostest_support import Client, NodeProcess, node_command, start_rclpy


@pytest.fixture(scope='session')
def ros_session():
    """rclpy initialised once for the test process."""
    start_rclpy()
    yield
    rclpy.try_shutdown()


@pytest.fixture(scope='module')
def client(ros_session):
    """A test-side node that publishes frames, calls the services and keeps the outputs."""
    c = Client()
    yield c
    c.close()


@pytest.fixture(scope='module')
def start_node(tmp_path_factory):
    """Factory: start the installed tracker_node with extra --ros-args; stopped at module end."""
    started = []

    def start(*ros_args, command=None, wait=True, **process_options):
        log = tmp_path_factory.mktemp('node') / 'node.log'
        node = NodeProcess(command or node_command(*ros_args), log, **process_options)
        started.append(node)
        RUNNING.append(node)
        if wait:
            node.wait_ready()
        return node

    yield start
    for node in started:
        node.stop()
        RUNNING.remove(node)


RUNNING = []  # node processes of the running module, for the failure report


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing ROS test's report carries the log of every node process of its module."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for node in RUNNING:
            report.sections.append((f'node log {node.log_path}', node.log()))
