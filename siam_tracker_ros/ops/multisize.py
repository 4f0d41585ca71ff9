"""Multi-size testing and training geometry (spec §4, seed 001 §4.2); pure, no torch.

Testing: each (Q1, Q2) pair crops the same context region s_z to Q1 and s_x = s_z·Q2/Q1 to Q2,
so every pair sees the scene at its own pixel scale and gives the same response size.
Training: per batch, δ is drawn uniformly from {0, 8, …, 128}; template 127+δ, search 239+δ.
"""
import numpy as np

PAPER_TEST_SIZES = ((127, 255), (191, 319), (255, 383))
TRAIN_OFFSETS = tuple(range(0, 129, 8))
TRAIN_SIZES = (127, 239)


def response_size(template_size: int, search_size: int, stride: int = 8) -> int:
    """(Q2 − Q1)/stride + 1, the response side of a padding-free network of that stride."""
    if not 0 < template_size <= search_size or (search_size - template_size) % stride:
        raise ValueError(f'sizes ({template_size}, {search_size}) need 0 < template <= search '
                         f'with a difference that is a multiple of the stride {stride}')
    return (search_size - template_size) // stride + 1


def search_side(s_z: float, template_size: int, search_size: int) -> float:
    """s_x = s_z·Q2/Q1: the search side (image px) at the template's pixel scale."""
    if s_z <= 0:
        raise ValueError(f'template side s_z must be positive, got {s_z}')
    return s_z * search_size / template_size


def crop_sides(s_z: float, sizes, stride: int = 8) -> list:
    """Per (Q1, Q2) pair: (template side s_z, search side s_z·Q2/Q1), in image px.

    Raises ValueError when the pairs' responses differ in size, since the decoder compares
    all (pair, scale) maps in one step (spec §1.4 step 4).
    """
    sizes = [tuple(pair) for pair in sizes]
    if not sizes:
        raise ValueError('test sizes are empty; give at least one (template, search) pair')
    responses = {pair: response_size(*pair, stride=stride) for pair in sizes}
    if len(set(responses.values())) > 1:
        raise ValueError(f'test size pairs give different response sizes: {responses}')
    return [(s_z, search_side(s_z, q1, q2)) for q1, q2 in sizes]


def draw_training_sizes(rng: np.random.Generator, offsets=TRAIN_OFFSETS,
                        base_sizes=TRAIN_SIZES) -> tuple:
    """(127+δ, 239+δ) with δ drawn uniformly from `offsets`; one draw per batch.

    The search then covers `search_side(s_z, 127+δ, 239+δ)` image px, at the template's
    pixel scale; the response stays 15×15.
    """
    delta = int(offsets[rng.integers(len(offsets))])
    return base_sizes[0] + delta, base_sizes[1] + delta
