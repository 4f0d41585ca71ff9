"""`siam-track calibrate-lost`'s work: record, choose the LOST setting, write the table.

The records of every (weights, dataset) pair are cached (`lost_records.cached_record`), the
setting is chosen on the selection dataset over all weights files at once (one config file
serves them all; files given as `report_weights` are only reported), and every dataset is
reported with the chosen setting, the shipped config and the earlier score-only rule.
"""
import dataclasses
import platform
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from siam_tracker_ros.build import build_tracker
from siam_tracker_ros.datasets import load_dataset
from siam_tracker_ros.evaluation.lost_calibration import (SEARCH_SPACE, TRUE_LOST_IOU,
                                                          choose_setting, score_records,
                                                          separation)
from siam_tracker_ros.evaluation.lost_records import FEATURES, cached_record
from siam_tracker_ros.models.weights import resolve_weights

# The rule before calibration (score only), kept as a baseline row.
SCORE_ONLY = {'lost_rule': 'score', 'lost_score': 0.3, 'lost_frames': 5,
              'recover_score': 0.4, 'recover_frames': 2}
LOST_BLOCK = 'lost-calibration'
REDETECT_BLOCK = 'redetect'


@dataclass(frozen=True)
class CalibrationJob:
    """What to calibrate: a tracker with weights files, the selection dataset, the others."""

    tracker: str
    weights: tuple
    select: str
    check: tuple = ()
    cache_dir: str = 'runs/lost_calibration'
    max_sequences: int = None
    device: str = 'cpu'
    report_weights: tuple = ()     # reported with the chosen setting, not chosen on

    @property
    def all_weights(self) -> tuple:
        """The files chosen on, then those only reported."""
        return tuple(self.weights) + tuple(self.report_weights)


def dataset_records(job, weights, dataset_dir, names=None, **overrides) -> list:
    """One record per sequence of `dataset_dir` (those in `names` when given) for `weights`,
    with config `overrides` (cached)."""
    tracker = build_tracker(job.tracker, weights=resolve_weights(weights, job.tracker),
                            device=job.device, threads=1, **overrides)
    dataset = load_dataset(dataset_dir)
    sequences = [s for s in dataset.sequences[:job.max_sequences]
                 if names is None or s.name in names]
    records = {}
    for index, sequence in enumerate(sequences, 1):
        print(f'[{weights_label(weights, job.tracker)} {dataset.name}] {index}/{len(sequences)} '
              f'{sequence.name}', file=sys.stderr, flush=True)
        records[sequence.name] = cached_record(tracker, sequence,
                                               Path(job.cache_dir) / dataset.name)
    return records


def weights_label(weights, tracker) -> str:
    """The weights file's stem ('random' for none)."""
    path = resolve_weights(weights, tracker)
    return Path(path).stem if path else 'random'


def calibrate(job, command: str):
    """Choose the setting on `job.select` for `job.weights` (and report it for
    `job.report_weights` too); returns (chosen config, markdown table, records:
    {(weights, dataset): {sequence: record}})."""
    datasets = (job.select,) + tuple(job.check)
    named = {(w, d): dataset_records(job, w, d)
             for w in job.all_weights for d in datasets}
    records = {key: list(value.values()) for key, value in named.items()}
    shipped = build_tracker(job.tracker).config
    chosen, _ = choose_setting([records[w, job.select] for w in job.weights], shipped)
    rules = (('chosen', chosen), ('shipped', shipped),
             ('score only', dataclasses.replace(shipped, **SCORE_ONLY)))
    rows, separations = [], []
    for w, d in records:
        for label, config in rules:
            score = score_records(records[w, d], config)
            rows.append((weights_label(w, job.tracker), Path(d).name, label, score))
        separations.append((weights_label(w, job.tracker), Path(d).name,
                            [separation(records[w, d], name) for name in FEATURES]))
    return chosen, table(job, chosen, rows, separations, command), named


def setting_text(config) -> str:
    """The status fields of `config` as YAML-like `name: value` pairs."""
    names = ['lost_rule'] + list(SEARCH_SPACE)
    return ', '.join(f'{n}: {getattr(config, n)}' for n in names)


def cpu_name() -> str:
    """The CPU's model name (Linux /proc/cpuinfo, else platform)."""
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown CPU'


def table(job, chosen, rows, separations, command) -> str:
    """The markdown block written into docs/ros.md: the status rules as failure detectors,
    then each feature alone (`separations`: (weights, data, [area under ROC per FEATURE]))."""
    chosen_for = ', '.join(weights_label(w, job.tracker) for w in job.weights)
    lines = [f'Tracker `{job.tracker}`; a frame is truly lost when IoU < {TRUE_LOST_IOU}. '
             f'Chosen on `{Path(job.select).name}` for {chosen_for}: '
             f'`{setting_text(chosen)}`.', '',
             '| weights | data | rule | precision | recall | episodes caught | '
             'median delay (frames) | frames | truly lost | LOST |', '|' + '---|' * 10]
    for weights, data, label, s in rows:
        lines.append(f'| {weights} | {data} | {label} | {s.precision:.2f} | {s.recall:.2f} | '
                     f'{s.caught}/{s.episodes} | {s.median_delay:g} | {s.frames} | {s.lost} | '
                     f'{s.flagged} |')
    lines += ['', 'Each feature alone, per frame, as a detector of truly lost frames (area under '
              'the ROC curve; 0.5 is chance):', '',
              '| weights | data | ' + ' | '.join(FEATURES) + ' |',
              '|' + '---|' * (2 + len(FEATURES))]
    for weights, data, values in separations:
        lines.append(f'| {weights} | {data} | ' + ' | '.join(f'{v:.2f}' for v in values) + ' |')
    lines += ['', f'Regenerate: `{command}` (features cached under `{job.cache_dir}`; '
              f'CPU: {cpu_name()}).']
    return '\n'.join(lines)


def replace_blocks(path, blocks: dict) -> str:
    """The text of `path` with each `{name: block}` of `blocks` put between
    `<!-- name:begin -->` and `<!-- name:end -->`; ValueError naming every block the file
    lacks. Nothing is written: the caller writes the text (or only checks the file)."""
    text = Path(path).read_text()
    missing = [name for name in blocks if not _block_pattern(name).search(text)]
    if missing:
        raise ValueError(f'{path}: no ' + ', '.join(
            f'<!-- {name}:begin --> ... <!-- {name}:end -->' for name in missing) +
            ' block to replace')
    for name, block in blocks.items():
        replacement = f'<!-- {name}:begin -->\n{block}\n<!-- {name}:end -->'
        text = _block_pattern(name).sub(lambda _: replacement, text)  # literal, not a template
    return text


def _block_pattern(name: str):
    return re.compile(re.escape(f'<!-- {name}:begin -->') + '.*?' +
                      re.escape(f'<!-- {name}:end -->'), re.S)
