"""Just enough of `launch` / `launch_ros` to evaluate launch/tracker.launch.py without them
(ros-on-pypi.md §4: neither installs from pip or apt here), and the command line launch_ros
would build from the resulting Node."""
import types

import yaml


class Recorder:
    """Records the arguments it was constructed with."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs


class LaunchDescription(Recorder):
    pass


class DeclareLaunchArgument(Recorder):
    pass


class LaunchConfiguration(Recorder):
    def perform(self, context):
        """The argument's value (launch: LaunchConfiguration.perform)."""
        return context.launch_configurations[self.args[0]]


class OpaqueFunction(Recorder):
    pass


class Node(Recorder):
    pass


def modules() -> dict:
    """sys.modules entries for the stubbed packages."""
    launch = types.ModuleType('launch')
    launch.LaunchDescription = LaunchDescription
    actions = types.ModuleType('launch.actions')
    actions.DeclareLaunchArgument = DeclareLaunchArgument
    actions.OpaqueFunction = OpaqueFunction
    substitutions = types.ModuleType('launch.substitutions')
    substitutions.LaunchConfiguration = LaunchConfiguration
    launch_ros = types.ModuleType('launch_ros')
    ros_actions = types.ModuleType('launch_ros.actions')
    ros_actions.Node = Node
    return {'launch': launch, 'launch.actions': actions, 'launch.substitutions': substitutions,
            'launch_ros': launch_ros, 'launch_ros.actions': ros_actions}


def resolve(value, context: dict) -> str:
    """Perform substitutions: a LaunchConfiguration, a list of parts, or a plain string."""
    if isinstance(value, LaunchConfiguration):
        return context[value.args[0]]
    if isinstance(value, (list, tuple)):
        return ''.join(resolve(v, context) for v in value)
    return value


def launch_context(description, overrides: dict) -> dict:
    """Launch argument values: declared defaults updated by `overrides` (name:=value)."""
    context = {d.args[0]: d.kwargs['default_value'] for d in description.args[0]
               if isinstance(d, DeclareLaunchArgument)}
    unknown = set(overrides) - set(context)
    assert not unknown, f'undeclared launch arguments {unknown}'
    return {**context, **overrides}


def nodes(description, context: dict) -> list:
    """The Node actions of `description`, OpaqueFunctions evaluated as launch does."""
    found = []
    launch_context = types.SimpleNamespace(launch_configurations=context)
    for entry in description.args[0]:
        if isinstance(entry, OpaqueFunction):
            found += [e for e in entry.kwargs['function'](launch_context) if isinstance(e, Node)]
        elif isinstance(entry, Node):
            found.append(entry)
    return found


def node_command(node: Node, context: dict, executable: str, tmp_dir) -> list:
    """`executable --ros-args ...` as launch_ros builds it (name, namespace, params, remaps).

    Dict parameters go to a temporary YAML keyed by the node's full name (launch_ros
    `_create_params_file_from_dict` does so when both name and namespace are given).
    """
    name = resolve(node.kwargs['name'], context)
    namespace = resolve(node.kwargs.get('namespace', ''), context).strip('/')
    command = [executable, '--ros-args', '-r', f'__node:={name}']
    if namespace:
        command += ['-r', f'__ns:=/{namespace}']
    full_name = f'/{namespace}/{name}' if namespace else f'/{name}'
    for index, entry in enumerate(node.kwargs.get('parameters', [])):
        if isinstance(entry, dict):
            values = {k: _yaml_value(resolve(v, context)) for k, v in entry.items()}
            path = tmp_dir / f'params_{index}.yaml'
            path.write_text(yaml.safe_dump({full_name: {'ros__parameters': values}}))
            command += ['--params-file', str(path)]
        else:
            command += ['--params-file', resolve(entry, context)]
    for source, target in node.kwargs.get('remappings', []):
        command += ['-r', f'{resolve(source, context)}:={resolve(target, context)}']
    return command


def _yaml_value(text: str):
    """launch_ros parses substituted parameter strings as YAML ('' stays a string)."""
    value = yaml.safe_load(text) if text else ''
    return '' if value is None else value
