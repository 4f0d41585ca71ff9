"""`siam-track` on bad input and interruptions: one `siam-track: error:` line and exit 2, checks
before the long work, nothing half-written, Ctrl-C and the first error stop `eval` at once."""
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from siam_tracker_ros.cli.main import build_parser, main
from siam_tracker_ros.models.weights import default_weights

from tiny_data import copy_clip

CLIPS = ('otb_Crossing', 'otb_Bird2')
SIGINT_GUARD_S = 300   # only a guard against a hung child, never a pass/fail threshold


def corrupt_frame(clip, number):
    """Truncate frame `number` (1-based) of a copied clip so it cannot be decoded."""
    frame = sorted((clip / 'img').iterdir())[number - 1]
    frame.write_bytes(frame.read_bytes()[:300])


@pytest.fixture
def clip(sot_dir, tmp_path):
    """Six real frames of otb_Crossing."""
    return copy_clip(sot_dir, 'otb_Crossing', tmp_path / 'clip', 6)


def make_dataset(sot_dir, root, count, frames, bad_first=False):
    """`count` real clips of `frames` frames (OTB layout); the first has a corrupt frame 2
    when `bad_first`."""
    for index in range(count):
        copy_clip(sot_dir, CLIPS[index % 2], root / f'seq{index:02d}', frames)
    if bad_first:
        corrupt_frame(root / 'seq00', 2)
    return root


def error_line(err, text):
    """The one `siam-track: error:` line of stderr, checked to hold `text` (no traceback)."""
    lines = [line for line in err.splitlines() if line.startswith('siam-track: error:')]
    assert len(lines) == 1 and 'Traceback' not in err, err
    assert text in lines[0], lines[0]
    return lines[0]


def results_of(out, dataset):
    return sorted((out / 'results' / dataset.name / 'siamfc').glob('*.txt'))


def start_cli(args, tmp_path):
    """`siam-track ARGS` in its own process group (as a shell runs a job), stdio to files."""
    stdout, stderr = open(tmp_path / 'stdout', 'w'), open(tmp_path / 'stderr', 'w')
    process = subprocess.Popen([sys.executable, '-m', 'siam_tracker_ros.cli.main'] + args,
                               stdout=stdout, stderr=stderr, start_new_session=True)
    return process, tmp_path / 'stderr'


def wait_for(condition, process):
    """Poll until `condition()` holds; fail if the process ends first (or hangs)."""
    deadline = time.monotonic() + SIGINT_GUARD_S
    while not condition():
        assert process.poll() is None, 'the command ended before the point to interrupt it'
        assert time.monotonic() < deadline, 'hung'
        time.sleep(0.05)


def interrupt(process):
    """Ctrl-C as a terminal sends it: SIGINT to the whole process group; the exit code."""
    os.killpg(process.pid, signal.SIGINT)
    return process.wait(timeout=SIGINT_GUARD_S)


# A1, A2: eval with workers stops at once


def test_eval_ctrl_c_stops_every_worker_at_once(sot_dir, tmp_path):
    dataset = make_dataset(sot_dir, tmp_path / 'data', count=10, frames=8)
    out = tmp_path / 'out'
    process, stderr = start_cli(['eval', '--dataset', str(dataset), '--tracker', 'siamfc',
                                 '--out', str(out), '--workers', '2', '--no-progress'],
                                tmp_path)
    wait_for(lambda: results_of(out, dataset), process)    # the workers are tracking
    done = len(results_of(out, dataset))
    assert interrupt(process) == 130
    assert 'interrupted' in stderr.read_text() and 'Traceback' not in stderr.read_text()
    # at most the two sequences in flight could still finish; no pending one started
    assert len(results_of(out, dataset)) <= done + 2


def importing_workers(parent):
    """Pids of `parent`'s spawned pool workers that have begun loading torch (a worker is past
    its start-up once it tracks; before, it is importing the package)."""
    pids = []
    for stat in Path('/proc').glob('[0-9]*/stat'):
        try:
            ppid = int(stat.read_text().rsplit(')', 1)[1].split()[1])
            if ppid == parent and 'libtorch' in (stat.parent / 'maps').read_text():
                pids.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue   # the process ended while we looked
    return pids


