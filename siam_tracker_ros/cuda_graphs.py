"""The per-frame network call replayed from CUDA graphs (backend `graphs`, CUDA only).

A tracker's frame call, head(kernel, search(x)), has static shapes while one target is tracked
(the kernel's and the crops'), so it is captured once per shape signature and replayed: one
launch instead of one per kernel. Inputs are copied into the graph's own tensors before a
replay, and the outputs are cloned after it, so a caller may keep them while the next frame
runs. A new signature (another search size, a batch of several targets) captures another
graph, up to `limit`; beyond that the call runs as it is.
"""
import torch

from siam_tracker_ros.runtime import map_tensors

WARMUP_CALLS = 3


def signature(value) -> tuple:
    """Shapes, dtypes and memory layout of a tensor or a tuple of them."""
    if torch.is_tensor(value):
        layout = value.is_contiguous(memory_format=torch.channels_last) if value.dim() == 4 \
            else True
        return (tuple(value.shape), value.dtype, layout)
    return tuple(signature(v) for v in value)


def static_copy(value):
    """A tensor (or tuple) with the same shape, dtype and strides, holding the same values."""
    return map_tensors(lambda t: torch.empty_strided(t.shape, t.stride(), dtype=t.dtype,
                                                     device=t.device).copy_(t), value)


def copy_into(static, value) -> None:
    """Copy a tensor (or tuple) into the graph's input of the same signature."""
    if torch.is_tensor(static):
        static.copy_(value)
        return
    for s, v in zip(static, value):
        copy_into(s, v)


class GraphedCall:
    """`function(kernel, x)` on CUDA tensors, replayed from one captured graph per input
    signature."""

    def __init__(self, function, limit: int = 8):
        self.function, self.limit = function, limit
        self.graphs = {}

    def __call__(self, kernel, x):
        key = (signature(kernel), signature(x))
        if key not in self.graphs:
            if len(self.graphs) >= self.limit:
                return self.function(kernel, x)
            self.graphs[key] = self.capture(kernel, x)
        graph, static_kernel, static_x, output = self.graphs[key]
        copy_into(static_kernel, kernel)
        copy_into(static_x, x)
        graph.replay()
        return map_tensors(torch.clone, output)

    def capture(self, kernel, x) -> tuple:
        """(graph, its kernel input, its x input, its output): warm-up calls on a side stream
        (cuDNN picks its algorithms there), then the capture."""
        static_kernel, static_x = static_copy(kernel), static_copy(x)
        stream = torch.cuda.Stream(device=x.device)
        stream.wait_stream(torch.cuda.current_stream(x.device))
        with torch.cuda.stream(stream):
            for _ in range(WARMUP_CALLS):
                self.function(static_kernel, static_x)
        torch.cuda.current_stream(x.device).wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            output = self.function(static_kernel, static_x)
        return graph, static_kernel, static_x, output
