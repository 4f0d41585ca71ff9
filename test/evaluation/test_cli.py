"""`siam-track eval` through its argparse parser, on real dev-set sequences."""
import argparse

import pytest

from siam_tracker_ros.cli import eval_cmd

from tiny_data import copy_clip


def _run(*argv):
    parser = argparse.ArgumentParser(prog='siam-track')
    eval_cmd.add_parser(parser.add_subparsers())
    args = parser.parse_args(['eval', *argv])
    return args.func(args)


def test_eval_ope_prints_and_writes_the_report(sot_dir, tmp_path, capsys):
    report = tmp_path / 'docs' / 'table.md'
    report.parent.mkdir()
    code = _run('--dataset', str(sot_dir), '--tracker', 'mosse,kcf', '--out', str(tmp_path),
                '--max-sequences', '1', '--workers', '1', '--no-progress',
                '--report', str(report))
    assert code == 0
    out = capsys.readouterr().out
    assert '| Tracker | AUC | P@20 | norm-P@0.2 | SR@0.5 | FPS |' in out
    assert '| mosse |' in out and '| kcf |' in out
    copy = report.read_text()
    assert copy == (tmp_path / 'report.md').read_text().replace('](sot_', '](img/table_sot_')
    assert '![sot_ope_success](img/table_sot_ope_success.png)' in copy
    copied = report.parent / 'img' / 'table_sot_ope_success.png'
    assert copied.read_bytes() == (tmp_path / 'sot_ope_success.png').read_bytes()
    assert copied.stat().st_size > 0
    assert (tmp_path / 'metrics.json').is_file()
    assert (tmp_path / 'results' / 'sot' / 'mosse' / 'dtb70_Surfing06.txt').is_file()


def test_eval_vot_protocol_on_a_single_sequence_folder(sot_dir, tmp_path, capsys):
    code = _run('--dataset', str(sot_dir / 'vot15_ball1'), '--tracker', 'mosse',
                '--out', str(tmp_path), '--protocol', 'vot', '--no-progress')
    assert code == 0
    header = '| Tracker | EAO | Accuracy | R (fail/100 fr) | Failures | FPS |'
    assert header in capsys.readouterr().out
    result = tmp_path / 'results' / 'vot15_ball1' / 'mosse' / 'baseline' / 'vot15_ball1'
    lines = (result / 'vot15_ball1_001.txt').read_text().splitlines()
    assert lines[0] == '1' and len(lines) == 105
    assert (tmp_path / 'vot15_ball1_vot_expected_overlap.png').is_file()


@pytest.mark.parametrize('argv, message', [
    (('--dataset', '/nonexistent/data', '--tracker', 'csrt'), 'dataset folder not found'),
    (('--tracker', 'nope'), "unknown tracker 'nope'"),
])
def test_eval_bad_input_exits_2_with_a_clear_message(argv, message, sot_dir, tmp_path, capsys):
    argv = argv if '--dataset' in argv else ('--dataset', str(sot_dir)) + argv
    assert _run(*argv, '--out', str(tmp_path), '--no-progress') == 2
    assert message in capsys.readouterr().err


def test_eval_unknown_layout(tmp_path, capsys):
    (tmp_path / 'data' / 'x').mkdir(parents=True)
    assert _run('--dataset', str(tmp_path / 'data'), '--tracker', 'csrt',
                '--out', str(tmp_path / 'out')) == 2
    assert 'unknown dataset layout' in capsys.readouterr().err


def test_eval_got10k_layout_uses_its_protocol_and_absence_labels(tmp_path, capsys):
    import cv2
    import numpy as np
    texture = np.random.default_rng(0).integers(0, 255, (96, 128, 3), dtype=np.uint8)
    folder = tmp_path / 'GOT-10k' / 'val' / 'GOT-10k_Val_000001'
    folder.mkdir(parents=True)
    for i in range(1, 7):
        cv2.imwrite(str(folder / f'{i:08d}.png'), texture)       # a static scene
    (folder / 'groundtruth.txt').write_text('40,30,32,24\n' * 5 + '0,0,0,0\n')
    (folder / 'absence.label').write_text('0\n' * 5 + '1\n')
    (folder / 'cover.label').write_text('8\n' * 5 + '0\n')
    (tmp_path / 'GOT-10k' / 'val' / 'list.txt').write_text('GOT-10k_Val_000001\n')
    code = _run('--dataset', str(tmp_path / 'GOT-10k'), '--tracker', 'csrt',
                '--out', str(tmp_path / 'out'), '--workers', '1', '--no-progress')
    assert code == 0
    out = capsys.readouterr().out
    assert '## GOT-10k (got10k)' in out and '| Tracker | AO | SR0.5 | SR0.75 | FPS |' in out
    # a static scene is tracked exactly; the absent last frame is left out, not a failure
    assert '| csrt | 1.000 | 1.000 | 1.000 |' in out
    result = tmp_path / 'out' / 'results' / 'GOT-10k' / 'csrt' / 'GOT-10k_Val_000001'
    assert (result / 'GOT-10k_Val_000001_001.txt').read_text().startswith('40.000,30.000,')


def test_resuming_with_other_weights_is_refused(sot_dir, tmp_path, capsys):
    clip = copy_clip(sot_dir, 'vot15_ball1', tmp_path / 'vot15_ball1', 12)
    args = ('--dataset', str(clip), '--tracker', 'siamfc', '--out', str(tmp_path / 'out'),
            '--workers', '1', '--no-progress')
    assert _run(*args, '--weights', 'none') == 0
    capsys.readouterr()
    assert _run(*args) == 2            # the shipped default weights, same --out
    err = capsys.readouterr().err
    assert 'made with weights' in err and 'use a fresh --out' in err
    assert _run(*args, '--weights', 'none') == 0   # the same weights resume
