"""TRACKING / LOST hysteresis on the tracker score: the state a controller acts on.

Every Siamese tracker updates one `TargetStatus` per frame and reports its state in the
`TrackResult`; `siam-track run`, evaluation and the ROS node read it from there.
"""
from dataclasses import dataclass

IDLE, TRACKING, LOST = 0, 1, 2
STATE_NAMES = {IDLE: 'IDLE', TRACKING: 'TRACKING', LOST: 'LOST'}


@dataclass(frozen=True)
class StatusConfig:
    """Config fields every tracker has: when a controller should treat the target as lost.

    The target is LOST after `lost_frames` consecutive frames with score < `lost_score`,
    and TRACKING again after `recover_frames` consecutive frames with score >= `recover_score`.
    Values live in `config/<tracker>.yaml`.
    """

    lost_score: float
    lost_frames: int
    recover_score: float
    recover_frames: int

    def __post_init__(self):
        if self.lost_frames < 1 or self.recover_frames < 1:
            raise ValueError('lost_frames and recover_frames must be >= 1')


class TargetStatus:
    """The state of one target, updated with every tracked frame's score."""

    def __init__(self, config: StatusConfig):
        self.config = config
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
        cfg = self.config
        if self.state == TRACKING:
            self._run = self._run + 1 if score < cfg.lost_score else 0
            if self._run >= cfg.lost_frames:
                self.state, self._run = LOST, 0
        elif self.state == LOST:
            self._run = self._run + 1 if score >= cfg.recover_score else 0
            if self._run >= cfg.recover_frames:
                self.state, self._run = TRACKING, 0
        return self.state
