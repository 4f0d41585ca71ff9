"""Report tables: summary, per-sequence and per-attribute markdown."""
import numpy as np

from siam_tracker_ros.datasets.layout import Dataset
from siam_tracker_ros.datasets.sequence import Sequence
from siam_tracker_ros.evaluation import report, scoring


def _scores(tracker, shift):
    gt = np.array([[10, 10, 20, 20]] * 4, dtype=float)
    seqs = [Sequence(name='a', frames=('x',) * 4, boxes=gt, attributes=('FM', 'SV')),
            Sequence(name='b', frames=('x',) * 4, boxes=gt, attributes=('SV',))]
    preds = {'a': gt + [shift, 0, 0, 0], 'b': gt}
    scores = scoring.evaluate_ope(seqs, lambda s: (preds[s.name], np.full(4, 0.01)))
    scores.update(tracker=tracker, protocol='ope')
    return seqs, scores


def test_ope_tables_with_attributes():
    seqs, good = _scores('good', 0.0)
    _, shifted = _scores('shifted', 10.0)       # IoU 1/3 on frames 1-3 of sequence 'a'
    dataset = Dataset(name='toy', layout='otb', root='/toy', sequences=tuple(seqs),
                      one_based=True, protocol='ope')
    lines = report.dataset_section(dataset, [good, shifted])
    text = '\n'.join(lines)
    assert lines[0] == '## toy (ope)'
    assert '| good | 0.952 | 1.000 | 1.000 | 1.000 | 100.0 |' in text
    # sequence 'a': frame 0 IoU 1, frames 1-3 IoU 1/3 -> thresholds below 1/3 (7 of 21) pass
    # on every frame, 0.35 .. 0.95 (13) only on frame 0: AUC = (7 * 4 + 13) / (21 * 4)
    auc_a = (7 * 4 + 13) / 84
    assert f'| a | 0.952 | {auc_a:.3f} |' in text
    assert f'| FM (1) | 0.952 | {auc_a:.3f} |' in text
    assert f'| SV (2) | 0.952 | {(auc_a + 20 / 21) / 2:.3f} |' in text


def test_nan_cells_render_as_dash():
    assert report._cell('auc', float('nan')) == '–'
    assert report._cell('failures', 3.0) == '3'
    assert report._cell('fps', 12.345) == '12.3'
