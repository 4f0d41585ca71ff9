"""ONNX export of a tracker network's three branches, and running them on onnxruntime.

The network contract (docs/architecture.md) splits every tracker network into
`template(z) -> kernel`, `search(x) -> features` and `head(kernel, features) -> maps`; each
becomes one ONNX graph. Kernels, features and maps may be tensors or tuples of tensors: a tuple
becomes inputs/outputs `name.0`, `name.1`, ... The search batch (e.g. the scale pyramid) is a
dynamic axis; the kernel batch is fixed at one: one template shared by the whole search batch,
as a tracker uses it. docs/export.md describes the files and the preprocessing.
"""
import inspect
import io
import json
import warnings
from pathlib import Path

import torch
import torch.nn as nn

OPSET = 17
BRANCHES = ('template', 'search', 'head')


class OnnxExportError(ValueError):
    """A network (or one of its branches) that the ONNX exporter cannot express."""


class OnnxRuntimeMissing(ValueError):
    """onnxruntime is not installed (pip install 'siam_tracker_ros[onnx]')."""


def flat(value) -> list:
    """A tensor or a tuple of tensors as a list of tensors."""
    if torch.is_tensor(value):
        return [value]
    if isinstance(value, (tuple, list)) and all(torch.is_tensor(v) for v in value):
        return list(value)
    raise OnnxExportError(f'expected a tensor or a tuple of tensors, got {type(value).__name__}')


def tensor_names(name: str, value) -> list:
    """`name` for a tensor, `name.0`, `name.1`, ... for a tuple."""
    return [name] if torch.is_tensor(value) else [f'{name}.{i}' for i in range(len(value))]


def rebuild(tensors: list, like):
    """Tensors in the structure of `like` (a tensor, or a tuple of as many)."""
    return tensors[0] if torch.is_tensor(like) else tuple(tensors)


OUTPUT_NAMES = {'template': 'kernel', 'search': 'features', 'head': 'maps'}


class Branch(nn.Module):
    """One branch of a network (`template`, `search` or `head`) as a module of flat tensors:
    its inputs, in the structure of `likes` ({name: tensor or tuple}), flattened in order."""

    def __init__(self, net: nn.Module, branch: str, likes: dict):
        super().__init__()
        self.net, self.branch, self.likes = net, branch, likes

    def forward(self, *tensors):
        args, start = [], 0
        for like in self.likes.values():
            count = len(flat(like))
            args.append(rebuild(list(tensors[start:start + count]), like))
            start += count
        return tuple(flat(getattr(self.net, self.branch)(*args)))


