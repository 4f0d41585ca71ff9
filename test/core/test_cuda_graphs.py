"""The CUDA-graph backend's bookkeeping, on CPU tensors: which calls share a graph (the input
signature) and how inputs are held and refilled. The capture and replay themselves need CUDA
(test_cuda.py, `cuda`-marked)."""
import torch

from siam_tracker_ros.cuda_graphs import copy_into, signature, static_copy


def test_the_signature_separates_what_a_graph_cannot_take():
    x = torch.randn(3, 3, 31, 31)
    last = x.contiguous(memory_format=torch.channels_last)
    assert signature(x) == signature(torch.randn(3, 3, 31, 31))
    assert signature(x) != signature(last)                       # another memory layout
    assert signature(x) != signature(x.half())                   # another dtype
    assert signature(x) != signature(torch.randn(6, 3, 31, 31))  # two targets' crops
    kernel = (torch.randn(1, 256, 4, 4), torch.randn(1, 512, 4, 4))
    assert signature(kernel) == signature(tuple(torch.zeros_like(k) for k in kernel))
    assert signature(kernel) != signature(kernel[:1])


def test_static_inputs_keep_the_layout_and_are_refilled_in_place():
    x = torch.randn(2, 3, 8, 8).contiguous(memory_format=torch.channels_last)
    held = static_copy(x)
    assert held.stride() == x.stride() and torch.equal(held, x)
    assert held.data_ptr() != x.data_ptr()
    kernel = (torch.randn(1, 4, 3, 3), torch.randn(1, 8, 3, 3))
    held_kernel = static_copy(kernel)
    pointers = [k.data_ptr() for k in held_kernel]
    fresh = tuple(torch.randn_like(k) for k in kernel)
    copy_into(held_kernel, fresh)
    assert all(torch.equal(a, b) for a, b in zip(held_kernel, fresh))
    assert [k.data_ptr() for k in held_kernel] == pointers     # the graph's own memory
