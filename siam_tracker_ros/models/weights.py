"""Safe weight files: `torch.load(weights_only=True)`, fp16 storage, metadata, clear errors.

A weights file is a dict::

    {'format': 'siam_tracker_ros.weights/1', 'tracker': 'siamfc', 'backbone': 'alexnet',
     'input': {'order': 'RGB', 'scale': 1.0, 'mean': [0, 0, 0], 'std': [1, 1, 1]},
     'state_dict': {...}, 'meta': {...}}

`input` is the per-weights input format of spec §1.2.4: tensor = (pixels·scale − mean) / std,
channels in `order`.
"""
import math
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch

FORMAT = 'siam_tracker_ros.weights/1'
PACKAGE_WEIGHTS_DIR = Path(__file__).resolve().parents[1] / 'weights'


class WeightsError(ValueError):
    """A weights file that is missing, corrupt, or does not fit the network."""


@dataclass(frozen=True)
class InputFormat:
    """How pixels become network input: (v·scale − mean) / std, channels in `order`."""

    order: str = 'RGB'
    scale: float = 1.0
    mean: tuple = (0.0, 0.0, 0.0)
    std: tuple = (1.0, 1.0, 1.0)

    def __post_init__(self):
        if self.order not in ('RGB', 'BGR'):
            raise ValueError(f'input order must be RGB or BGR, got {self.order!r}')
        if len(self.mean) != 3 or len(self.std) != 3:
            raise ValueError(f'input mean and std need 3 values each, got {len(self.mean)} '
                             f'and {len(self.std)}')
        values = (self.scale, *self.mean, *self.std)
        if not all(math.isfinite(v) for v in values) or self.scale <= 0 or \
                min(self.std) <= 0:
            raise ValueError(f'input scale and std must be finite and > 0, mean finite: '
                             f'scale {self.scale}, mean {self.mean}, std {self.std}')

    @classmethod
    def from_dict(cls, values: dict) -> 'InputFormat':
        if not isinstance(values, dict):
            raise ValueError(f'input format must be a mapping, got {type(values).__name__}')
        return cls(str(values.get('order', 'RGB')), float(values.get('scale', 1.0)),
                   tuple(float(v) for v in values.get('mean', (0.0, 0.0, 0.0))),
                   tuple(float(v) for v in values.get('std', (1.0, 1.0, 1.0))))

    def to_dict(self) -> dict:
        return {'order': self.order, 'scale': self.scale, 'mean': list(self.mean),
                'std': list(self.std)}


IMAGENET_INPUT = InputFormat('RGB', 1 / 255, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
CAFFE_INPUT = InputFormat('BGR', 1.0, (104.00699, 116.66877, 122.67892))   # Caffe VGG: BGR − mean


def save_weights(path, state_dict: dict, tracker: str, backbone: str,
                 input_format: InputFormat = InputFormat(), meta: dict = None,
                 half: bool = True) -> Path:
    """Write a weights file (floating tensors stored as fp16 when `half`)."""
    tensors = {k: (v.detach().half() if half and v.is_floating_point() else v.detach()).cpu()
               for k, v in state_dict.items()}
    payload = {'format': FORMAT, 'tracker': tracker, 'backbone': backbone,
               'input': input_format.to_dict(), 'state_dict': tensors, 'meta': meta or {}}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(payload, path)
    return path


def load_failure(err: Exception) -> str:
    """One line saying why torch.load failed. torch's own text runs to many lines and, for a
    corrupt file, advises loading with weights_only=False; keep only the reason."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    if isinstance(err, pickle.UnpicklingError):
        after = [lines[i + 1] for i, line in enumerate(lines[:-1])
                 if line.endswith('WeightsUnpickler error:')]
        return f'not a loadable checkpoint (UnpicklingError: {(after or ["corrupt data"])[0]})'
    if isinstance(err, EOFError):
        return 'the file is empty or truncated (EOFError)'
    first = lines[0].split('. ')[0] if lines else 'no message'  # its first sentence
    if isinstance(err, (RuntimeError, OSError, zipfile.BadZipFile)):
        return f'{type(err).__name__}: {first[:200]}'
    return f'not a loadable checkpoint ({type(err).__name__}: {first[:200]})'


def load_weights(path) -> dict:
    """Read and validate a weights file; raise WeightsError with the path on any problem."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f'weights file not found: {path}')
    try:
        payload = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as err:  # noqa: BLE001 — damaged bytes make the unpickler raise anything
        raise WeightsError(f'cannot read weights {path}: {load_failure(err)}') from None
    if not isinstance(payload, dict) or payload.get('format') != FORMAT:
        raise WeightsError(f'{path} is not a {FORMAT} weights file')
    if not isinstance(payload.get('state_dict'), dict):
        raise WeightsError(f'{path} has no state_dict')
    for key, value in payload['state_dict'].items():
        if not torch.is_tensor(value):
            raise WeightsError(f'{path}: state_dict[{key!r}] is a {type(value).__name__}, '
                               'not a tensor')
        if value.is_floating_point() and not torch.isfinite(value).all():
            raise WeightsError(f'{path}: {key} holds NaN or inf values (saved from a '
                               'diverged training run?)')
    try:
        InputFormat.from_dict(payload.get('input', {}))
    except (TypeError, ValueError) as err:
        raise WeightsError(f'{path}: bad input format: {err}') from None
    return payload


def apply_state(module: torch.nn.Module, state_dict: dict, source) -> None:
    """Load `state_dict` into `module` strictly, converting dtype; clear error on mismatch."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(own))
    wrong = sorted(k for k in set(own) & set(state_dict) if own[k].shape != state_dict[k].shape)
    if missing or unexpected or wrong:
        details = [f'{name}: {", ".join(keys[:5])}{" …" if len(keys) > 5 else ""}'
                   for name, keys in (('missing', missing), ('unexpected', unexpected),
                                      ('wrong shape', wrong)) if keys]
        raise WeightsError(f'{source} does not fit the network ({"; ".join(details)})')
    integral = sorted(k for k in own if own[k].is_floating_point()
                      and not state_dict[k].is_floating_point())
    if integral:
        raise WeightsError(f'{source}: {", ".join(integral[:5])} should hold floating-point '
                           f'values, not {state_dict[integral[0]].dtype}')
    module.load_state_dict({k: v.to(own[k].dtype) for k, v in state_dict.items()})


def default_weights(tracker: str):
    """The best shipped weights for `tracker` (listed in weights/DEFAULTS), or None."""
    index = PACKAGE_WEIGHTS_DIR / 'DEFAULTS'
    if not index.is_file():
        return None
    for line in index.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == tracker and (PACKAGE_WEIGHTS_DIR / parts[1]).is_file():
            return PACKAGE_WEIGHTS_DIR / parts[1]
    return None


def resolve_weights(text, tracker: str):
    """A weights option -> the weights file build_tracker loads (None: random init).

    'none' or empty -> None; 'default' -> `tracker`'s shipped weights file, or None when it
    has none; anything else is a file path, returned as given.
    """
    if not text or text == 'none':
        return None
    if text == 'default':
        return default_weights(tracker)
    return text
