"""Markdown and JSON reports from `scoring.evaluate` results."""
import json
import math
from pathlib import Path

COLUMNS = {
    'ope': (('auc', 'AUC'), ('p20', 'P@20'), ('norm_p', 'norm-P@0.2'), ('sr50', 'SR@0.5'),
            ('fps', 'FPS')),
    'got10k': (('ao', 'AO'), ('sr50', 'SR0.5'), ('sr75', 'SR0.75'), ('fps', 'FPS')),
    'vot': (('eao', 'EAO'), ('accuracy', 'Accuracy'), ('robustness', 'R (fail/100 fr)'),
            ('failures', 'Failures'), ('fps', 'FPS')),
}
SEQUENCE_KEY = {'ope': ('auc', 'AUC'), 'got10k': ('ao', 'AO'), 'vot': ('accuracy', 'Accuracy')}


def _cell(key, value) -> str:
    if isinstance(value, float) and math.isnan(value):
        return '–'
    if key == 'failures':
        return str(int(value))
    if key in ('fps', 'robustness'):
        return f'{value:.1f}' if key == 'fps' else f'{value:.2f}'
    return f'{value:.3f}'


def _table(header, rows) -> list:
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    lines += ['| ' + ' | '.join(row) + ' |' for row in rows]
    return lines


def summary_table(results) -> list:
    """Markdown lines: one row per tracker, the protocol's columns (results share a protocol)."""
    columns = COLUMNS[results[0]['protocol']]
    rows = [[r['tracker']] + [_cell(k, r['overall'][k]) for k, _ in columns] for r in results]
    return _table(['Tracker'] + [label for _, label in columns], rows)


def sequence_table(results) -> list:
    """Markdown lines: the protocol's main per-sequence score, sequences x trackers."""
    key, label = SEQUENCE_KEY[results[0]['protocol']]
    names = list(results[0]['sequences'])
    rows = [[name] + [_cell(key, r['sequences'][name][key]) for r in results] for name in names]
    return _table([f'Sequence ({label})'] + [r['tracker'] for r in results], rows)


def attribute_table(results) -> list:
    """Markdown lines: AUC per attribute and tracker; [] when the dataset has no attributes."""
    attrs = list(results[0]['attributes'])
    if not attrs:
        return []
    rows = [[f'{a} ({results[0]["attributes"][a]["sequences"]})']
            + [_cell('auc', r['attributes'][a]['auc']) for r in results] for a in attrs]
    return _table(['Attribute (sequences), AUC'] + [r['tracker'] for r in results], rows)


def dataset_section(dataset, results, plots=()) -> list:
    """The markdown section of one dataset: summary, per-sequence and attribute tables."""
    frames = sum(len(s) for s in dataset.sequences)
    lines = [f'## {dataset.name} ({results[0]["protocol"]})', '',
             f'Layout `{dataset.layout}`, protocol `{results[0]["protocol"]}`, '
             f'{len(dataset.sequences)} sequences, {frames} frames.', '']
    lines += summary_table(results) + ['']
    attributes = attribute_table(results)
    if attributes:
        lines += ['Per attribute:', ''] + attributes + ['']
    lines += ['Per sequence:', ''] + sequence_table(results) + ['']
    lines += [f'![{Path(p).stem}]({Path(p).name})' for p in plots]
    return lines + ([''] if plots else [])


def write_json(path, results) -> None:
    """Write every result dict (curves included) as JSON."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(results, indent=1, allow_nan=True) + '\n')


def write_markdown(path, title, sections, preamble=()) -> None:
    """Write a report: a title, optional preamble lines, then dataset sections."""
    lines = [f'# {title}', ''] + list(preamble)
    for section in sections:
        lines += section
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text('\n'.join(lines).rstrip() + '\n')
