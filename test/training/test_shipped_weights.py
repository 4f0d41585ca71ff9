"""The shipped weights: size budget, model cards, defaults, and they load and track."""
import numpy as np
import torch

from siam_tracker_ros.models.weights import PACKAGE_WEIGHTS_DIR, load_weights
from siam_tracker_ros.build import build_tracker

from tiny_data import textured

MAX_TOTAL_BYTES = 40 * 1024 * 1024


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


def test_shipped_weights_follow_a_moving_target():
    rng = np.random.default_rng(0)
    background = textured(rng, 240, 320)
    patch = textured(np.random.default_rng(1), 48, 48)
    for path in shipped():
        tracker = build_tracker(load_weights(path)['tracker'], weights=path)
        boxes = []
        for t in range(6):
            frame = background.copy()
            frame[96:144, 100 + 4 * t:148 + 4 * t] = patch
            if t == 0:
                tracker.init(frame, (100, 96, 48, 48))
            else:
                boxes.append(tracker.track(frame).box)
        assert np.isfinite(boxes).all()
        assert abs(boxes[-1][0] - (100 + 4 * 5)) < 12, (path.name, boxes)


def test_run_eval_and_node_default_to_the_best_shipped_weights():
    from siam_tracker_ros.evaluation.runner import make_tracker
    lines = (PACKAGE_WEIGHTS_DIR / 'DEFAULTS').read_text().split('\n')
    for tracker, name in (line.split() for line in lines if line.strip()):
        best = PACKAGE_WEIGHTS_DIR / name
        assert make_tracker(tracker).weights_path == str(best)          # siam-track eval
        assert make_tracker(tracker, 'none').weights_path is None
        # build_tracker serves run, bench and the node
        assert build_tracker(tracker, weights='default').weights_path == str(best)