def test_eval_ctrl_c_while_workers_start_is_quiet(sot_dir, tmp_path):
    """Ctrl-C reaches the whole process group, workers included, also while they still import
    torch (before the pool's initializer runs): they must not print a KeyboardInterrupt."""
    dataset = make_dataset(sot_dir, tmp_path / 'data', count=4, frames=8)
    out = tmp_path / 'out'
    process, stderr = start_cli(['eval', '--dataset', str(dataset), '--tracker', 'siamfc',
                                 '--out', str(out), '--workers', '2', '--no-progress'],
                                tmp_path)
    wait_for(lambda: importing_workers(process.pid) and not results_of(out, dataset), process)
    assert interrupt(process) == 130
    assert 'interrupted' in stderr.read_text() and 'Traceback' not in stderr.read_text(), \
        stderr.read_text()
    assert not results_of(out, dataset)


def test_eval_with_workers_stops_at_the_first_error(sot_dir, tmp_path, capsys):
    dataset = make_dataset(sot_dir, tmp_path / 'data', count=7, frames=8, bad_first=True)
    out = tmp_path / 'out'
    assert main(['eval', '--dataset', str(dataset), '--tracker', 'siamfc', '--out', str(out),
                 '--workers', '2', '--no-progress']) == 2
    error_line(capsys.readouterr().err, '0002.jpg')
    assert len(results_of(out, dataset)) < 6   # not every good sequence ran first


# B3, C11: run's outputs


@pytest.mark.parametrize('where', ['folder', 'below a file'])
def test_run_out_is_checked_before_tracking(clip, tmp_path, capsys, where):
    (tmp_path / 'folder').mkdir()
    (tmp_path / 'file').write_text('keep')
    out = tmp_path / ('folder' if where == 'folder' else 'file/out.txt')
    assert main(['run', '--input', str(clip), '--out', str(out)]) == 2
    err = capsys.readouterr().err
    error_line(err, str(out))
    assert 'tracking' not in err   # no progress bar: nothing was tracked


def test_run_write_error_is_one_line(clip, capsys):
    assert main(['run', '--input', str(clip), '--out', '/dev/full', '--max-frames', '2']) == 2
    error_line(capsys.readouterr().err, 'cannot write /dev/full')


def test_run_leaves_no_partial_video_after_an_error(sot_dir, tmp_path, capsys):
    source = copy_clip(sot_dir, 'otb_Crossing', tmp_path / 'clip', 5)
    corrupt_frame(source, 4)
    out = tmp_path / 'out'
    assert main(['run', '--input', str(source), '--out', str(out / 'r.txt'),
                 '--save-video', str(out / 'v.avi')]) == 2
    error_line(capsys.readouterr().err, '0004.jpg')
    assert not out.exists() or not list(out.iterdir())


def test_run_leaves_no_partial_video_after_ctrl_c(sot_dir, tmp_path):
    source = copy_clip(sot_dir, 'otb_Crossing', tmp_path / 'clip', 120)
    out = tmp_path / 'out'
    process, stderr = start_cli(['run', '--input', str(source), '--out', str(out / 'r.txt'),
                                 '--save-video', str(out / 'v.avi')], tmp_path)
    wait_for(lambda: out.is_dir() and list(out.iterdir()), process)   # the video is open
    assert interrupt(process) == 130
    assert 'interrupted' in stderr.read_text()
    assert not list(out.iterdir())


# B4, B5: eval's checks before the work


def test_eval_report_path_is_checked_before_the_evaluation(clip, tmp_path, capsys):
    (tmp_path / 'file').write_text('keep')
    out = tmp_path / 'out'
    assert main(['eval', '--dataset', str(clip.parent), '--tracker', 'siamfc', '--out',
                 str(out), '--report', str(tmp_path / 'file' / 'rep.md'), '--workers', '1',
                 '--no-progress']) == 2
    error_line(capsys.readouterr().err, 'is a file, not a folder')
    assert not out.exists()


@pytest.mark.parametrize('flag,value,message', [
    ('--tracker', ',,', 'no tracker given'), ('--dataset', ',', 'no dataset given')])
def test_eval_empty_lists_are_errors(clip, tmp_path, capsys, flag, value, message):
    args = {'--dataset': str(clip.parent), '--tracker': 'siamfc', flag: value}
    out = tmp_path / 'out'
    assert main(['eval', '--out', str(out), '--no-progress'] +
                [word for pair in args.items() for word in pair]) == 2
    error_line(capsys.readouterr().err, message)
    assert not (out / 'report.md').exists()


