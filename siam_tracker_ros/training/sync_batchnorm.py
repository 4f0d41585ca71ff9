"""BatchNorm over the whole batch of several training processes.

With DistributedDataParallel each process sees only its share of the batch, so a plain
BatchNorm layer in training mode would normalise by the share's statistics. Distributed
training converts every BatchNorm layer: to torch's `nn.SyncBatchNorm` on CUDA, and to
`CpuSyncBatchNorm` on CPUs (gloo), since torch's runs on GPUs only.
"""
import torch
import torch.distributed as dist
import torch.nn as nn


class SumOverProcesses(torch.autograd.Function):
    """The sum of a tensor over the processes; its gradient is the gradients' sum, since
    every process's loss depends on the sum."""

    @staticmethod
    def forward(ctx, tensor):
        total = tensor.clone()
        dist.all_reduce(total)
        return total

    @staticmethod
    def backward(ctx, grad):
        total = grad.clone()
        dist.all_reduce(total)
        return total


class CpuSyncBatchNorm(nn.modules.batchnorm._BatchNorm):
    """BatchNorm whose training statistics are the whole batch's, summed over the processes.

    Statistics are exact two-pass sums in float64 (as CPU BatchNorm accumulates), all-reduced
    differentiably, so the output and the gradients are one process's BatchNorm on the whole
    batch. Outside a process group of several, and in eval mode, it is plain BatchNorm.
    """

    def _check_input_dim(self, input):
        if input.dim() < 2:
            raise ValueError(f'expected an input of at least 2 dimensions, got {input.dim()}')

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(input)
        self._check_input_dim(input)
        dims = [0, *range(2, input.dim())]
        shape = [1, -1] + [1] * (input.dim() - 2)
        count = torch.tensor(input.numel() / input.size(1), dtype=torch.float64)
        dist.all_reduce(count)
        mean = SumOverProcesses.apply(input.double().sum(dims)) / count
        centred = input - mean.to(input.dtype).reshape(shape)
        var = SumOverProcesses.apply(centred.double().square().sum(dims)) / count
        self.update_running_stats(mean, var, float(count))
        out = centred * torch.rsqrt(var + self.eps).to(input.dtype).reshape(shape)
        if self.affine:
            out = out * self.weight.reshape(shape) + self.bias.reshape(shape)
        return out

    @torch.no_grad()
    def update_running_stats(self, mean: torch.Tensor, var: torch.Tensor, count: float):
        """Running mean and unbiased variance, as `nn.BatchNorm2d` updates them."""
        if not self.track_running_stats:
            return
        self.num_batches_tracked.add_(1)
        factor = (1.0 / float(self.num_batches_tracked) if self.momentum is None
                  else self.momentum)
        unbiased = var * (count / max(count - 1.0, 1.0))
        self.running_mean.mul_(1 - factor).add_(mean.to(self.running_mean.dtype), alpha=factor)
        self.running_var.mul_(1 - factor).add_(unbiased.to(self.running_var.dtype),
                                               alpha=factor)


def convert_batch_norm(module: nn.Module, sync_class: type) -> nn.Module:
    """`module` with every BatchNorm layer replaced by `sync_class`, sharing its parameters
    and buffers (state-dict keys unchanged, so checkpoints load into plain networks)."""
    if isinstance(module, nn.modules.batchnorm._BatchNorm) and not isinstance(module,
                                                                             sync_class):
        synced = sync_class(module.num_features, module.eps, module.momentum, module.affine,
                            module.track_running_stats)
        if module.affine:
            synced.weight, synced.bias = module.weight, module.bias
        if module.track_running_stats:
            synced.running_mean, synced.running_var = module.running_mean, module.running_var
            synced.num_batches_tracked = module.num_batches_tracked
        return synced.train(module.training)
    for name, child in module.named_children():
        module.add_module(name, convert_batch_norm(child, sync_class))
    return module


def sync_class_for(device: torch.device) -> type:
    """torch's SyncBatchNorm on CUDA, `CpuSyncBatchNorm` on the CPU."""
    return nn.SyncBatchNorm if device.type == 'cuda' else CpuSyncBatchNorm
