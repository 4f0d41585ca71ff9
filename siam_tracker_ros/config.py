"""Strict YAML <-> frozen dataclass loading for tracker configs.

One file per tracker, `config/<tracker>.yaml`, feeds the ROS node (as a `--params-file`),
training and evaluation. Its shape is a ROS parameters file::

    /**:
      ros__parameters:
        siamfc:
          window_influence: 0.176

The envelope is optional for the core; the `<tracker>` section is required. The file is the
one source of every value: the config dataclasses declare types, checks and documentation but
no defaults, so a missing key is an error, as is an unknown one; values are checked against
the field types.
"""
import dataclasses
import os
import sys
from pathlib import Path

import yaml


class ConfigError(ValueError):
    """A config file or override that cannot be applied."""


def config_dir() -> Path:
    """The directory that holds `<tracker>.yaml` files.

    Order: $SIAM_TRACKER_CONFIG_DIR, the source tree's `config/`, then the installed
    `share/siam_tracker_ros/config` under sys.prefix.
    """
    candidates = [os.environ.get('SIAM_TRACKER_CONFIG_DIR'),
                  Path(__file__).resolve().parents[1] / 'config',
                  Path(sys.prefix) / 'share' / 'siam_tracker_ros' / 'config']
    for candidate in candidates:
        if candidate and (Path(candidate) / 'tracker.yaml').is_file():
            return Path(candidate)
    raise ConfigError('no config directory found; set SIAM_TRACKER_CONFIG_DIR')


def default_tracker(directory=None) -> str:
    """The tracker used when none is named: the `tracker` of config/tracker.yaml (the node's
    parameters file) in `directory` (default `config_dir()`), so the CLI, the benchmarks and
    the node agree."""
    path = Path(directory or config_dir()) / 'tracker.yaml'
    name = unwrap_parameters(read_yaml_mapping(path)).get('tracker')
    if not isinstance(name, str) or not name:
        raise ConfigError(f'{path}: no tracker name')
    return name


def read_yaml_mapping(path: Path, error=None, what: str = 'config file') -> dict:
    """The top-level mapping of a YAML file; a missing file, bad YAML or a non-mapping raises
    `error` (ConfigError by default) naming the file."""
    error = error or ConfigError
    if not path.is_file():
        raise error(f'{what} not found: {path}')
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise error(f'{path}: invalid YAML{yaml_problem(err)}') from None
    if not isinstance(data, dict):
        raise error(f'{path}: top level must be a mapping')
    return data


def yaml_problem(err: yaml.YAMLError) -> str:
    """' at line L, column C: problem' of a YAML error, on one line (PyYAML's own text runs
    to several, with an excerpt of the file)."""
    if isinstance(err, yaml.MarkedYAMLError):
        mark = err.problem_mark or err.context_mark
        where = f' at line {mark.line + 1}, column {mark.column + 1}' if mark else ''
        return f'{where}: {err.problem or err.context}'
    return ': ' + ' '.join(str(err).split())


def unwrap_parameters(data: dict) -> dict:
    """The mapping inside an optional `/**: ros__parameters:` envelope."""
    for envelope in ('/**', 'ros__parameters'):
        if isinstance(data.get(envelope), dict):
            data = data[envelope]
    return data


def read_section(path, section: str) -> dict:
    """Read `section` from a YAML file, unwrapping an optional `/**: ros__parameters:` envelope."""
    path = Path(path)
    data = unwrap_parameters(read_yaml_mapping(path, ConfigError, 'config file'))
    if section not in data or not isinstance(data[section], dict):
        raise ConfigError(f'{path}: missing section {section!r}')
    return data[section]


def _coerce(cls, name: str, value, expected):
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected is tuple and isinstance(value, (list, tuple)):
        return tuple(value)
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ConfigError(f'{cls.__name__}.{name} must be {expected.__name__}, '
                          f'got {type(value).__name__} {value!r}')
    return value


def from_dict(cls, values: dict, source: str = 'overrides'):
    """Build the frozen dataclass `cls` from `values` (strict: every field without a default
    must be given, unknown keys are errors)."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f'{source}: unknown {cls.__name__} key(s): {", ".join(unknown)}; '
                          f'known: {", ".join(sorted(fields))}')
    coerced = {k: _coerce(cls, k, v, fields[k].type) for k, v in values.items()}
    missing = [name for name, f in fields.items() if name not in values
               and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise ConfigError(f'{source}: missing {cls.__name__} key(s): {", ".join(missing)}')
    try:
        return cls(**coerced)
    except (TypeError, ValueError) as err:
        raise ConfigError(f'{source}: {err}') from None


def load_config(cls, section: str, path=None, **overrides):
    """Load `cls` from `section` of `path` (default `config/<section>.yaml`), then apply overrides."""
    path = Path(path) if path else config_dir() / f'{section}.yaml'
    values = {**read_section(path, section), **overrides}
    return from_dict(cls, values, source=str(path))


def to_dict(config) -> dict:
    """A plain dict of a config dataclass (tuples become lists, for YAML and ROS)."""
    return {k: list(v) if isinstance(v, tuple) else v
            for k, v in dataclasses.asdict(config).items()}
