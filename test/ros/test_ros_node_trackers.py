"""Seed trackers with shipped weights in the real node: `tracker:=dyconv_fusion`,
`tracker:=siam_gam` and `tracker:=dastsiam` load their default weights (weights/DEFAULTS) and
follow a real target over DDS."""
import numpy as np
import pytest

from siam_tracker_ros.evaluation.metrics import rect_iou

from rostest_support import frame_stamp_ns, load_sequence, stamp_of

FIRST = 800  # stamps distinct from the other ROS tests
FRAMES = 16


DEFAULT_FILES = {'dyconv_fusion': 'dyconv_fusion_mobilenetv2.pt',
                 'siam_gam': 'siam_gam_mobilenetv2.pt',
                 'dastsiam': 'dastsiam_mobilenetv2.pt'}


@pytest.fixture(scope='module', params=sorted(DEFAULT_FILES))
def seed_node(request, start_node):
    """One node per tracker, stopped before the next starts (they share the topics)."""
    node = start_node('-p', f'tracker:={request.param}', '-p', 'weights:=default')
    yield request.param, node
    node.stop()


def _det_box(det):
    b = det.bbox
    return (b.center.position.x - (b.size_x - 1) / 2, b.center.position.y - (b.size_y - 1) / 2,
            b.size_x, b.size_y)


def test_seed_tracker_with_its_shipped_weights_follows_a_real_target(seed_node, client, sot_dir):
    name, node = seed_node
    assert DEFAULT_FILES[name] in node.log()
    frames, boxes = load_sequence(sot_dir / 'otb_Crossing', FRAMES)
    client.make_publisher(reliable=True)
    client.wait_matched(reliable=True)
    client.stream(frames[:1], first=FIRST)
    reply = client.init(boxes[0], frame_stamp_ns(FIRST), 'camera',
                        target_id='walker')
    assert reply.success, reply.message
    client.clear()
    client.stream(frames[1:], first=FIRST + 1, rate=10.0)
    detections, statuses = client.settle(FIRST + FRAMES - 1)
    mine = [d for d in detections if d.id == 'walker']
    assert mine and all(d.results[0].hypothesis.class_id == name for d in mine)
    index = {frame_stamp_ns(FIRST + i): i for i in range(FRAMES)}
    ious = [rect_iou(np.array([_det_box(d)]), np.array([boxes[index[stamp_of(d)]]]))[0]
            for d in mine]
    assert np.mean(ious) > 0.5, ious
    assert all(s.tracker == name for s in statuses if s.target_id == 'walker')
