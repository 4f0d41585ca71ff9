"""Fault injection on the real node (issue 15, "What to build" 4): a tracker that raises in the
middle of a stream, corrupt weights files at start-up, and SIGTERM while inits are being served.
(`device: cuda` without a GPU: test_ros_node_startup.py::test_cuda_without_a_gpu_is_a_ros_warning.)
"""
import os
import random
import signal
import time
from pathlib import Path

import pytest

from siam_tracker_ros.models.weights import resolve_weights
from siam_tracker_ros.status import LOST, TRACKING

from rostest_support import (Client, NodeProcess, frame_stamp_ns, init_request, load_sequence,
                             node_command, stamp_of)

PLUGINS = Path(__file__).resolve().parents[1] / 'plugins'
FIRST = 700  # stamps distinct from the other ROS tests
FAIL_ON_FRAME = 6  # test/plugins/faulty.yaml


def plugin_env() -> dict:
    """Environment that registers test/plugins/faulty_tracker.py in the node."""
    path = os.pathsep.join(filter(None, [str(PLUGINS), os.environ.get('PYTHONPATH')]))
    return {'SIAM_TRACKER_PLUGINS': 'faulty_tracker', 'PYTHONPATH': path}


def test_tracker_exception_mid_stream_goes_lost_and_node_recovers(start_node, client, sot_dir):
    node = start_node('-p', 'tracker:=faulty', env=plugin_env())
    frames, boxes = load_sequence(sot_dir / 'otb_Crossing', 40)
    client.make_publisher(reliable=True)
    client.wait_matched(reliable=True)
    client.stream(frames[:2], first=FIRST)
    assert client.init(boxes[1], frame_stamp_ns(FIRST + 1), 'camera',
                       target_id='first').success
    client.clear()
    client.stream(frames[2:20], first=FIRST + 2, rate=10.0)  # slow enough to track every frame
    detections, statuses = client.settle(FIRST + 19)
    mine = [s for s in statuses if s.target_id == 'first']
    lost = [s for s in mine if s.state == LOST]
    assert len(lost) == 1, [(stamp_of(s), s.state) for s in mine]
    assert stamp_of(lost[0]) not in {stamp_of(d) for d in detections}, 'no box for that frame'
    after = [s for s in mine if stamp_of(s) > stamp_of(lost[0])]
    assert after and after[-1].state == TRACKING, 'the next frames are tracked again'
    errors = [line for line in node.log().splitlines() if '[ERROR]' in line]
    assert len(errors) == 1, node.log()
    assert "failed on target 'first', now LOST: RuntimeError: injected fault on frame " \
           f'{FAIL_ON_FRAME} after init' in errors[0]
    reply = client.init(boxes[20], frame_stamp_ns(FIRST + 19), 'camera', target_id='second')
    assert reply.success, reply.message
    client.clear()
    client.stream(frames[20:24], first=FIRST + 20, rate=10.0)
    detections, _ = client.settle(FIRST + 23)
    assert [d for d in detections if d.id == 'second'], 'a new init works after the fault'
    assert client.reset().success
    assert node.stop() == 0


def _fatal_exit(tmp_path, weights: Path) -> str:
    node = NodeProcess(node_command('-p', f'weights:={weights}'), tmp_path / 'node.log')
    code = node.proc.wait(60)
    node.stop()
    log = node.log()
    assert code == 1, log
    for bad in ('Traceback', 'weights_only', 'Please file an issue'):
        assert bad not in log, log
    fatal = [line for line in log.splitlines() if 'FATAL' in line]
    assert len(fatal) == 1, log
    assert log.rstrip().endswith(fatal[0]), f'nothing follows the FATAL line:\n{log}'
    return fatal[0]


@pytest.mark.parametrize('damage, reason', [
    ('random', 'not a loadable checkpoint (UnpicklingError: '),
    ('truncated', 'RuntimeError: PytorchStreamReader failed reading zip archive'),
    ('empty', 'the file is empty or truncated (EOFError)'),
])
def test_corrupt_weights_file_is_one_fatal_line(tmp_path, damage, reason):
    shipped = resolve_weights('default', 'siamfc').read_bytes()
    data = {'random': random.Random(3).randbytes(3000), 'truncated': shipped[:len(shipped) // 2],
            'empty': b''}[damage]
    weights = tmp_path / f'{damage}.pt'
    weights.write_bytes(data)
    line = _fatal_exit(tmp_path, weights)
    assert f'cannot read weights {weights}: {reason}' in line, line


def test_sigterm_while_inits_are_served(start_node, sot_dir, ros_session):
    node = start_node('-r', '__node:=siam_tracker_sigterm')
    caller = Client('siam_tracker_test_sigterm', node_name='siam_tracker_sigterm')
    try:
        frames, boxes = load_sequence(sot_dir / 'otb_Crossing', 3)
        caller.make_publisher(reliable=True)
        caller.wait_matched(reliable=True)
        caller.stream(frames, first=FIRST + 100)
        assert caller.init(boxes[2]).success
        assert caller.init_client.wait_for_service(10)
        request = init_request(boxes[2])
        futures = [caller.init_client.call_async(request) for _ in range(20)]
        deadline = time.monotonic() + 30
        while not any(f.done() for f in futures) and time.monotonic() < deadline:
            time.sleep(0.005)
        answered = sum(f.done() for f in futures)
        assert 0 < answered < len(futures), 'SIGTERM must come while inits are being served'
        start = time.monotonic()
        code = node.stop(signal.SIGTERM, timeout=30)
        exit_s = time.monotonic() - start
    finally:
        caller.close()
    log = node.log()
    assert code == 0, log
    assert exit_s < 10, f'pending inits held up the exit ({exit_s:.1f} s; they waited 60 s)'
    for bad in ('Traceback', 'terminate called', 'Aborted', 'ERROR', 'publish failed', 'rosout'):
        assert bad not in log, log
