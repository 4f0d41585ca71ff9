"""ONNX export of a tracker network's three branches (run by `onnx_engines.py`).

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
from typing import NamedTuple

import torch
import torch.nn as nn

OPSET = 17
BRANCHES = ('template', 'search', 'head')


class OnnxExportError(ValueError):
    """A network (or one of its branches) that the ONNX exporter cannot express."""


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


class Graph(NamedTuple):
    """One exported branch: the ONNX bytes, its input and output names, whether the batch axis
    is dynamic, and each input's and output's shape as traced ('batch' where dynamic)."""

    data: bytes
    inputs: list
    outputs: list
    dynamic_batch: bool
    shapes: dict


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


def branch_onnx(net: nn.Module, branch: str, inputs: dict) -> Graph:
    """One branch traced on `inputs` ({name: tensor or tuple}, in call order). The batch axis
    is dynamic except for the template branch and the kernel (one template per search batch);
    a branch the exporter cannot express with a dynamic batch (a reshape of batch × channels
    into conv groups) is exported again with the batch of `inputs` fixed."""
    try:
        return _branch_onnx(net, branch, inputs, branch != 'template')
    except OnnxExportError:
        if branch == 'template':
            raise
        return _branch_onnx(net, branch, inputs, False)


def _branch_onnx(net: nn.Module, branch: str, inputs: dict, dynamic_batch: bool) -> Graph:
    names = [n for name, value in inputs.items() for n in tensor_names(name, value)]
    tensors = [t for value in inputs.values() for t in flat(value)]
    module = Branch(net, branch, inputs).eval()
    with torch.no_grad():
        outputs = getattr(net, branch)(*inputs.values())
    output_names = tensor_names(OUTPUT_NAMES[branch], outputs)
    dynamic = {} if not dynamic_batch else \
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
    shapes = {n: ['batch' if n in dynamic else t.shape[0]] + list(t.shape[1:])
              for n, t in zip(names + output_names, tensors + flat(outputs))}
    return Graph(buffer.getvalue(), names, output_names, dynamic_batch, shapes)


def export_network(net: nn.Module, z: torch.Tensor, x: torch.Tensor) -> dict:
    """{branch: Graph} of the three branches, traced on a template input `z` (1×3×Z×Z) and
    a search input `x` (N×3×X×X)."""
    net = net.eval()
    with torch.no_grad():
        kernel, features = net.template(z), net.search(x)
    graphs = {}
    for branch, inputs in (('template', {'z': z}), ('search', {'x': x}),
                           ('head', {'kernel': kernel, 'features': features})):
        graphs[branch] = branch_onnx(net, branch, inputs)
    return graphs


def write_export(graphs: dict, out_dir, metadata: dict) -> list:
    """Write template.onnx, search.onnx, head.onnx and network.json (the I/O names and
    `metadata`) into `out_dir`; return the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths, io_names = [], {}
    for branch in BRANCHES:
        graph = graphs[branch]
        path = out / f'{branch}.onnx'
        path.write_bytes(graph.data)
        paths.append(path)
        io_names[branch] = {'file': path.name, 'inputs': graph.inputs,
                            'outputs': graph.outputs, 'dynamic_batch': graph.dynamic_batch,
                            'shapes': graph.shapes}
    manifest = out / 'network.json'
    manifest.write_text(json.dumps(dict(metadata, opset=OPSET, graphs=io_names), indent=2) + '\n')
    return paths + [manifest]

