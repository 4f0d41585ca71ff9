"""`build_tracker`: the one way to construct a tracker, from its registry entry."""
import dataclasses
import os

import torch

from siam_tracker_ros.config import load_config
from siam_tracker_ros.models.weights import (InputFormat, WeightsError, apply_state,
                                             default_weights, load_weights)
from siam_tracker_ros.onnx_engines import ENGINES
from siam_tracker_ros.registry import get_entry
from siam_tracker_ros.runtime import ExecutionPath, resolve_device, set_threads
from siam_tracker_ros.trackers.base import warm_up

RUNTIME_OPTIONS = ('precision', 'backend', 'step', 'threads', 'seed')


def build_tracker(name: str, weights=None, device: str = 'cpu', config_path=None, **options):
    """Construct tracker `name` with its settings from `config/<name>.yaml` (or `config_path`).

    Args:
        name: a registered tracker name.
        weights: path of a weights file; None gives a seeded random initialisation,
            'default' the best shipped weights when the tracker has some.
        device: 'cpu', 'cuda', 'cuda:N' or 'auto'.
        config_path: a YAML file to read instead of the tracker's own.
        **options: precision ('fp32' | 'bf16' | 'fp16'), backend ('eager' | 'fused' |
            'compiled' | 'graphs' | 'onnx'), step ('auto' | 'host' | 'device', runtime.py), threads,
            seed (random init), or config field overrides; unknown names are errors.
    """
    entry = get_entry(name)
    runtime = {k: options.pop(k) for k in list(options) if k in RUNTIME_OPTIONS}
    config = load_config(entry.config_class, name, config_path or entry.config_path, **options)
    set_threads(runtime.get('threads'))
    path = ExecutionPath(resolve_device(device), runtime.get('backend', 'fused'),
                         runtime.get('precision', 'fp32'), runtime.get('step', 'auto'))
    unsupported = getattr(entry.tracker_class, 'engine_unsupported', '')
    if path.backend in ENGINES and unsupported:
        raise ValueError(f'the {path.backend} backend is not available for {name}: '
                         f'{unsupported}; use fused or eager')
    weights_path = _weights_file(weights, entry)
    payload = _read_weights(weights_path, entry)
    torch.manual_seed(runtime.get('seed', 0))
    backbone = payload.get('backbone') or None if payload else None
    try:
        config = with_backbone(config, backbone)
    except ValueError as error:
        raise WeightsError(f'{weights_path} is built on {backbone!r}, which {name} cannot run: '
                           f'{error}') from None
    net = entry.build_net(config, backbone)
    if payload:
        apply_state(net, loadable_state(entry, net, payload), weights_path)
    input_format = InputFormat.from_dict(payload['input']) if payload else InputFormat()
    tracker = entry.tracker_class(config, net.eval().to(path.device), path, input_format,
                                  str(weights_path) if weights_path else None)
    tracker.name = name
    if path.backend in ('compiled', 'graphs'):  # compile or capture now, not on a real frame
        warm_up(tracker)
        tracker.state = None
        tracker.status.reset()
    return tracker


BACKBONE_FIELDS = ('backbone', 'trunk')


def with_backbone(config, backbone):
    """`config` naming `backbone` (the weights file's own, which the network is built on) in
    its backbone or trunk field, so that the tracker reports what runs; unchanged when the
    file names none or the config has no such field."""
    names = {field.name for field in dataclasses.fields(config)}
    field = next((name for name in BACKBONE_FIELDS if name in names), None)
    if backbone is None or field is None or getattr(config, field) == backbone:
        return config
    return dataclasses.replace(config, **{field: backbone})


def _weights_file(weights, entry):
    """The weights file `weights` names (None: random init); a WeightsError for anything
    but None, a path or 'default'."""
    if weights is not None and not isinstance(weights, (str, os.PathLike)):
        raise WeightsError(f'weights must be a file path, \'default\' or None, got '
                           f'{type(weights).__name__} {weights!r}')
    if isinstance(weights, str) and not weights.strip():
        raise WeightsError(f'weights {weights!r} names no file; pass None for a seeded random '
                           "init or 'default' for the shipped weights")
    if weights == 'default':
        weights = default_weights(entry.name)
        if weights is None:
            raise WeightsError(f'no shipped weights for {entry.name}')
    return weights


def load_into(entry, net, weights) -> dict:
    """Load a weights file the entry accepts into `net` (e.g. to start training from it);
    returns its payload."""
    payload = _read_weights(weights, entry, training=True)
    apply_state(net, loadable_state(entry, net, payload), weights)
    return payload


def loadable_state(entry, net, payload: dict) -> dict:
    """The payload's state dict, adapted by the entry when it comes from another tracker
    (`TrackerEntry.adapt_state`, e.g. SiamFC weights for DSiam)."""
    source = payload.get('tracker')
    if source == entry.name or entry.adapt_state is None:
        return payload['state_dict']
    return entry.adapt_state(net, payload['state_dict'], source)


def _read_weights(weights, entry, training=False) -> dict:
    """The weights file's payload ({} for a random init); files made for another tracker are
    refused unless the entry lists that tracker in `weight_sources` (or, to start training,
    in `start_sources`)."""
    if not weights:
        return {}
    payload = load_weights(weights)
    source = payload.get('tracker')
    starts = entry.start_sources if training else ()
    if source in (entry.name, *entry.weight_sources, *starts):
        return payload
    if source in entry.start_sources:
        raise WeightsError(f'{weights} holds {source!r} weights: they start the training of '
                           f'{entry.name} (init_weights), they cannot track with it')
    raise WeightsError(f'{weights} holds {source!r} weights, not usable by {entry.name}')
