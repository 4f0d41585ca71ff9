"""The shipped weights: size budget, model cards, defaults, and they load and track."""
import numpy as np
import torch

from siam_tracker_ros.build import build_tracker
from siam_tracker_ros.datasets import load_dataset
from siam_tracker_ros.evaluation.metrics import rect_iou
from siam_tracker_ros.evaluation.runner import load_frame
from siam_tracker_ros.models.weights import PACKAGE_WEIGHTS_DIR, load_weights

MAX_TOTAL_BYTES = 50 * 1024 * 1024   # all files; dastsiam's alone is 29 MB (issue 12: 60 MB)


def shipped():
    return sorted(PACKAGE_WEIGHTS_DIR.glob('*.pt'))


def test_weights_budget_cards_and_defaults():
    files = shipped()
    assert files, f'no weights in {PACKAGE_WEIGHTS_DIR}'
    assert sum(p.stat().st_size for p in files) <= MAX_TOTAL_BYTES
    for path in files:
        card = path.with_suffix('.md').read_text()
        for needed in ('## Data', '## Recipe', 'Training time', '`sot_val`:', '`sot`:', 'CSRT'):
            assert needed in card, (path.name, needed)
        payload = load_weights(path)
        assert all(v.dtype == torch.float16 for v in payload['state_dict'].values()
                   if v.is_floating_point())
    defaults = dict(line.split() for line in
                    (PACKAGE_WEIGHTS_DIR / 'DEFAULTS').read_text().splitlines() if line.strip())
    assert all((PACKAGE_WEIGHTS_DIR / name).is_file() for name in defaults.values())
    for tracker, name in defaults.items():
        assert load_weights(PACKAGE_WEIGHTS_DIR / name)['tracker'] == tracker


def test_shipped_weights_follow_the_target_on_real_frames(sot_dir):
    """Each shipped file tracks the first 30 frames of otb_Crossing: mean IoU with the ground
    truth at least 0.5 (they give 0.60–0.82; the init box held still gives 0.12)."""
    clip = next(s for s in load_dataset(sot_dir).sequences if s.name == 'otb_Crossing')
    truth = np.array(clip.boxes[1:31])
    for path in shipped():
        tracker = build_tracker(load_weights(path)['tracker'], weights=path)
        tracker.init(load_frame(clip.frames[0]), clip.boxes[0])
        boxes = np.array([tracker.track(load_frame(frame)).box for frame in clip.frames[1:31]])
        assert rect_iou(boxes, truth).mean() >= 0.5, path.name


def test_run_eval_and_node_default_to_the_best_shipped_weights():
    from siam_tracker_ros.evaluation.runner import make_tracker
    lines = (PACKAGE_WEIGHTS_DIR / 'DEFAULTS').read_text().split('\n')
    for tracker, name in (line.split() for line in lines if line.strip()):
        best = PACKAGE_WEIGHTS_DIR / name
        assert make_tracker(tracker).weights_path == str(best)          # siam-track eval
        assert make_tracker(tracker, 'none').weights_path is None
        # build_tracker serves run, bench and the node
        assert build_tracker(tracker, weights='default').weights_path == str(best)
