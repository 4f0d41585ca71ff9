"""The node's parameters: declared once with types and descriptions, read into a frozen record.

Documented in config/tracker.yaml. The tracker's own hyperparameters come from
config/<tracker>.yaml and are declared as `<tracker>.<field>` with that file's values as
defaults, so a params file or `-p siamfc.lost_score:=0.2` overrides them (one source of truth).
"""
import os
from dataclasses import dataclass
from pathlib import Path

from rcl_interfaces.msg import ParameterDescriptor
from rclpy.exceptions import ParameterException

from siam_tracker_ros.config import config_dir, default_tracker, load_config, to_dict
from siam_tracker_ros.registry import get_entry
from siam_tracker_ros.runtime import BACKENDS, PRECISIONS, STEPS

TRANSPORTS = ('raw', 'compressed')
QOS_MODES = ('auto', 'reliable', 'best_effort')

# name: (default, description)
PARAMETERS = {
    'tracker': (None, 'registered tracker name (config/<tracker>.yaml holds its settings); '
                      'default: the one config/tracker.yaml names'),
    'weights': ('default', "weights file; 'default' = shipped weights, 'none' = seeded random "
                           "init"),
    'device': ('auto', 'auto, cpu, cuda or cuda:N (the device actually used is logged)'),
    'threads': (1, 'torch CPU threads used for inference'),
    'precision': ('fp32', 'fp32, bf16 or fp16 (fp16: CUDA only)'),
    'backend': ('fused', 'eager, fused (conv-BN folded), compiled (torch.compile), graphs '
                         '(CUDA graphs, CUDA only) or onnx (onnxruntime, fp32)'),
    'step': ('auto', 'auto (device on CUDA, host on the CPU), host (crop and decode on the CPU) '
                     'or device (crop, network and decode on the device, one transfer per '
                     'frame)'),
    'image_transport': ('raw', "'raw' subscribes to image, 'compressed' to image/compressed"),
    'qos': ('auto', 'auto (match the publishers), reliable or best_effort'),
    'qos_depth': (30, 'subscription queue depth (the node still processes only the newest)'),
    'qos_recheck_period': (0.5, 'seconds between checks of the publishers for QoS auto'),
    'buffer_length': (30, 'frames kept for stamp-matched init (30 = 1 s at 30 Hz)'),
    'init_stamp_tolerance': (0.01, 'seconds an init stamp may differ from a buffered frame'),
    'publish_debug_image': (False, 'publish ~/debug_image with the box and state drawn'),
    'error_log_period': (5.0, 'seconds between repeats of the same input error in the log'),
    'max_image_pixels': (4096 * 4096, 'largest width x height a CompressedImage may declare in '
                                      'its header (checked before decoding)'),
    'max_pending_requests': (64, 'service requests served at once; more at once are answered '
                                 "at once with 'refused: busy'"),
    'max_targets': (1, 'targets tracked at once (InitTarget with a new target_id adds one); '
                       'with 1, a new init replaces the target'),
    'targets_per_batch': (0, 'most targets whose search crops share one network batch (0: all '
                             'targets of a tracker; 1: one at a time, faster on a CPU)'),
}


@dataclass(frozen=True)
class NodeParams:
    """The node's parameter values (see PARAMETERS)."""

    tracker: str
    weights: str
    device: str
    threads: int
    precision: str
    backend: str
    step: str
    image_transport: str
    qos: str
    qos_depth: int
    qos_recheck_period: float
    buffer_length: int
    init_stamp_tolerance: float
    publish_debug_image: bool
    error_log_period: float
    max_image_pixels: int
    max_pending_requests: int
    max_targets: int
    targets_per_batch: int

    def __post_init__(self):
        if self.image_transport not in TRANSPORTS:
            raise ValueError(f'image_transport must be one of {TRANSPORTS}, '
                             f'got {self.image_transport!r}')
        if self.precision not in PRECISIONS:
            raise ValueError(f'precision must be one of {PRECISIONS}, got {self.precision!r}')
        if self.backend not in BACKENDS:
            raise ValueError(f'backend must be one of {BACKENDS}, got {self.backend!r}')
        if self.step not in STEPS:
            raise ValueError(f'step must be one of {STEPS}, got {self.step!r}')
        if self.qos not in QOS_MODES:
            raise ValueError(f'qos must be one of {QOS_MODES}, got {self.qos!r}')
        for name in ('threads', 'qos_depth', 'buffer_length', 'max_image_pixels',
                     'max_pending_requests', 'max_targets'):
            if getattr(self, name) < 1:
                raise ValueError(f'{name} must be >= 1, got {getattr(self, name)}')
        if self.targets_per_batch < 0:
            raise ValueError(f'targets_per_batch must be >= 0, got {self.targets_per_batch}')
        if self.init_stamp_tolerance < 0 or self.qos_recheck_period <= 0:
            raise ValueError('init_stamp_tolerance must be >= 0 and qos_recheck_period > 0')


