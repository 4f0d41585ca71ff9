"""pip install of the siam_tracker_ros Python package (core, CLI, ROS node module).

colcon builds the same package as ament_cmake + ament_cmake_python (see CMakeLists.txt);
this file serves plain `pip install` for running, evaluating and training without ROS.
"""
from glob import glob

from setuptools import find_packages, setup

setup(
    name='siam_tracker_ros',
    version='0.1.0',
    description='Siamese single-object trackers with a ROS 2 node',
    license='Apache-2.0',
    python_requires='>=3.10',
    packages=find_packages(include=['siam_tracker_ros', 'siam_tracker_ros.*']),
    package_data={'siam_tracker_ros': ['weights/*.pt', 'weights/*.md', 'weights/DEFAULTS']},
    data_files=[('share/siam_tracker_ros/config', glob('config/*.yaml') + glob('config/*.xml')),
                ('share/siam_tracker_ros/launch', glob('launch/*.py')),
                ('share/siam_tracker_ros/config/train', glob('config/train/*.yaml'))],
    install_requires=['numpy>=1.21', 'opencv-contrib-python-headless>=4.5', 'torch>=2.0',
                      'pyyaml>=5.4', 'tqdm>=4.60', 'matplotlib>=3.5'],
    # onnx: `siam-track export` and the onnx backend (docs/export.md); ~37 MB of wheels
    # bag: `siam-track run --input BAG` (pure-Python rosbag2 / ROS 1 reader)
    extras_require={'test': ['pytest>=7', 'pytest-xdist>=3', 'rosbags>=0.10', 'h5py>=3'], 'bag': ['rosbags>=0.10'],
                    'onnx': ['onnx>=1.14', 'onnxruntime>=1.16']},
    entry_points={'console_scripts': [
        'siam-track = siam_tracker_ros.cli.main:main',
        'tracker_node = siam_tracker_ros.ros.tracker_node:main',
        'tracker_lifecycle_node = siam_tracker_ros.ros.lifecycle_node:main',
    ]},
)
