"""TRACKING / LOST: the state a controller acts on, decided from the response map and the
box's colour, with hysteresis.

Every Siamese tracker updates one `TargetStatus` per frame with its score, the decoded map's
confidence features and the box's colour objectness (`ops.confidence`) and reports the state
in the `TrackResult`; `siam-track run`, evaluation and the ROS node read it from there. The thresholds were chosen
on sot_val with `siam-track calibrate-lost` (docs/ros.md, "LOST / TRACKING").
"""
from dataclasses import dataclass

IDLE, TRACKING, LOST = 0, 1, 2
STATE_NAMES = {IDLE: 'IDLE', TRACKING: 'TRACKING', LOST: 'LOST'}
LOST_RULES = ('score', 'confidence')


@dataclass(frozen=True)
class StatusConfig:
    """Config fields every tracker has: when a controller should treat the target as lost.

    A frame is *weak* when its score < `lost_score`; with `lost_rule: confidence` also when
    the score < `lost_drop`, the APCE < `lost_apce`, the PSR < `lost_psr` or the box's colour
    objectness < `lost_colour` times its running level (0 switches a test off). The running
    levels are exponential averages (rate `level_rate`) over the TRACKING frames since init
    that were not weak. The target is LOST after `lost_frames` consecutive weak frames, and
    TRACKING again after `recover_frames` consecutive frames that pass
    (`TargetStatus.passes`: not weak, score >= `recover_score`). `lost_rule: score` is the
    score alone (the earlier rule). Values live in `config/<tracker>.yaml`.
    """

    lost_rule: str
    lost_score: float
    lost_frames: int
    recover_score: float
    recover_frames: int
    level_rate: float
    lost_drop: float
    lost_apce: float
    lost_psr: float
    lost_colour: float

    def __post_init__(self):
        if self.lost_frames < 1 or self.recover_frames < 1:
            raise ValueError('lost_frames and recover_frames must be >= 1')
        if self.lost_rule not in LOST_RULES:
            raise ValueError(f'unknown lost_rule {self.lost_rule!r}; known: '
                             f'{", ".join(LOST_RULES)}')
        if not 0.0 < self.level_rate <= 1.0:
            raise ValueError(f'level_rate must be in (0, 1], got {self.level_rate}')
        for name in ('lost_drop', 'lost_apce', 'lost_psr', 'lost_colour'):
            if getattr(self, name) < 0:
                raise ValueError(f'{name} must be >= 0, got {getattr(self, name)}')


class TargetStatus:
    """The state of one target, updated with every tracked frame's score and features.

    `levels` holds the running (score, APCE, PSR, colour) levels; None until the first tracked
    frame.
    """

    def __init__(self, config: StatusConfig):
        self.config = config
        self.reset()

    def start(self):
        """A new target: TRACKING."""
        self.state, self._run, self.levels, self._needed = TRACKING, 0, None, None

    def reset(self):
        """No target: IDLE."""
        self.state, self._run, self.levels, self._needed = IDLE, 0, None, None

    def confirm(self, frames: int) -> None:
        """The box has just jumped to a re-detected candidate: LOST until `frames`
        consecutive frames pass, counting this one (instead of `recover_frames`)."""
        if self.state == LOST:
            self._run, self._needed = 0, frames

    def weak(self, score: float, confidence=None) -> bool:
        """Whether this frame counts towards LOST (see `StatusConfig`)."""
        cfg = self.config
        if score < cfg.lost_score:
            return True
        if cfg.lost_rule == 'score' or confidence is None:
            return False
        score_level, apce_level, psr_level, colour_level = \
            self.levels or level_values(confidence)
        return (confidence.score < cfg.lost_drop * score_level
                or confidence.apce < cfg.lost_apce * apce_level
                or confidence.psr < cfg.lost_psr * psr_level
                or confidence.colour < cfg.lost_colour * colour_level)

    def passes(self, score: float, confidence=None) -> bool:
        """Whether a frame counts towards TRACKING again: not weak, score >= recover_score."""
        return score >= self.config.recover_score and not self.weak(score, confidence)

    def update(self, score: float, confidence=None) -> int:
        """Feed one frame's score and (optionally) its `MapConfidence`; returns the state."""
        cfg = self.config
        weak = self.weak(score, confidence)
        if self.state == TRACKING:
            self._run = self._run + 1 if weak else 0
            if self._run >= cfg.lost_frames:
                self.state, self._run = LOST, 0
        elif self.state == LOST:
            passes = not weak and score >= cfg.recover_score  # `passes`, weak known
            self._run = self._run + 1 if passes else 0
            if self._run >= (self._needed or cfg.recover_frames):
                self.state, self._run, self._needed = TRACKING, 0, None
        if self.state == TRACKING and not weak and confidence is not None:
            self._follow(confidence)
        return self.state

    def _follow(self, confidence) -> None:
        """Move the running levels towards this TRACKING frame's values."""
        values = level_values(confidence)
        if self.levels is None:
            self.levels = values
            return
        rate = self.config.level_rate
        self.levels = tuple((1 - rate) * level + rate * value
                            for level, value in zip(self.levels, values))


def level_values(confidence) -> tuple:
    """The features that have running levels: (score, APCE, PSR, colour)."""
    return confidence.score, confidence.apce, confidence.psr, confidence.colour
