"""LOST/TRACKING hysteresis on the tracker score (no ROS import)."""
from dataclasses import dataclass

IDLE, TRACKING, LOST = 0, 1, 2
STATE_NAMES = {IDLE: 'IDLE', TRACKING: 'TRACKING', LOST: 'LOST'}


@dataclass(frozen=True)
class Thresholds:
    """LOST after `lost_frames` frames with score < `lost_score`; TRACKING again after
    `recover_frames` frames with score >= `recover_score` (tracker config `StatusConfig`)."""

    lost_score: float
    lost_frames: int
    recover_score: float
    recover_frames: int

    @classmethod
    def from_config(cls, config):
        """Thresholds of a tracker config (any object with the four StatusConfig fields)."""
        return cls(float(config.lost_score), int(config.lost_frames),
                   float(config.recover_score), int(config.recover_frames))


class TargetStatus:
    """The state of one target, updated with every tracked frame's score."""

    def __init__(self, thresholds: Thresholds):
        self.thresholds = thresholds
        self.state = IDLE
        self._run = 0

    def start(self):
        """A new target: TRACKING."""
        self.state, self._run = TRACKING, 0

    def reset(self):
        """No target: IDLE."""
        self.state, self._run = IDLE, 0

    def update(self, score: float) -> int:
        """Feed one frame's score; returns the new state."""
        t = self.thresholds
        if self.state == TRACKING:
            self._run = self._run + 1 if score < t.lost_score else 0
            if self._run >= t.lost_frames:
                self.state, self._run = LOST, 0
        elif self.state == LOST:
            self._run = self._run + 1 if score >= t.recover_score else 0
            if self._run >= t.recover_frames:
                self.state, self._run = TRACKING, 0
        return self.state
