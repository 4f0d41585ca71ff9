"""Pure geometry and tensor operations shared by tracking, training and evaluation."""
