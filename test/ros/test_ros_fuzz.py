"""A short seeded run of benchmarks/fuzz_node.py against the real node (issue 15, "What to
build" 2): malformed Image and CompressedImage messages and absurd service requests, with a
health check (alive, answers, tracks otb_Crossing with IoU >= 0.5, RSS) every 100 cases.
The full run (10,000 cases) is in docs/reliability.md."""
import json
import subprocess
import sys

CASES, SEED = 300, 15
VARIANTS = {  # benchmarks/fuzz_cases.py VARIANTS
    'image': {'encoding', 'step', 'data_size', 'zero_dims', 'huge_dims', 'endianness',
              'absurd_stamp', 'large_valid'},
    'compressed': {'garbage', 'truncated', 'bit_flips', 'other_format', 'huge_claim',
                   'format_lie', 'empty'},
    'service': {'nonfinite_box', 'huge_box', 'negative_box', 'absurd_stamp',
                'frame_id_mismatch', 'unknown_tracker', 'long_strings', 'control_chars',
                'valid_init', 'reset', 'storm'},
}


def _fuzz(repo_root, tmp_path, name, *extra):
    log, summary = tmp_path / f'{name}.jsonl', tmp_path / f'{name}.json'
    done = subprocess.run([sys.executable, str(repo_root / 'benchmarks' / 'fuzz_node.py'),
                           '--cases', str(CASES), '--seed', str(SEED), '--batch', '100',
                           '--log', str(log), '--summary', str(summary), *extra],
                          capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    records = [json.loads(line) for line in log.read_text().splitlines()]
    return records, summary, done.stdout


def test_short_fuzz_run_finds_no_crash_hang_or_broken_state(repo_root, tmp_path):
    records, summary, table = _fuzz(repo_root, tmp_path, 'run')
    totals = json.loads(summary.read_text())
    assert totals['cases'] == CASES, table
    assert (totals['crashes'], totals['hangs'], totals['broken_states']) == (0, 0, 0), table
    assert totals['health_checks'] == 2 * (1 + 2), table  # per node: start + 2 batches
    assert totals['exit_codes'] == [0, 0], table
    assert totals['iou_min'] >= 0.5, table
    for start, peak in totals['rss_mb'].values():
        assert peak - start < 150, f'RSS grew from {start} to {peak} MiB'
    cases = [r for r in records if 'case' in r]
    assert len(cases) == CASES and all('result' in r for r in cases), 'every case is logged'
    for kind, names in VARIANTS.items():
        assert {r['variant'] for r in cases if r['kind'] == kind} == names, kind
    storms = [r for r in cases if r['variant'] == 'storm']
    assert storms and all(r['result']['unanswered'] == 0 for r in storms)

    replayed, _, _ = _fuzz(repo_root, tmp_path, 'dry', '--dry-run')
    without_results = [{k: v for k, v in r.items() if k not in ('result', 'crash')}
                       for r in records if 'health' not in r]
    assert replayed == without_results, 'the same seed gives the same cases'
