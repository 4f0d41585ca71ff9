"""Training data: media loading, pair sources, synthetic clips and augmentation."""
