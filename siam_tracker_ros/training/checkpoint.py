"""Training checkpoints (resume) and export of the shipped fp16 weights.

A checkpoint is a plain dict of tensors and Python scalars, so it loads with
`torch.load(weights_only=True)`.
"""
from pathlib import Path

import torch

from siam_tracker_ros.models.weights import load_failure, save_weights


def save_checkpoint(path, net, optimizer, epoch: int, best_auc: float, history: list) -> Path:
    """Write model + optimiser state after 0-based `epoch` (atomic rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {'model': net.state_dict(), 'optimizer': optimizer.state_dict(),
               'epoch': int(epoch), 'best_auc': float(best_auc), 'history': history,
               'torch_rng': torch.get_rng_state()}
    tmp = path.with_suffix('.tmp')
    torch.save(payload, tmp)
    tmp.replace(path)
    return path


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read, or is not a checkpoint of this network."""


def load_checkpoint(path, net, optimizer=None) -> dict:
    """Restore a checkpoint into `net` (and `optimizer`); return the payload. A missing file is
    a FileNotFoundError; an unreadable one, or one of another network or kind (e.g. shipped
    weights), a one-line CheckpointError."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'checkpoint not found: {path}')
    try:
        payload = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as err:  # noqa: BLE001 — damaged bytes make the unpickler raise anything
        raise CheckpointError(f'{path} is not a training checkpoint of this run '
                              f'({load_failure(err)})') from None
    if not isinstance(payload, dict):
        raise CheckpointError(f'{path} is not a training checkpoint of this run (a '
                              f'{type(payload).__name__}, not a dict)')
    try:
        net.load_state_dict(payload['model'])
        if optimizer is not None:
            optimizer.load_state_dict(payload['optimizer'])
        torch.set_rng_state(payload['torch_rng'])
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else ''
        raise CheckpointError(f'{path} is not a training checkpoint of this run '
                              f'({type(err).__name__}: {reason[:200]})') from None
    return payload


def export_weights(path, net, config, input_format, meta: dict) -> Path:
    """Shipped weights: fp16 state dict + backbone name + input format (models.weights)."""
    return save_weights(path, net.state_dict(), config.tracker, config.backbone, input_format,
                        meta=meta)
