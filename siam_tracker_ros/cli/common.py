"""Arguments and error handling shared by the subcommands that build a tracker."""
import sys

from siam_tracker_ros.config import ConfigError
from siam_tracker_ros.frames import FrameSourceError
from siam_tracker_ros.models.weights import WeightsError
from siam_tracker_ros.registry import UnknownTrackerError
from siam_tracker_ros.runtime import BACKENDS, PRECISIONS
from siam_tracker_ros.types import TrackerInputError

USER_ERRORS = (ConfigError, FrameSourceError, WeightsError, UnknownTrackerError,
               TrackerInputError, ValueError, OSError)


def add_runtime_arguments(parser) -> None:
    """--device, --precision, --backend, --threads."""
    parser.add_argument('--device', default='cpu', help='auto, cpu, cuda or cuda:N')
    parser.add_argument('--precision', default='fp32', choices=PRECISIONS)
    parser.add_argument('--backend', default='fused', choices=BACKENDS,
                        help='eager, fused (conv-BN folding + channels_last), compiled or '
                             'onnx (onnxruntime, fp32)')
    parser.add_argument('--threads', type=int, default=None, help='torch CPU threads')


def runtime_options(args) -> dict:
    return {'device': args.device, 'precision': args.precision, 'backend': args.backend,
            'threads': args.threads}


def fail(message: str) -> int:
    """Print a one-line error for the user and return exit code 2."""
    print(f'siam-track: error: {message}', file=sys.stderr)
    return 2
