"""Start-up parameters: bad values or types stop the node with one clear fatal line (exit code
1); the precision and backend parameters reach the tracker; random init is spelled `none` (or
''); `device: cuda` without a GPU is a ROS warning; the documented `ros2 run` line works from
any directory (issue 14 items 2, 4, 5, 6)."""
import re
import shlex

import pytest

from siam_tracker_ros.ros.workspace import installed_prefix

from rostest_support import NodeProcess, node_command


def _exit_log(tmp_path, command) -> str:
    node = NodeProcess(command, tmp_path / 'node.log')
    code = node.proc.wait(60)
    node.stop()
    log = node.log()
    assert code == 1, log
    assert 'Traceback' not in log, log
    fatal = [line for line in log.splitlines() if 'FATAL' in line]
    assert len(fatal) == 1, log
    return fatal[0]


@pytest.mark.parametrize('param, text', [
    ('precision:=fp8', "precision must be one of"),
    ('backend:=jit', "backend must be one of"),
    ('tracker:=no_such_tracker', "unknown tracker 'no_such_tracker'"),
    ('siamfc.lost_frames:=2.5', "parameter 'siamfc.lost_frames' must be of type int"),
])
def test_bad_parameter_exits_with_a_clear_error(tmp_path, param, text):
    assert text in _exit_log(tmp_path, node_command('-p', param))


def test_wrongly_typed_params_file_exits_with_one_fatal_line(tmp_path):
    params = installed_prefix() / 'share' / 'siam_tracker_ros' / 'config' / 'tracker.yaml'
    text = params.read_text()
    assert 'buffer_length: 30 ' in text
    bad = tmp_path / 'bad.yaml'
    bad.write_text(text.replace('buffer_length: 30 ', 'buffer_length: 60.0 '))
    line = _exit_log(tmp_path, node_command(params_file=bad))
    assert "parameter 'buffer_length' must be of type int" in line and '60.0' in line


def test_bf16_precision_is_used(start_node):
    node = start_node('-p', 'precision:=bf16', '-p', 'backend:=eager')
    assert 'eager/bf16' in node.log()


def test_empty_weights_still_mean_random_init(start_node):
    node = start_node('-p', "weights:=''", '-r', '__node:=siam_tracker_empty_weights')
    assert 'weights: seeded random init' in node.log()
    node.stop()


def test_cuda_without_a_gpu_is_a_ros_warning(start_node):
    node = start_node('-p', 'device:=cuda', '-r', '__node:=siam_tracker_no_gpu',
                      env={'CUDA_VISIBLE_DEVICES': ''})
    log = node.log()
    assert re.search(r'\[WARN\] \[[\d.]+\] \[siam_tracker_no_gpu\]: cuda requested but only 0 '
                     r'CUDA device\(s\); using cpu', log), log
    assert 'UserWarning' not in log and '.py:' not in log, log
    assert 'on device cpu' in log
    node.stop()


def test_documented_ros2_run_line_works_from_any_directory(repo_root, tmp_path, start_node):
    docs = (repo_root / 'docs' / 'ros.md').read_text()
    line = next(line for line in docs.splitlines() if line.startswith('ros2 run '))
    prefix = str(installed_prefix())
    line = line.replace('$(ros2 pkg prefix siam_tracker_ros)', prefix)
    words = shlex.split(line)
    assert words[:4] == ['ros2', 'run', 'siam_tracker_ros', 'tracker_node']
    command = [f'{prefix}/lib/siam_tracker_ros/tracker_node', *words[4:], '-p', 'weights:=none']
    node = start_node(command=command, cwd=tmp_path)  # not the repository root
    assert 'ready on /camera/image_raw' in node.log()
    node.stop()
