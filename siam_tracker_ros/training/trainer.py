"""The generic trainer: epochs of sampled pairs, checkpoints with resume, logs, validation.

Outputs in `<out_dir>/<name>/`: `last.pt` (resume), `best.pt` (best validation AUC),
`best_weights.pt` (fp16 weights in the tracker format), `epochs.csv`, `steps.csv`,
`loss_curve.png`, and `config.yaml` (the resolved config).

Under `torchrun` (WORLD_SIZE > 1) each process builds its share of every global batch and
trains the network inside DistributedDataParallel (`training/distributed.py`); rank 0 alone
logs, validates and writes, and every process resumes from `last.pt`.
"""
import contextlib
import dataclasses
import math
import random
import time
from pathlib import Path

import numpy as np
import torch
import yaml
from tqdm import tqdm

from siam_tracker_ros.data.media import SkipCounter
from siam_tracker_ros.runtime import resolve_device
from siam_tracker_ros.training import checkpoint, distributed, logs
from siam_tracker_ros.registry import get_entry
from siam_tracker_ros.training.data import build_mixture
from siam_tracker_ros.training.batches import EpochBatches, on_device, worker_batches
from siam_tracker_ros.training.models import (apply_unfreeze, build_net, frozen_modules,
                                              input_format, pretrained_modules,
                                              thawed_modules)
from siam_tracker_ros.training.schedule import build_optimizer, epoch_lr, set_lr

AMP_DTYPES = {'bf16': torch.bfloat16, 'fp16': torch.float16, 'none': None}


def amp_dtype(mode: str, device: torch.device):
    """The autocast dtype of config `amp` on `device` (None: fp32; the CPU ignores amp)."""
    return AMP_DTYPES[mode] if device.type == 'cuda' else None


