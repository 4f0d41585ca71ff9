"""SIGINT and SIGTERM while tracking, and Ctrl-C under `ros2 launch` (SIGINT to the process
group, then a second one forwarded by launch), tracking or idle: exit code 0, no traceback, no
abort, no error logged, no /dev/shm leftovers (issue 14 item 1, issue 15 item 5)."""
import os
import signal
import threading
import time

import pytest

from rostest_support import load_sequence


def _shm():
    """Files in /dev/shm that no live process maps or holds open (the test process keeps the
    Fast DDS port segments of peers it talked to; those are not the node's leftovers)."""
    in_use = set()
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open(f'/proc/{pid}/maps') as maps:
                in_use.update(line.split('/dev/shm/')[1].split()[0]
                              for line in maps if '/dev/shm/' in line)
            for fd in os.listdir(f'/proc/{pid}/fd'):
                target = os.readlink(f'/proc/{pid}/fd/{fd}')
                if target.startswith('/dev/shm/'):
                    in_use.add(target[len('/dev/shm/'):])
        except OSError:
            continue
    in_use.update(f'sem.{name}_mutex' for name in list(in_use))  # a port's lock goes with it
    return set(os.listdir('/dev/shm')) - in_use


@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGTERM])
def test_clean_exit_while_tracking(start_node, client, sot_dir, sig):
    frames, boxes = load_sequence(sot_dir / 'otb_Crossing', 30)
    client.make_publisher(reliable=True)
    before = _shm()
    node = start_node()
    client.wait_matched(reliable=True)
    client.stream(frames[:2])
    assert client.init(tuple(boxes[1])).success
    streaming = threading.Thread(target=client.stream, args=(frames[2:],),
                                 kwargs={'first': 2})
    streaming.start()
    time.sleep(0.5)
    code = node.stop(sig)
    streaming.join()
    _check_clean_exit(node, code, before)


def _check_clean_exit(node, code, shm_before):
    log = node.log()
    assert code == 0, log
    for bad in ('terminate called', 'Traceback', 'Aborted', 'KeyboardInterrupt',
                'publish failed', 'ERROR'):
        assert bad not in log, log
    time.sleep(0.5)
    assert _shm() - shm_before == set(), 'the node left files in /dev/shm'


@pytest.mark.parametrize('tracking', [True, False], ids=['tracking', 'idle'])
@pytest.mark.parametrize('gap', [0.0, 0.05, 0.2])
def test_ctrl_c_under_launch(start_node, client, sot_dir, tracking, gap):
    frames, boxes = load_sequence(sot_dir / 'otb_Crossing', 30)
    client.make_publisher(reliable=True)
    before = _shm()
    node = start_node(own_group=True)
    client.wait_matched(reliable=True)
    client.stream(frames[:2])
    if tracking:
        assert client.init(tuple(boxes[1])).success
    streaming = threading.Thread(target=client.stream, args=(frames[2:],),
                                 kwargs={'first': 2})
    streaming.start()
    time.sleep(0.5)
    node.signal_group(signal.SIGINT)  # the terminal's Ctrl-C ...
    time.sleep(gap)
    if node.proc.poll() is None:
        node.signal_group(signal.SIGINT)  # ... and the one launch forwards
    code = node.wait_exit()
    streaming.join()
    _check_clean_exit(node, code, before)
