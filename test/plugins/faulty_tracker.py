"""`faulty`: the toy plugin tracker, but `track` raises RuntimeError on one chosen frame after
each init (frame `fail_on_frame`, counted from 1), for the node's fault-injection tests.

Loaded with SIAM_TRACKER_PLUGINS=faulty_tracker and this folder on PYTHONPATH (it registers
`toy` too, by importing it).
"""
from dataclasses import dataclass
from pathlib import Path

from siam_tracker_ros.registry import TrackerEntry, get_entry, register

from toy_tracker import ToyConfig, ToyTracker


@dataclass(frozen=True)
class FaultyConfig(ToyConfig):
    """`fail_on_frame`: which tracked frame after init raises (0: none)."""

    fail_on_frame: int


class FaultyTracker(ToyTracker):
    """Raises RuntimeError('injected fault ...') on the chosen frame after each init."""

    def init(self, image, box):
        super().init(image, box)
        self.frames_since_init = 0

    def track(self, image):
        self.frames_since_init += 1
        if self.frames_since_init == self.config.fail_on_frame:
            raise RuntimeError(f'injected fault on frame {self.frames_since_init} after init')
        return super().track(image)


toy = get_entry('toy')
register(TrackerEntry(
    name='faulty', tracker_class=FaultyTracker, config_class=FaultyConfig,
    build_net=toy.build_net, objective=toy.objective,
    summary='test plugin: the toy tracker raising on one chosen frame',
    config_file=Path(__file__).with_name('faulty.yaml')))
