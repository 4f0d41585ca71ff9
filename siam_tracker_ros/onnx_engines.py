"""Running exported ONNX branches on onnxruntime, behind the network contract.

`OnnxNetwork` has a network's `template` / `search` / `head` with torch tensors in and out, so
`runtime.NetworkRunner` runs it like the torch module (backend `onnx`, fp32). OpenVINO was
measured as a second engine and was slower here (docs/export.md).
"""
import json
from pathlib import Path

import torch
import torch.nn as nn

from siam_tracker_ros.onnx_export import BRANCHES, OUTPUT_NAMES, branch_onnx, flat

ENGINES = {'onnx': 'onnxruntime'}   # backend -> the Python package that runs the graphs


class EngineMissing(ValueError):
    """The package of an ONNX engine is not installed, or cannot run on the device."""


def import_engine(backend: str, device: torch.device):
    """The engine's module; EngineMissing when it is not installed or cannot use `device`."""
    try:
        engine = __import__(ENGINES[backend])
    except ImportError:
        raise EngineMissing(f'the {backend} backend needs {ENGINES[backend]}: '
                            f"pip install 'siam_tracker_ros[onnx]'") from None
    if provider(device) not in engine.get_available_providers():
        raise EngineMissing(f'{ENGINES[backend]} here has no {provider(device)} for {device}')
    return engine


def provider(device: torch.device) -> str:
    return 'CUDAExecutionProvider' if device.type == 'cuda' else 'CPUExecutionProvider'


def session(backend: str, data: bytes, device: torch.device, outputs: list):
    """A function {input name: array} -> [output arrays] running ONNX graph `data`, with
    torch's CPU thread count."""
    engine = import_engine(backend, device)
    options = engine.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = torch.get_num_threads(), 1
    # no busy-waiting threads between calls: they would compete with the decode for the cores
    options.add_session_config_entry('session.intra_op.allow_spinning', '0')
    runner = engine.InferenceSession(data, options, providers=[provider(device)])
    return lambda feeds: runner.run(outputs, feeds)


class OnnxNetwork:
    """A network's template / search / head run by an ONNX engine (`backend`: onnx), same
    contract, torch tensors in and out. Each branch is exported on its first call, from the
    inputs' shapes (again for other shapes); fp32 only."""

    def __init__(self, net: nn.Module, device: torch.device, backend: str = 'onnx'):
        import_engine(backend, device)
        self.source, self.device, self.backend = net.eval(), device, backend
        self.stride = getattr(net, 'stride', None)
        self._sessions = {}

    def template(self, z):
        return self._run('template', {'z': z})

    def search(self, x):
        return self._run('search', {'x': x})

    def head(self, kernel, features):
        return self._run('head', {'kernel': kernel, 'features': features})

    def _run(self, branch: str, inputs: dict):
        tensors = [t for v in inputs.values() for t in flat(v)]
        key = (branch,) + tuple(tuple(t.shape) for t in tensors)
        if key not in self._sessions:
            host = {k: _map(v, lambda t: t.detach().float().cpu()) for k, v in inputs.items()}
            graph = branch_onnx(self.source.cpu(), branch, host)
            self.source.to(self.device)
            run = session(self.backend, graph.data, self.device, graph.outputs)
            self._sessions[key] = (run, graph.inputs, graph.outputs)
        run, names, outputs = self._sessions[key]
        feeds = {n: t.detach().float().contiguous().cpu().numpy() for n, t in zip(names, tensors)}
        values = [torch.from_numpy(v).to(self.device) for v in run(feeds)]
        return values[0] if outputs == [OUTPUT_NAMES[branch]] else tuple(values)


def _map(value, function):
    return function(value) if torch.is_tensor(value) else tuple(function(v) for v in value)


def run_export(out_dir, z, x, backend: str = 'onnx') -> list:
    """The maps (numpy arrays) of the exported files in `out_dir` for a template input `z`
    and a search batch `x`: template and search sessions, then the head on their outputs."""
    out = Path(out_dir)
    graphs = json.loads((out / 'network.json').read_text())['graphs']
    values = {'z': z.numpy(), 'x': x.numpy()}
    for branch in BRANCHES:
        spec = graphs[branch]
        run = session(backend, (out / spec['file']).read_bytes(), torch.device('cpu'),
                      spec['outputs'])
        values.update(zip(spec['outputs'], run({n: values[n] for n in spec['inputs']})))
    return [values[n] for n in graphs['head']['outputs']]