def test_eval_corrupt_run_json_is_named(clip, tmp_path, capsys):
    record = tmp_path / 'out' / 'results' / clip.parent.name / 'siamfc' / 'RUN.json'
    record.parent.mkdir(parents=True)
    record.write_text('{"weights": ')
    assert main(['eval', '--dataset', str(clip.parent), '--tracker', 'siamfc', '--out',
                 str(tmp_path / 'out'), '--no-progress']) == 2
    error_line(capsys.readouterr().err, str(record))


# D12-16, B6, B7: every count flag is a positive integer


@pytest.mark.parametrize('command,flag', [
    ('run', '--max-frames'), ('run', '--threads'), ('eval', '--max-sequences'),
    ('eval', '--workers'), ('calibrate-lost', '--max-sequences'), ('bench', '--frames'),
    ('bench', '--threads'), ('export', '--check-frames')])
@pytest.mark.parametrize('value', ['0', '-1'])
def test_count_flags_must_be_positive(clip, tmp_path, capsys, command, flag, value):
    out = str(tmp_path / 'out')
    base = {'run': ['--input', str(clip), '--out', out],
            'eval': ['--dataset', str(clip.parent), '--tracker', 'siamfc', '--out', out,
                     '--no-progress'],
            'calibrate-lost': ['--select', str(clip.parent), '--cache', out],
            'bench': ['--sequence', str(clip), '--paths', 'fused/fp32'],
            'export': ['--out', out, '--check', str(clip)]}[command]
    with pytest.raises(SystemExit) as exit_info:
        main([command] + base + [f'{flag}={value}'])
    assert exit_info.value.code == 2
    assert f'argument {flag}: must be at least 1, got {value}' in capsys.readouterr().err
    assert not (tmp_path / 'out').exists()


# B8, F20: train


def write_train_config(sot_dir, tmp_path):
    """A tiny siamfc run on two real clips."""
    data = make_dataset(sot_dir, tmp_path / 'train_data', count=2, frames=6)
    path = tmp_path / 'train.yaml'
    path.write_text(f'train:\n  name: tiny\n  tracker: siamfc\n  backbone: alexnet\n'
                    f'  pretrained: false\n  input: raw\n  device: cpu\n  threads: 1\n'
                    f'  epochs: 1\n  pairs_per_epoch: 2\n  batch_size: 2\n'
                    f'  data:\n    datasets: [{{layout: otb, root: {data}}}]\n')
    return path


def garbage(path):
    path.write_bytes(b'not a checkpoint at all')


def weights_file(path):
    shutil.copyfile(default_weights('siamfc'), path)


@pytest.mark.parametrize('last,message', [
    (None, 'not found'), (garbage, 'not a training checkpoint'),
    (weights_file, 'not a training checkpoint')])
def test_train_resume_checks_last_pt_before_writing(sot_dir, tmp_path, capsys, last, message):
    config = write_train_config(sot_dir, tmp_path)
    run = tmp_path / 'run'
    run.mkdir()
    (run / 'config.yaml').write_text('the earlier run\n')
    if last:
        last(run / 'last.pt')
    assert main(['train', '--config', str(config), '--out', str(run), '--resume',
                 '--no-progress']) == 2
    error_line(capsys.readouterr().err, message)
    assert (run / 'config.yaml').read_text() == 'the earlier run\n'


def test_malformed_yaml_is_one_line_naming_file_and_line(tmp_path, capsys):
    config = tmp_path / 'bad.yaml'
    config.write_text('train:\n  name: [1, 2\n  tracker: siamfc\n')
    assert main(['train', '--config', str(config)]) == 2
    err = capsys.readouterr().err
    line = error_line(err, str(config))
    assert 'line ' in line and len(err.strip().splitlines()) == 1


# B9: the onnx backend


@pytest.mark.parametrize('tracker', ['dsiam', 'dastsiam'])
def test_onnx_backend_refused_where_the_step_needs_more(clip, tmp_path, capsys, tracker):
    out = tmp_path / 'r.txt'
    assert main(['run', '--input', str(clip), '--out', str(out), '--tracker', tracker,
                 '--weights', 'none', '--backend', 'onnx', '--max-frames', '3']) == 2
    error_line(capsys.readouterr().err, f'the onnx backend is not available for {tracker}')
    assert not out.exists()