class ParameterTypeError(ValueError):
    """A parameter given (params file or -p) with the wrong type; the message names it."""


def _declare(node, name: str, default, description: str, read_only: bool):
    """declare_parameter, with rclpy's type error turned into one clear ParameterTypeError;
    the current value when already declared (a lifecycle node configured again)."""
    if node.has_parameter(name):
        return node.get_parameter(name).value
    try:
        return node.declare_parameter(
            name, default,
            ParameterDescriptor(description=description, read_only=read_only)).value
    except ParameterException as err:
        kind = type(default).__name__
        raise ParameterTypeError(
            f'parameter {name!r} must be of type {kind} (like its default {default!r}); '
            f'rclpy: {err}') from None


def declare_node_params(node, read_only: bool = True) -> NodeParams:
    """Declare every node parameter on `node` and return their values (`read_only` False: a
    lifecycle node, whose parameters may change while it is unconfigured).

    Raises:
        ValueError: a value of the wrong type (ParameterTypeError) or out of its allowed set or
            range.
    """
    return NodeParams(**{name: declare_node_param(node, name, read_only) for name in PARAMETERS})


def declare_node_param(node, name: str, read_only: bool = True):
    """Declare one of PARAMETERS on `node` and return its value.

    Raises:
        ParameterTypeError: a value of the wrong type.
    """
    default, description = PARAMETERS[name]
    if name == 'tracker':
        default = default_tracker(find_config_dir())
    return _declare(node, name, default, description, read_only)


def find_config_dir() -> Path:
    """config/ of this package: $SIAM_TRACKER_CONFIG_DIR, the colcon install's share dir
    (found through AMENT_PREFIX_PATH), else the core's search (source tree, sys.prefix)."""
    if os.environ.get('SIAM_TRACKER_CONFIG_DIR'):
        return Path(os.environ['SIAM_TRACKER_CONFIG_DIR'])
    for prefix in os.environ.get('AMENT_PREFIX_PATH', '').split(os.pathsep):
        candidate = Path(prefix) / 'share' / 'siam_tracker_ros' / 'config'
        if prefix and (candidate / 'tracker.yaml').is_file():
            return candidate
    return config_dir()


def declare_tracker_params(node, tracker: str, config_path, read_only: bool = True) -> dict:
    """Declare `<tracker>.<field>` for every config field; return the fields that differ.

    Defaults are the values in `config_path` (config/<tracker>.yaml), so the returned
    overrides are only what the node's own parameters (params files, -p) changed.

    Raises:
        UnknownTrackerError: `tracker` is not registered.
        ParameterTypeError: a value of the wrong type.
    """
    entry = get_entry(tracker)
    defaults = to_dict(load_config(entry.config_class, tracker, config_path))
    overrides = {}
    for field, default in defaults.items():
        if isinstance(default, list) and not default:
            continue  # an empty list has no ROS parameter type
        value = _declare(node, f'{tracker}.{field}', default,
                         f'{entry.config_class.__name__}.{field} ({config_path})', read_only)
        if isinstance(value, (list, tuple)) or hasattr(value, 'tolist'):
            value = list(value)
        if value != default:
            overrides[field] = value
    return overrides
