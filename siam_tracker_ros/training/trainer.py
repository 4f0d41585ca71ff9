"""The generic trainer: epochs of sampled pairs, checkpoints with resume, logs, validation.

Outputs in `<out_dir>/<name>/`: `last.pt` (resume), `best.pt` (best validation AUC),
`best_weights.pt` (fp16 weights in the tracker format), `epochs.csv`, `steps.csv`,
`loss_curve.png`, and `config.yaml` (the resolved config).
"""
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
from siam_tracker_ros.training import checkpoint, logs
from siam_tracker_ros.registry import get_entry
from siam_tracker_ros.training.data import build_mixture
from siam_tracker_ros.training.models import (apply_unfreeze, build_net, frozen_modules,
                                              input_format, thawed_modules)
from siam_tracker_ros.training.schedule import build_optimizer, epoch_lr, set_lr


class Trainer:
    """Runs a TrainConfig; `run(resume)` returns the best validation AUC (NaN without val)."""

    def __init__(self, config, out_dir=None, progress: bool = True):
        self.config = config
        self.out = Path(out_dir or Path(config.out_dir) / config.name)
        self.progress = progress
        if config.threads:
            torch.set_num_threads(config.threads)
        torch.manual_seed(config.seed)
        self.device = resolve_device(config.device)
        self.skipped = SkipCounter()
        self.mixture = build_mixture(config.data, self.skipped)
        self.net = build_net(config).to(self.device)
        self.thawed = thawed_modules(self.net, config)
        self.optimizer = build_optimizer(self.net.parameters(), config,
                                         [p for m in self.thawed for p in m.parameters()])
        self.input_format = input_format(config)
        self.objective = get_entry(config.tracker).objective
        use_amp = config.amp and self.device.type == 'cuda'
        self.scaler = torch.amp.GradScaler('cuda', enabled=use_amp)
        self.amp = use_amp
        self.best_auc, self.history, self.start_epoch = -math.inf, [], 0

    def resume(self) -> None:
        """Continue after the last finished epoch in `last.pt`."""
        state = checkpoint.load_checkpoint(self.out / 'last.pt', self.net, self.optimizer)
        self.start_epoch = state['epoch'] + 1
        self.best_auc, self.history = state['best_auc'], list(state['history'])

    def train_mode(self) -> None:
        self.net.train()
        for module in frozen_modules(self.net) + self.thawed:
            module.eval()

    def make_batch(self, rng):
        """One training batch, built by the tracker's objective."""
        return self.objective.make_batch(self.mixture, rng, self.config.batch_size,
                                         self.input_format, self.device)

    def step(self, batch) -> float:
        """One optimiser step on `batch`; returns the loss."""
        with torch.autocast('cuda', dtype=torch.float16, enabled=self.amp):
            loss = self.objective.loss(self.net, batch, self.config)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if self.config.grad_clip:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.net.parameters(), self.config.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return float(loss.detach())

    def train_epoch(self, epoch: int) -> float:
        """One epoch of `pairs_per_epoch` pairs; data RNG seeded by (seed, epoch)."""
        cfg = self.config
        rng = np.random.default_rng([cfg.seed, epoch])
        random.seed(cfg.seed * 1000 + epoch)
        set_lr(self.optimizer, epoch_lr(epoch, cfg.epochs, cfg.lr_start, cfg.lr_end))
        if self.objective.start_epoch is not None:
            self.objective.start_epoch(self.net, epoch, cfg)
        apply_unfreeze(self.thawed, epoch, cfg)
        self.train_mode()
        steps = cfg.pairs_per_epoch // cfg.batch_size
        losses = []
        bar = tqdm(range(steps), desc=f'epoch {epoch + 1}/{cfg.epochs}', disable=not self.progress)
        for index in bar:
            losses.append(self.step(self.make_batch(rng)))
            logs.append_csv(self.out / 'steps.csv', ('epoch', 'step', 'loss'),
                            {'epoch': epoch, 'step': index, 'loss': f'{losses[-1]:.5f}'})
            bar.set_postfix(loss=f'{np.mean(losses[-50:]):.4f}')
        return float(np.mean(losses))

    def validate(self, epoch: int) -> float:
        """Dev-set mean success AUC (NaN when no validation root is configured)."""
        val = self.config.val
        if not val.root or (epoch + 1) % val.every and epoch + 1 != self.config.epochs:
            return float('nan')
        from siam_tracker_ros.training.validate import evaluate, load_sequences, tracker_for
        sequences = load_sequences(val.root, val.max_frames)
        scores = evaluate(tracker_for(self.net, self.input_format, self.config.tracker),
                          sequences)
        return scores['mean']

    def finish_epoch(self, epoch: int, loss: float, auc: float, seconds: float) -> None:
        """Log, checkpoint, keep the best, export its weights, redraw the curves."""
        cfg = self.config
        row = {'epoch': epoch + 1, 'lr': f'{self.optimizer.param_groups[0]["lr"]:.3e}',
               'train_loss': f'{loss:.5f}', 'val_auc': f'{auc:.4f}',
               'pairs': cfg.pairs_per_epoch, 'skipped': self.skipped.count,
               'seconds': f'{seconds:.1f}'}
        logs.append_csv(self.out / 'epochs.csv', logs.EPOCH_FIELDS, row)
        self.history.append(row)
        score = auc if not math.isnan(auc) else -loss
        if score > self.best_auc:
            self.best_auc = score
            checkpoint.save_checkpoint(self.out / 'best.pt', self.net, self.optimizer, epoch,
                                       score, self.history)
            meta = {'run': cfg.name, 'epoch': epoch + 1, 'val_auc': auc, 'train_loss': loss}
            checkpoint.export_weights(self.out / 'best_weights.pt', self.net, cfg,
                                      self.input_format, meta)
        checkpoint.save_checkpoint(self.out / 'last.pt', self.net, self.optimizer, epoch,
                                   self.best_auc, self.history)
        logs.plot_curves(self.out)

    def run(self, resume: bool = False) -> float:
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / 'config.yaml').write_text(
            yaml.safe_dump({'train': _plain(dataclasses.asdict(self.config))}, sort_keys=False))
        if resume:
            self.resume()
        for epoch in range(self.start_epoch, self.config.epochs):
            start = time.time()
            loss = self.train_epoch(epoch)
            auc = self.validate(epoch)
            self.finish_epoch(epoch, loss, auc, time.time() - start)
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
