"""What the subcommands share: runtime and count arguments, one-line errors and warnings,
output paths checked before the work and written whole or not at all."""
import argparse
import os
import sys
from contextlib import contextmanager
from pathlib import Path

from siam_tracker_ros.config import ConfigError
from siam_tracker_ros.frames import FrameSourceError
from siam_tracker_ros.models.weights import WeightsError, resolve_weights
from siam_tracker_ros.registry import UnknownTrackerError, get_entry
from siam_tracker_ros.runtime import BACKENDS, PRECISIONS
from siam_tracker_ros.types import TrackerInputError

USER_ERRORS = (ConfigError, FrameSourceError, WeightsError, UnknownTrackerError,
               TrackerInputError, ValueError, OSError)


def positive_int(text: str) -> int:
    """argparse type of the count flags: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected a positive integer, got {text!r}') from None
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be at least 1, got {value}')
    return value


def add_runtime_arguments(parser) -> None:
    """--device, --precision, --backend, --threads."""
    parser.add_argument('--device', default='cpu', help='auto, cpu, cuda or cuda:N')
    parser.add_argument('--precision', default='fp32', choices=PRECISIONS)
    parser.add_argument('--backend', default='fused', choices=BACKENDS,
                        help='eager, fused (conv-BN folding + channels_last), compiled or '
                             'onnx (onnxruntime, fp32)')
    parser.add_argument('--threads', type=positive_int, default=None, help='torch CPU threads')


def runtime_options(args) -> dict:
    return {'device': args.device, 'precision': args.precision, 'backend': args.backend,
            'threads': args.threads}


def fail(message: str) -> int:
    """Print a one-line error for the user and return exit code 2."""
    print(f'siam-track: error: {one_line(message)}', file=sys.stderr)
    return 2


def warn(message: str) -> None:
    """Print a one-line warning for the user."""
    print(f'siam-track: warning: {one_line(message)}', file=sys.stderr)


def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """`warnings.showwarning` for the CLI: the message alone, as one line."""
    warn(str(message))


def one_line(message: str) -> str:
    """`message` with its lines joined (a multi-line library message stays one line)."""
    return ' '.join(part.strip() for part in str(message).splitlines() if part.strip())


def weights_for(text, tracker: str):
    """`resolve_weights`, warning when 'default' leaves a known tracker with random weights."""
    weights = resolve_weights(text, tracker)
    if text == 'default' and weights is None:
        get_entry(tracker)   # an unknown tracker is its own error, not a weights warning
        warn(f'no shipped weights for {tracker}: using random weights '
             '(pass --weights FILE, or --weights none to silence this)')
    return weights


def check_output_file(path) -> None:
    """OSError unless `path` can be written as a file (missing folders are created later):
    checked before any tracking, so a bad output path fails at once."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f'{path} is a folder, not a file')
    if path.exists() and not os.access(path, os.W_OK):
        raise PermissionError(f'{path}: not writable')
    _check_folder_above(path, path.parent)


def check_output_folder(path) -> None:
    """OSError unless `path` is a writable folder or can be made one."""
    _check_folder_above(Path(path), Path(path))


def _check_folder_above(path, folder) -> None:
    """The nearest existing one of `folder` and its parents must be a writable folder."""
    existing = next(f for f in (folder, *folder.parents) if f.exists())
    if not existing.is_dir():
        raise NotADirectoryError(f'{path}: {existing} is a file, not a folder'
                                 if existing != path else f'{path} is a file, not a folder')
    if not os.access(existing, os.W_OK):
        raise PermissionError(f'{path}: cannot write in {existing}')


@contextmanager
def replaced_on_success(path):
    """Yield a temporary name beside `path`; on success it becomes `path`, on any error
    (or Ctrl-C) it is removed, so `path` is never half-written."""
    path = Path(path).resolve() if Path(path).is_symlink() else Path(path)  # write through
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f'.{path.stem}.partial{path.suffix}')
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_text_file(path, text: str) -> None:
    """Write `text` to `path` through a temporary file (see `replaced_on_success`); a special
    file such as /dev/full is written in place."""
    path = Path(path)
    try:
        if path.exists() and not path.is_file():
            path.write_text(text)
            return
        with replaced_on_success(path) as temporary:
            temporary.write_text(text)
    except OSError as err:
        raise OSError(f'cannot write {path}: {err.strerror or err}') from None
