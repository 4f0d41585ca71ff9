"""CSRT on the real dev set: the table is the same run to run, and the plots render."""
import re

import numpy as np
import pytest

from siam_tracker_ros.datasets import load_dataset
from siam_tracker_ros.evaluation import results as res
from siam_tracker_ros.evaluation.benchmark import BenchmarkOptions, run_benchmark
from siam_tracker_ros.evaluation.runner import RunSpec, run_sequence


@pytest.fixture(scope='module')
def csrt_run(sot_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp('csrt_devset')
    options = BenchmarkOptions(out_dir=str(out), workers=2, progress=False)
    markdown = run_benchmark([str(sot_dir)], ['csrt'], options)
    return out, markdown


def _recorded_csrt(repo_root):
    """CSRT's row of the summary table and its column of the per-sequence table in
    docs/devset.md (the table `siam-track eval` wrote on an earlier run)."""
    lines = (repo_root / 'docs' / 'devset.md').read_text().splitlines()
    start = lines.index('## sot (ope)')
    tables, rows = [], []
    for line in lines[start + 1:]:
        if line.startswith('## '):
            break
        if line.startswith('|'):
            rows.append([c.strip() for c in line.strip('|').split('|')])
        elif rows:
            tables.append(rows)
            rows = []
    summary, per_sequence = tables[0], tables[-1]
    row = next(r for r in summary if r[0] == 'csrt')
    column = per_sequence[0].index('csrt')
    return dict(zip(summary[0], row)), {r[0]: r[column] for r in per_sequence[2:]}


def _table(markdown):
    summary, seqs = {}, {}
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip('|').split('|')]
        if cells[0] == 'csrt':
            summary = dict(zip(['Tracker', 'AUC', 'P@20', 'norm-P@0.2', 'SR@0.5'], cells))
        elif re.match(r'(otb|vot15|dtb70|uav123)_', cells[0]):
            seqs[cells[0]] = cells[1]
    return summary, seqs


# OpenCV's CSRT takes other SIMD paths on other CPUs: the recorded run (docs/devset.md) gives
# vot15_bag 0.385, an AMD EPYC 0.407 (mean 0.506 against 0.502). Run to run on one machine it
# is exact (the next test); against the recorded run it holds within these.
SUMMARY_TOLERANCE, SEQUENCE_TOLERANCE = 0.01, 0.03


def test_csrt_table_matches_the_recorded_run(csrt_run, repo_root):
    _, markdown = csrt_run
    summary, seqs = _table(markdown)
    recorded_summary, recorded_seqs = _recorded_csrt(repo_root)
    for key in ('AUC', 'P@20', 'norm-P@0.2', 'SR@0.5'):
        assert float(summary[key]) == pytest.approx(float(recorded_summary[key]),
                                                    abs=SUMMARY_TOLERANCE), key
    assert seqs.keys() == recorded_seqs.keys()
    for name, value in seqs.items():
        assert float(value) == pytest.approx(float(recorded_seqs[name]),
                                             abs=SEQUENCE_TOLERANCE), name
    assert 0.45 < float(summary['AUC']) < 0.55


def test_csrt_rerun_in_this_process_gives_identical_results(csrt_run, sot_dir, tmp_path):
    out, _ = csrt_run
    dataset = load_dataset(sot_dir)
    bird = next(s for s in dataset.sequences if s.name == 'otb_Bird2')
    assert run_sequence(RunSpec(tracker='csrt', results_dir=str(tmp_path)), bird)
    again = res.result_paths(tmp_path, 'csrt', bird.name, 'ope')[0].read_text()
    first = res.result_paths(out / 'results' / 'sot', 'csrt', bird.name, 'ope')[0].read_text()
    assert again == first


@pytest.mark.parametrize('name', ['sot_ope_success.png', 'sot_ope_precision.png'])
def test_plots_render(csrt_run, name):
    from matplotlib import image
    out, markdown = csrt_run
    pixels = image.imread(out / name)
    assert pixels.shape[0] > 300 and pixels.shape[1] > 400
    assert np.std(pixels[..., :3]) > 0.05          # not a blank canvas
    assert f'![{name[:-4]}]({name})' in markdown
