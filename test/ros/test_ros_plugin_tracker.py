"""The test folder's plugin tracker (test/plugins/toy_tracker.py) in the real node: selected by
the `tracker` parameter, its own config file declared as `toy.*` parameters, its detections
labelled with its name; no library file knows it (docs/architecture.md)."""
import os
from pathlib import Path

import pytest

from rostest_support import frame_stamp_ns, load_sequence

PLUGINS = Path(__file__).resolve().parents[1] / 'plugins'
FIRST = 600  # stamps distinct from the other ROS tests


@pytest.fixture(scope='module')
def toy_node(start_node):
    saved = {k: os.environ.get(k) for k in ('SIAM_TRACKER_PLUGINS', 'PYTHONPATH')}
    os.environ['SIAM_TRACKER_PLUGINS'] = 'toy_tracker'
    os.environ['PYTHONPATH'] = os.pathsep.join(filter(None, [str(PLUGINS),
                                                             saved['PYTHONPATH']]))
    try:
        return start_node('-p', 'tracker:=toy', '-p', 'toy.channels:=5')
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def test_plugin_tracker_runs_in_the_node(toy_node, client, sot_dir):
    assert 'tracker toy on device cpu' in toy_node.log()
    assert 'toy.yaml' in toy_node.log()
    frames, boxes = load_sequence(sot_dir / 'otb_Crossing', 12)
    client.make_publisher(reliable=True)
    client.wait_matched(reliable=True)
    client.stream(frames[:2], first=FIRST)
    reply = client.init(boxes[1], frame_stamp_ns(FIRST + 1), 'camera',
                        target_id='toy_target')
    assert reply.success, reply.message
    client.clear()
    client.stream(frames[2:], first=FIRST + 2)
    detections, statuses = client.settle(FIRST + len(frames) - 1)
    mine = [d for d in detections if d.id == 'toy_target']
    assert mine and all(d.results[0].hypothesis.class_id == 'toy' for d in mine)
    assert all(s.tracker == 'toy' for s in statuses if s.target_id == 'toy_target')
