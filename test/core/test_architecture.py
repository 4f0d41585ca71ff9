"""The package's shape (docs/architecture.md): no import cycle, a leaf registry, and no code
outside trackers/ and models/ that names a particular tracker."""
import ast
from pathlib import Path

from siam_tracker_ros import tracker_names

PACKAGE = Path(__file__).resolve().parents[2] / 'siam_tracker_ros'


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix('').parts
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def imported_modules(path: Path, known: set) -> set:
    """Package modules `path` imports at module level (`from a.b import c` is a.b.c when that
    is a module, else a.b)."""
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found |= {f'{node.module}.{a.name}' if f'{node.module}.{a.name}' in known
                      else node.module for a in node.names}
    return found & known


def core_modules() -> dict:
    paths = [p for p in PACKAGE.rglob('*.py') if 'ros' not in p.relative_to(PACKAGE).parts[:1]]
    return {module_name(p): p for p in paths}


def find_cycle(graph: dict):
    """One import cycle of `graph` as a list of modules, or None."""
    state = {}

    def visit(node, trail):
        state[node] = 'open'
        for other in graph[node]:
            if state.get(other) == 'open':
                return trail[trail.index(other):] + [other]
            if other not in state:
                cycle = visit(other, trail + [other])
                if cycle:
                    return cycle
        state[node] = 'done'
        return None

    for node in graph:
        if node not in state:
            cycle = visit(node, [node])
            if cycle:
                return cycle
    return None


def test_no_import_cycle_and_a_leaf_registry():
    modules = core_modules()
    graph = {name: imported_modules(path, set(modules)) for name, path in modules.items()}
    assert find_cycle(graph) is None, find_cycle(graph)
    assert not any(m.startswith('siam_tracker_ros.trackers') for m in
                   graph['siam_tracker_ros.registry'])


def test_a_cycle_would_be_found():
    assert find_cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}) == ['a', 'b', 'c', 'a']


def test_no_tracker_named_outside_trackers_and_models():
    names = set(tracker_names()) - {'toy'}
    offenders = []
    for path in PACKAGE.rglob('*.py'):
        if path.relative_to(PACKAGE).parts[0] in ('trackers', 'models'):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in names:
                offenders.append(f'{path.relative_to(PACKAGE)}:{node.lineno} {node.value!r}')
    assert not offenders, offenders
