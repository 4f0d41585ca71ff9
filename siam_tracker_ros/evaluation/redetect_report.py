"""Re-detection on and off on the sequences where the tracker loses its target: AUC, frames
recovered and frames confidently on something else (docs/ros.md, "Re-detection")."""
from pathlib import Path

import numpy as np

from siam_tracker_ros.build import build_tracker
from siam_tracker_ros.evaluation.lost_calibration import TRUE_LOST_IOU, replay
from siam_tracker_ros.evaluation.lost_report import cpu_name, dataset_records, weights_label
from siam_tracker_ros.evaluation.metrics import auc, success_curve
from siam_tracker_ros.status import LOST, TRACKING

HEADER = ('| data | sequence | AUC off | AUC on | lost frames off | lost frames on | '
          'recovered | on a distractor off | on a distractor on | LOST frames off / on |')


def losing_sequences(records: dict) -> list:
    """Names of the sequences with at least one truly lost frame."""
    return [name for name, r in records.items() if np.any(r['iou'] < TRUE_LOST_IOU)]


def compare(plain: dict, found: dict, config) -> dict:
    """Per-sequence numbers of one record without (`plain`, its states replayed with the
    status of `config`) and with (`found`) re-detection."""
    lost_off, lost_on = plain['iou'] < TRUE_LOST_IOU, found['iou'] < TRUE_LOST_IOU
    plain = {**plain, 'state': replay(plain, config)}
    return {'auc_off': auc(success_curve(plain['iou'])), 'auc_on': auc(success_curve(found['iou'])),
            'lost_off': int(lost_off.sum()), 'lost_on': int(lost_on.sum()),
            'recovered': int((lost_off & ~lost_on).sum()),
            'wrong_off': int((lost_off & (plain['state'] == TRACKING)).sum()),
            'wrong_on': int((lost_on & (found['state'] == TRACKING)).sum()),
            'flag_off': int((plain['state'] == LOST).sum()),
            'flag_on': int((found['state'] == LOST).sum())}


def redetect_table(job, plain: dict, command: str) -> str:
    """Markdown block: re-detection off and on for the first weights file, on every dataset's
    sequences where the plain run loses the target. `plain`: {(weights, dataset): records}."""
    weights = job.weights[0]
    config = build_tracker(job.tracker).config
    lines = [f'Tracker `{job.tracker}`, weights `{weights_label(weights, job.tracker)}`, the '
             'shipped status setting; `redetect` off / on (`redetect_tiles`, '
             '`redetect_confirm` from the config). '
             f'Lost: IoU < {TRUE_LOST_IOU}; recovered: lost with it off, not with it on; on a '
             'distractor: lost while the state says TRACKING.', '', HEADER, '|' + '---|' * 10]
    totals = []
    for dataset in (job.select,) + tuple(job.check):
        names = losing_sequences(plain[weights, dataset])
        found = dataset_records(job, weights, dataset, names, redetect=True)
        for name in names:
            row = compare(plain[weights, dataset][name], found[name], config)
            totals.append(row)
            lines.append(table_row(Path(dataset).name, name, row))
    if totals:
        summed = {k: sum(r[k] for r in totals) for k in totals[0]}
        summed['auc_off'] = float(np.mean([r['auc_off'] for r in totals]))
        summed['auc_on'] = float(np.mean([r['auc_on'] for r in totals]))
        lines.append(table_row('all', f'{len(totals)} sequences (mean AUC)', summed))
    lines += ['', f'Regenerate: `{command}` (CPU: {cpu_name()}).']
    return '\n'.join(lines)


def table_row(data, name, row) -> str:
    return (f'| {data} | {name} | {row["auc_off"]:.3f} | {row["auc_on"]:.3f} | '
            f'{row["lost_off"]} | {row["lost_on"]} | {row["recovered"]} | {row["wrong_off"]} | '
            f'{row["wrong_on"]} | {row["flag_off"]} / {row["flag_on"]} |')
