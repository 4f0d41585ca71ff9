"""Training configs: `config/train/<name>.yaml` → frozen dataclasses, unknown keys are errors.

The file has one top-level `train:` section; see docs/training.md for every field.
"""
import dataclasses
import typing
from dataclasses import dataclass
from pathlib import Path

from siam_tracker_ros.config import read_yaml_mapping
from siam_tracker_ros.data.augment import AugmentConfig
from siam_tracker_ros.data.stills import StillConfig
from siam_tracker_ros.data.synthetic import SceneConfig

DATASET_LAYOUTS = ('got10k', 'lasot', 'otb', 'ilsvrc_vid')
INPUTS = ('raw', 'imagenet', 'caffe')   # pixel formats: training/models.py INPUT_FORMATS
AMP_MODES = ('bf16', 'fp16', 'none')    # CUDA autocast dtype (fp16 with a GradScaler)
RPN_LABELS = ('', 'iou', 'centre')      # '' = the tracker's own; the other: the labels ablation


class TrainConfigError(ValueError):
    """A training config that cannot be used; raised before any training starts."""


@dataclass(frozen=True)
class DatasetSpec:
    """An annotated video dataset used for pair sampling (spec §1.6)."""

    layout: str
    root: str
    weight: float = 1.0
    split: str = 'train'


@dataclass(frozen=True)
class DataConfig:
    """Where pairs come from and how they are augmented."""

    cache_dir: str = '.cache/training'
    synthetic: float = 0.0
    stills: float = 0.0
    datasets: tuple = ()
    frame_range: int = 100
    synthetic_frame_range: int = 30
    min_target_side: float = 20.0       # sample filter (spec §1.6: 20 px); lower for small targets
    synthetic_clips: SceneConfig = SceneConfig()
    still_pairs: StillConfig = StillConfig()
    augment: AugmentConfig = AugmentConfig()
    workers: int = 0                    # processes making batches ahead (0: the trainer's own)

    def __post_init__(self):
        if self.workers < 0:
            raise TrainConfigError(f'data.workers must be >= 0, got {self.workers}')


@dataclass(frozen=True)
class ValConfig:
    """Validation on an OTB-layout folder (the dev set): success AUC after each epoch."""

    root: str = ''
    max_frames: int = 0
    every: int = 1


@dataclass(frozen=True)
class UnfreezeConfig:
    """Train the upper trunk stages at a low rate from `epoch` on (-1: never), after the neck
    has learnt on the frozen trunk; their BN statistics stay fixed."""

    epoch: int = -1
    stages: int = 1                # the last `stages` trunk modules (MobileNetV2: `high`)
    lr_scale: float = 0.1          # their rate relative to the schedule's

    def __post_init__(self):
        if self.stages < 1 or self.lr_scale <= 0:
            raise TrainConfigError('unfreeze: stages must be >= 1 and lr_scale > 0')


@dataclass(frozen=True)
class TrainConfig:
    """One training run (defaults: the SiamFC paper recipe, spec §2)."""

    name: str
    tracker: str                   # a registered tracker: its network and objective
    tracker_settings: dict = dataclasses.field(default_factory=dict)  # over config/<tracker>.yaml
    backbone: str = ''           # '' = the tracker config's backbone
    pretrained: bool = False
    init_weights: str = ''         # a weights file to start from ('' = none), e.g. SiamFC's
    freeze_trunk: bool = False
    freeze_bn: bool = False        # BN statistics of every pretrained stage stay fixed
    freeze_modules: tuple = ()     # submodules (e.g. backbone) kept fixed, BN statistics too
    input: str = 'raw'
    seed: int = 0
    device: str = 'auto'
    amp: str = 'fp16'              # bf16 | fp16 | none (true/false: fp16/none); CUDA only
    threads: int = 0
    epochs: int = 50
    pairs_per_epoch: int = 53200
    batch_size: int = 8
    optimizer: str = 'sgd'
    lr_start: float = 1e-2
    lr_end: float = 1e-5
    momentum: float = 0.9
    weight_decay: float = 5e-4
    grad_clip: float = 10.0
    balanced_loss: bool = True
    label_radius: float = 16.0
    rpn_labels: str = ''           # RPN family: '' its own | iou (§6) | centre (§7 centre distance)
    out_dir: str = 'runs'
    keep_epochs: bool = False      # also export each epoch's weights (epoch_N_weights.pt)
    data: DataConfig = DataConfig()
    val: ValConfig = ValConfig()
    unfreeze: UnfreezeConfig = UnfreezeConfig()

    def __post_init__(self):
        checks = [(self.optimizer in ('sgd', 'adamw'), 'optimizer must be sgd or adamw'),
                  (self.input in INPUTS, f'input must be one of {", ".join(INPUTS)}'),
                  (self.amp in AMP_MODES, f'amp must be one of {", ".join(AMP_MODES)} '
                                          f'(or true/false), got {self.amp!r}'),
                  (self.rpn_labels in RPN_LABELS, f'rpn_labels must be one of '
                                                  f'{", ".join(map(repr, RPN_LABELS))}'),
                  (self.epochs >= 1 and self.batch_size >= 1, 'epochs/batch_size must be >= 1'),
                  (self.pairs_per_epoch >= self.batch_size, 'pairs_per_epoch < batch_size'),
                  (self.lr_start > 0 and self.lr_end > 0, 'learning rates must be > 0'),
                  (self.unfreeze.epoch < 0 or self.freeze_trunk,
                   'unfreeze needs freeze_trunk: true (it thaws part of a frozen trunk)')]
        for ok, message in checks:
            if not ok:
                raise TrainConfigError(message)


def _build(cls, values, where: str):
    """Instantiate dataclass `cls` from a mapping, recursing into dataclass fields."""
    if not isinstance(values, dict):
        raise TrainConfigError(f'{where}: expected a mapping, got {type(values).__name__}')
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise TrainConfigError(f'{where}: unknown key(s) {", ".join(unknown)}; '
                               f'known: {", ".join(sorted(known))}')
    kwargs = {}
    for name, value in values.items():
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            value = _build(hint, value, f'{where}.{name}')
        elif name == 'datasets':
            value = tuple(_build(DatasetSpec, v, f'{where}.datasets[{i}]')
                          for i, v in enumerate(value or ()))
        elif name == 'freeze_modules':
            value = _names(value, f'{where}.{name}')
        elif name == 'amp' and isinstance(value, bool):
            value = 'fp16' if value else 'none'     # the older boolean form
        elif hint is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        elif hint in (int, float, str, bool, dict) and not isinstance(value, hint):
            raise TrainConfigError(f'{where}.{name}: expected {hint.__name__}, got {value!r}')
        kwargs[name] = value
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as err:
        raise TrainConfigError(f'{where}: {err}') from None


def _names(value, where: str) -> tuple:
    """A YAML list of non-empty strings as a tuple."""
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
        raise TrainConfigError(f'{where}: expected a list of module names, got {value!r}')
    return tuple(value)


def load_train_config(path) -> TrainConfig:
    """Read and validate a training config; every problem raises TrainConfigError."""
    path = Path(path)
    data = read_yaml_mapping(path, TrainConfigError, 'training config')
    if set(data) != {'train'}:
        raise TrainConfigError(f'{path}: expected exactly one top-level key "train"')
    config = _build(TrainConfig, data['train'], f'{path}: train')
    for spec in config.data.datasets:
        if spec.layout not in DATASET_LAYOUTS:
            raise TrainConfigError(f'{path}: dataset layout {spec.layout!r} not in '
                                   f'{", ".join(DATASET_LAYOUTS)}')
    return config