def test_onnx_backend_still_runs_siamfc(clip, tmp_path):
    out = tmp_path / 'r.txt'
    assert main(['run', '--input', str(clip), '--out', str(out), '--backend', 'onnx',
                 '--max-frames', '3']) == 0
    assert len(out.read_text().splitlines()) == 3


# C10: calibrate-lost checks its inputs before tracking


LOST_ONLY = 'top\n<!-- lost-calibration:begin -->\nold\n<!-- lost-calibration:end -->\n'


@pytest.mark.parametrize('extra,message', [
    (['--redetect'], '<!-- redetect:begin -->'), (['--check', '/no/such/data'], '/no/such/data'),
    (['--doc', '/no/such.md'], '--doc /no/such.md')])
def test_calibrate_checks_doc_blocks_and_data_first(clip, tmp_path, capsys, extra, message):
    doc = tmp_path / 'doc.md'
    doc.write_text(LOST_ONLY)
    cache = tmp_path / 'cache'
    assert main(['calibrate-lost', '--select', str(clip.parent), '--cache', str(cache),
                 '--doc', str(doc)] + extra) == 2
    error_line(capsys.readouterr().err, message)
    assert doc.read_text() == LOST_ONLY and not cache.exists()   # nothing tracked or written


# E17, E18, F19: bench


def test_bench_header_counts_the_frames_it_timed(sot_dir, tmp_path, capsys):
    sequence = copy_clip(sot_dir, 'otb_Crossing', tmp_path / 'clip', 4)
    assert main(['bench', '--sequence', str(sequence), '--paths', 'fused/fp32', '--frames',
                 '50', '--threads', '1']) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert ', 3 frames,' in header, header


def test_bench_help_says_what_it_does(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(['bench', '--help'])
    text = ' '.join(capsys.readouterr().out.split())
    assert 'onnx/fp32 when onnxruntime is installed' in text
    assert 'folder that holds --sequence' in text and '--frames and --paths are not used' in text


@pytest.mark.parametrize('extra,message', [
    (['--paths', 'fused/fp32,bogus'], "path 'bogus'"),
    (['--weights', '/no/such.pt'], '/no/such.pt'),
])
def test_bench_checks_before_timing(clip, capsys, extra, message):
    assert main(['bench', '--sequence', str(clip), '--frames', '2', '--paths', 'fused/fp32']
                + extra) == 2
    captured = capsys.readouterr()
    error_line(captured.err, message)
    assert captured.out == ''   # no header, no timed path


def test_export_check_sequence_is_checked_before_export(tmp_path, capsys):
    out = tmp_path / 'export'
    assert main(['export', '--out', str(out), '--check', str(tmp_path / 'nosuch')]) == 2
    error_line(capsys.readouterr().err, 'nosuch')
    assert not out.exists()


# F20: messages and warnings


def test_init_error_names_the_flag(clip, tmp_path, capsys):
    assert main(['run', '--input', str(clip), '--out', str(tmp_path / 'r.txt'),
                 '--init', 'a,b,c,d']) == 2
    error_line(capsys.readouterr().err, "--init must be four numbers x,y,w,h, got 'a,b,c,d'")


def test_init_help_shows_the_negative_number_form(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(['run', '--help'])
    assert '--init=-5,' in capsys.readouterr().out


@pytest.mark.skipif(torch.cuda.is_available(), reason='the warning is for a machine without CUDA')
def test_warnings_are_one_line(clip, tmp_path, capsys):
    assert main(['run', '--input', str(clip), '--out', str(tmp_path / 'r.txt'),
                 '--device', 'cuda', '--max-frames', '2']) == 0
    err = capsys.readouterr().err
    assert 'siam-track: warning: cuda requested but only 0 CUDA device(s); using cpu' in err
    assert 'UserWarning' not in err and 'warnings.warn' not in err


def test_default_weights_that_do_not_exist_are_announced(clip, tmp_path, capsys):
    """Every registered tracker ships weights; the test's plugin tracker has none."""
    import toy_tracker  # noqa: F401  test/plugins: registers 'toy'
    assert default_weights('toy') is None
    assert main(['run', '--input', str(clip), '--out', str(tmp_path / 'r.txt'),
                 '--tracker', 'toy', '--max-frames', '1']) == 0
    assert ('siam-track: warning: no shipped weights for toy: using random weights'
            in capsys.readouterr().err)
