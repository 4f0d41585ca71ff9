"""Launch the siam_tracker_ros tracker node.

    ros2 launch siam_tracker_ros tracker.launch.py image:=/camera/image_raw tracker:=siamfc

Parameters come from `params_file` (default: the installed config/tracker.yaml). The tracker,
weights and device arguments override it only when given: left empty (their default), the
params file's values hold. The node subscribes `image` (raw) or `image/compressed`
(image_transport: compressed in the params file); both are remapped under the `image` argument.
`lifecycle:=true` runs the managed node (tracker_lifecycle_node) instead: it starts
unconfigured and waits for a lifecycle manager or `ros2 lifecycle set` (docs/ros.md).
Checked in CI without launch_ros: test/ros/test_ros_launch.py.
"""
import os

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

CONFIG = os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'config', 'tracker.yaml'))

OVERRIDES = {  # node parameters set only when the argument is given
    'tracker': 'registered tracker name (default: the params file\'s)',
    'weights': "weights file, 'default' (shipped) or 'none' (seeded random init) "
               "(default: the params file's)",
    'device': 'auto, cpu, cuda or cuda:N (default: the params file\'s)',
}
ARGUMENTS = {
    **{name: ('', text) for name, text in OVERRIDES.items()},
    'image': ('image', 'input image topic (image/compressed follows it)'),
    'namespace': ('', 'namespace of the node'),
    'params_file': (CONFIG, 'node parameters file (see config/tracker.yaml)'),
    'lifecycle': ('false', 'true: the managed (lifecycle) node, started unconfigured'),
}
EXECUTABLES = {'false': 'tracker_node', 'true': 'tracker_lifecycle_node'}


def generate_launch_description():
    """The tracker node with its launch arguments."""
    arguments = [DeclareLaunchArgument(name, default_value=default, description=text)
                 for name, (default, text) in ARGUMENTS.items()]
    return LaunchDescription(arguments + [OpaqueFunction(function=_tracker_node)])


def _tracker_node(context):
    """The node, with the override arguments that were given on top of the params file."""
    given = {name: LaunchConfiguration(name).perform(context) for name in OVERRIDES}
    overrides = {name: value for name, value in given.items() if value}
    image = LaunchConfiguration('image').perform(context)
    lifecycle = LaunchConfiguration('lifecycle').perform(context).lower()
    if lifecycle not in EXECUTABLES:
        raise ValueError(f"lifecycle must be 'true' or 'false', got {lifecycle!r}")
    return [Node(
        package='siam_tracker_ros',
        executable=EXECUTABLES[lifecycle],
        name='siam_tracker',
        namespace=LaunchConfiguration('namespace').perform(context),
        parameters=[LaunchConfiguration('params_file').perform(context)]
        + ([overrides] if overrides else []),
        remappings=[('image', image), ('image/compressed', f'{image}/compressed')],
        output='screen',
    )]
