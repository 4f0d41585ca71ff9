"""Coordinate search of tracker settings on real sequences (`training/tune.py`)."""
import pytest

from siam_tracker_ros.training.tune import coordinate_search, main, parse_grid
from siam_tracker_ros.training.validate import load_sequences


def test_parse_grid_types_and_errors():
    assert parse_grid(['scale_num=3,5', 'window_influence=0.2,0.3']) == {
        'scale_num': [3, 5], 'window_influence': [0.2, 0.3]}
    with pytest.raises(SystemExit, match='field=v1'):
        parse_grid(['window_influence'])


def test_search_keeps_the_best_trial_and_caches_repeats(sot_dir):
    sequences = [s for s in load_sequences(sot_dir, max_frames=12)
                 if s[0] in ('otb_Crossing', 'vot15_ball1')]
    lines = []
    best, trials = coordinate_search('siamfc', 'default', sequences,
                                     {'hold_score': [0.0, 0.9999]}, rounds=2, log=lines.append)
    means = {t[0].get('hold_score', 'as is'): t[1]['mean'] for t in trials}
    assert len(trials) == 3 == len(lines)          # config as is, 0.0, 0.9999; round 2 cached
    assert means[0.9999] < means[0.0] - 0.05       # a box that never moves loses the target
    assert best.get('hold_score', 0.0) == 0.0
    assert set(trials[0][1]) == {'otb_Crossing', 'vot15_ball1', 'mean'}


def test_unknown_field_is_an_error(sot_dir):
    with pytest.raises(Exception, match='no_such_field'):
        main(['--tracker', 'siamfc', '--root', str(sot_dir), '--max-frames', '2',
              '--grid', 'no_such_field=1,2'])


def test_main_prints_the_trials_and_a_per_sequence_table(sot_dir, capsys):
    assert main(['--tracker', 'siamfc', '--root', str(sot_dir), '--max-frames', '3',
                 '--grid', 'hold_score=0.0']) == 0
    out = capsys.readouterr().out
    assert '| config as is |' in out and '| hold_score=0.0 |' in out
    assert '| sequence | start | best |' in out and '| otb_Crossing |' in out
    assert '| **mean** |' in out
