"""Start-up parameters: bad values stop the node with one clear fatal line (exit code 1);
the precision and backend parameters reach the tracker."""
import pytest

from rostest_support import NodeProcess, node_command


@pytest.mark.parametrize('param, text', [
    ('precision:=fp8', "precision must be one of"),
    ('backend:=jit', "backend must be one of"),
    ('tracker:=no_such_tracker', "unknown tracker 'no_such_tracker'"),
])
def test_bad_parameter_exits_with_a_clear_error(tmp_path, param, text):
    node = NodeProcess(node_command('-p', param), tmp_path / 'node.log')
    code = node.proc.wait(60)
    node.stop()
    log = node.log()
    assert code == 1, log
    assert text in log and 'FATAL' in log, log
    assert 'Traceback' not in log, log


def test_bf16_precision_is_used(start_node):
    node = start_node('-p', 'precision:=bf16', '-p', 'backend:=eager')
    assert 'eager/bf16' in node.log()
