"""The ROS tests must run where DDS cannot leave the machine: a network namespace with only
loopback up, and ROS discovery limited to localhost (see test/ros/run_tests.sh)."""
import fcntl
import os
import socket
import struct

IFF_UP = 0x1
SIOCGIFFLAGS = 0x8913


def _interface_flags(name: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack('16sH14x', name.encode()[:15], 0)
        return struct.unpack('16sH14x', fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]


def test_only_loopback_is_up():
    up = [name for _, name in socket.if_nameindex() if _interface_flags(name) & IFF_UP]
    assert up == ['lo'], (f'interfaces up: {up}; run the ROS tests in a loopback-only '
                          'namespace: bash test/ros/run_tests.sh')


def test_ros_discovery_is_local():
    assert os.environ.get('ROS_AUTOMATIC_DISCOVERY_RANGE') == 'LOCALHOST'
    assert os.environ.get('ROS_LOCALHOST_ONLY') == '1'