def branch_onnx(net: nn.Module, branch: str, inputs: dict) -> tuple:
    """(ONNX bytes, input names, output names) of one branch traced on `inputs` ({name:
    tensor or tuple}, in call order). The batch axis is dynamic except for the template
    branch and the kernel (one template per search batch)."""
    names = [n for name, value in inputs.items() for n in tensor_names(name, value)]
    tensors = [t for value in inputs.values() for t in flat(value)]
    module = Branch(net, branch, inputs).eval()
    with torch.no_grad():
        outputs = getattr(net, branch)(*inputs.values())
    output_names = tensor_names(OUTPUT_NAMES[branch], outputs)
    dynamic = {} if branch == 'template' else \
        {n: {0: 'batch'} for n in names + output_names if not n.startswith('kernel')}
    buffer = io.BytesIO()
    options = {'dynamo': False} if 'dynamo' in inspect.signature(torch.onnx.export).parameters \
        else {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # tracer and exporter deprecation notices
            torch.onnx.export(module, tuple(tensors), buffer, input_names=names,
                              output_names=output_names, dynamic_axes=dynamic,
                              opset_version=OPSET, do_constant_folding=True, **options)
    except Exception as err:  # noqa: BLE001  (any exporter failure names the branch)
        raise OnnxExportError(f'cannot export the {branch} branch to ONNX: '
                              f'{type(err).__name__}: {err}') from None
    return buffer.getvalue(), names, output_names


def export_network(net: nn.Module, z: torch.Tensor, x: torch.Tensor) -> dict:
    """{branch: (ONNX bytes, input names, output names)} of the three branches, traced on a
    template input `z` (1×3×Z×Z) and a search input `x` (N×3×X×X)."""
    net = net.eval()
    with torch.no_grad():
        kernel, features = net.template(z), net.search(x)
    graphs = {}
    for branch, inputs in (('template', {'z': z}), ('search', {'x': x}),
                           ('head', {'kernel': kernel, 'features': features})):
        graphs[branch] = branch_onnx(net, branch, inputs)
    return graphs


def session(data: bytes, device: torch.device):
    """An onnxruntime session of an ONNX graph, with torch's CPU thread count."""
    ort = import_onnxruntime()
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    options.inter_op_num_threads = 1
    provider = 'CUDAExecutionProvider' if device.type == 'cuda' else 'CPUExecutionProvider'
    if provider not in ort.get_available_providers():
        raise OnnxRuntimeMissing(f'onnxruntime here has no {provider}')
    return ort.InferenceSession(data, options, providers=[provider])


def import_onnxruntime():
    try:
        import onnxruntime
    except ImportError:
        raise OnnxRuntimeMissing("the onnx backend needs onnxruntime: "
                                 "pip install 'siam_tracker_ros[onnx]'") from None
    return onnxruntime


class OnnxNetwork:
    """A network's template / search / head run by onnxruntime sessions, same contract and
    torch tensors in and out. Each branch is exported on its first call, from the inputs'
    shapes (again if they change); fp32 only."""

    def __init__(self, net: nn.Module, device: torch.device):
        import_onnxruntime()
        self.source, self.device = net.eval(), device
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
        key = (branch,) + tuple(tuple(t.shape[1:]) for t in tensors)
        if key not in self._sessions:
            host = {k: _map(v, lambda t: t.detach().float().cpu()) for k, v in inputs.items()}
            data, names, outputs = branch_onnx(self.source.cpu(), branch, host)
            self.source.to(self.device)
            self._sessions[key] = (session(data, self.device), names, outputs)
        runner, names, outputs = self._sessions[key]
        feeds = {n: t.detach().float().contiguous().cpu().numpy() for n, t in zip(names, tensors)}
        values = [torch.from_numpy(v).to(self.device) for v in runner.run(outputs, feeds)]
        return values[0] if outputs == [OUTPUT_NAMES[branch]] else tuple(values)


def _map(value, function):
    return function(value) if torch.is_tensor(value) else tuple(function(v) for v in value)


def write_export(graphs: dict, out_dir, metadata: dict) -> list:
    """Write template.onnx, search.onnx, head.onnx and network.json (the I/O names and
    `metadata`) into `out_dir`; return the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths, io_names = [], {}
    for branch in BRANCHES:
        data, inputs, outputs = graphs[branch]
        path = out / f'{branch}.onnx'
        path.write_bytes(data)
        paths.append(path)
        io_names[branch] = {'file': path.name, 'inputs': inputs, 'outputs': outputs}
    manifest = out / 'network.json'
    manifest.write_text(json.dumps(dict(metadata, opset=OPSET, graphs=io_names), indent=2) + '\n')
    return paths + [manifest]


def run_export(out_dir, z, x) -> list:
    """The maps (numpy arrays) of the exported files in `out_dir` for a template input `z`
    and a search batch `x`: template and search sessions, then the head on their outputs."""
    out = Path(out_dir)
    graphs = json.loads((out / 'network.json').read_text())['graphs']
    values = {'z': z.numpy(), 'x': x.numpy()}
    for branch in BRANCHES:
        spec = graphs[branch]
        runner = session((out / spec['file']).read_bytes(), torch.device('cpu'))
        outputs = runner.run(spec['outputs'], {n: values[n] for n in spec['inputs']})
        values.update(zip(spec['outputs'], outputs))
    return [values[n] for n in graphs['head']['outputs']]