class Trainer:
    """Runs a TrainConfig; `run(resume)` returns the best validation AUC (NaN without val).

    `world` (default: torchrun's environment) says which process this is; `net` is the
    network, `model` what the losses call (`net` inside DDP when there are several).
    """

    def __init__(self, config, out_dir=None, progress: bool = True, world=None):
        self.config = config
        self.world = world or distributed.world_from_env()
        self.objective = get_entry(config.tracker).objective
        distributed.check_world(config, self.objective, self.world)
        self.out = Path(out_dir or Path(config.out_dir) / config.name)
        self.progress = progress and self.world.is_main
        if config.threads:
            torch.set_num_threads(config.threads)
        torch.manual_seed(config.seed)
        self.device = distributed.process_device(resolve_device(config.device), self.world)
        self.skipped = SkipCounter()
        self.mixture = build_mixture(config.data, self.skipped)
        self.net = build_net(config).to(self.device)
        self.thawed = thawed_modules(self.net, config)
        distributed.start(self.world, self.device)
        self.model = distributed.wrap(self.net, self.world, self.device)
        self.optimizer = build_optimizer(self.net.parameters(), config,
                                         [p for m in self.thawed for p in m.parameters()])
        self.input_format = input_format(config)
        self.share = distributed.share(config.batch_size, self.world)
        self.amp = amp_dtype(config.amp, self.device)
        self.scaler = torch.amp.GradScaler('cuda', enabled=self.amp == torch.float16)
        self.best_auc, self.history, self.start_epoch = -math.inf, [], 0

    def resume(self) -> None:
        """Continue after the last finished epoch in `last.pt`."""
        state = checkpoint.load_checkpoint(self.out / 'last.pt', self.net, self.optimizer)
        self.start_epoch = state['epoch'] + 1
        self.best_auc, self.history = state['best_auc'], list(state['history'])

    def train_mode(self) -> None:
        self.net.train()
        fixed = frozen_modules(self.net, self.config.freeze_modules) + self.thawed
        if self.config.freeze_bn:
            fixed += pretrained_modules(self.net)
        for module in fixed:
            module.eval()

    def make_batch(self, epoch: int, step: int):
        """This process's share of the global batch of (epoch, step), built by the tracker's
        objective from per-sample streams seeded by (seed, epoch, step, sample index)."""
        return on_device(self.epoch_batches(epoch, step + 1)[step][0], self.device)

    def batches(self, epoch: int, steps: int):
        """The epoch's batches in step order: made here, or ahead by `data.workers`
        processes (the same batches, `training/batches.py`)."""
        workers = self.config.data.workers
        if not workers:
            return (self.make_batch(epoch, step) for step in range(steps))
        return worker_batches(self.epoch_batches(epoch, steps), workers, self.device)

    def epoch_batches(self, epoch: int, steps: int) -> EpochBatches:
        """The first `steps` batches of `epoch`, each made on demand on the CPU."""
        return EpochBatches(self.objective, self.mixture, self.skipped,
                            (self.config.seed, epoch), self.share, self.input_format, steps)

    def autocast(self):
        """Mixed precision per config `amp` on CUDA; nothing on the CPU."""
        if self.amp is None:
            return contextlib.nullcontext()
        return torch.autocast('cuda', dtype=self.amp)

    def step(self, batch) -> float:
        """One optimiser step on `batch`; returns the global batch's loss."""
        with self.autocast():
            loss = self.objective.loss(self.model, batch, self.config)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if self.config.grad_clip:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.net.parameters(), self.config.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return distributed.mean_over_processes(float(loss.detach()), self.device)

    def train_epoch(self, epoch: int) -> float:
        """One epoch of `pairs_per_epoch` pairs; batches from (seed, epoch, step) streams."""
        cfg = self.config
        random.seed(cfg.seed * 1000 + epoch)
        distributed.seed_process(cfg.seed, epoch, self.world)
        set_lr(self.optimizer, epoch_lr(epoch, cfg.epochs, cfg.lr_start, cfg.lr_end))
        if self.objective.start_epoch is not None:
            self.objective.start_epoch(self.net, epoch, cfg)
        if apply_unfreeze(self.thawed, epoch, cfg) and self.world.distributed:
            self.model = distributed.wrap(self.net, self.world, self.device)  # DDP: new params
        self.train_mode()
        steps = cfg.pairs_per_epoch // cfg.batch_size
        losses = []
        bar = tqdm(range(steps), desc=f'epoch {epoch + 1}/{cfg.epochs}', disable=not self.progress)
        for index, batch in zip(bar, self.batches(epoch, steps)):
            losses.append(self.step(batch))
            if self.world.is_main:
                logs.append_csv(self.out / 'steps.csv', ('epoch', 'step', 'loss'),
                                {'epoch': epoch, 'step': index, 'loss': f'{losses[-1]:.5f}'})
            bar.set_postfix(loss=f'{np.mean(losses[-50:]):.4f}')
        return float(np.mean(losses))

    def validate(self, epoch: int) -> float:
        """Dev-set mean success AUC (NaN when no validation root is configured); rank 0
        validates and every process gets its score."""
        val = self.config.val
        if not val.root or (epoch + 1) % val.every and epoch + 1 != self.config.epochs:
            return float('nan')
        auc = self.validate_here() if self.world.is_main else float('nan')
        return distributed.from_main(auc, self.device)

    def validate_here(self) -> float:
        """Dev-set mean success AUC of this process's network."""
        from siam_tracker_ros.training.validate import evaluate, load_sequences, tracker_for
        sequences = load_sequences(self.config.val.root, self.config.val.max_frames)
        tracker = tracker_for(self.net, self.input_format, self.config.tracker,
                              self.config.tracker_settings)
        scores = evaluate(tracker, sequences)
        return scores['mean']

    def finish_epoch(self, epoch: int, loss: float, auc: float, seconds: float) -> None:
        """Keep the best score; rank 0 logs, checkpoints, exports the best weights and redraws
        the curves while the other processes wait."""
        cfg = self.config
        row = {'epoch': epoch + 1, 'lr': f'{self.optimizer.param_groups[0]["lr"]:.3e}',
               'train_loss': f'{loss:.5f}', 'val_auc': f'{auc:.4f}',
               'pairs': cfg.pairs_per_epoch, 'skipped': self.skipped.count,
               'seconds': f'{seconds:.1f}'}
        self.history.append(row)
        score = auc if not math.isnan(auc) else -loss
        improved = score > self.best_auc
        if improved:
            self.best_auc = score
        if self.world.is_main:
            self.write_epoch(epoch, row, improved, loss, auc)
        distributed.barrier(self.world)

    def write_epoch(self, epoch: int, row: dict, improved: bool, loss: float, auc: float):
        """epochs.csv, `best.pt` and `best_weights.pt` when improved, `epoch_N_weights.pt`
        with `keep_epochs`, `last.pt`, the curves."""
        cfg = self.config
        logs.append_csv(self.out / 'epochs.csv', logs.EPOCH_FIELDS, row)
        meta = {'run': cfg.name, 'epoch': epoch + 1, 'val_auc': auc, 'train_loss': loss}
        if improved:
            checkpoint.save_checkpoint(self.out / 'best.pt', self.net, self.optimizer, epoch,
                                       self.best_auc, self.history)
            checkpoint.export_weights(self.out / 'best_weights.pt', self.net, cfg,
                                      self.input_format, meta)
        if cfg.keep_epochs:
            checkpoint.export_weights(self.out / f'epoch_{epoch + 1}_weights.pt', self.net, cfg,
                                      self.input_format, meta)
        checkpoint.save_checkpoint(self.out / 'last.pt', self.net, self.optimizer, epoch,
                                   self.best_auc, self.history)
        logs.plot_curves(self.out)

    def run(self, resume: bool = False) -> float:
        if resume:   # first: a bad last.pt leaves the run folder as it was
            self.resume()
        if self.world.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            (self.out / 'config.yaml').write_text(yaml.safe_dump(
                {'train': _plain(dataclasses.asdict(self.config))}, sort_keys=False))
        for epoch in range(self.start_epoch, self.config.epochs):
            start = time.time()
            loss = self.train_epoch(epoch)
            auc = self.validate(epoch)
            self.finish_epoch(epoch, loss, auc, time.time() - start)
            if self.world.is_main:
                print(f'epoch {epoch + 1}: loss {loss:.4f} val AUC {auc:.4f} '
                      f'skipped {self.skipped.count} ({time.time() - start:.0f} s)', flush=True)
        return self.best_auc


def _plain(value):
    """Tuples → lists for YAML."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
