"""Generic training: configs, losses, schedules, checkpoints, logs and validation."""
