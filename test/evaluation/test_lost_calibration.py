"""`siam-track calibrate-lost` on a real 2-clip subset, and the LOST scoring it is built on."""
import dataclasses

import numpy as np
import pytest

from siam_tracker_ros import build_tracker
from siam_tracker_ros.cli.main import main
from siam_tracker_ros.evaluation.lost_calibration import (episodes, replay, score_states,
                                                          separation)
from siam_tracker_ros.evaluation.lost_records import run_fingerprint
from siam_tracker_ros.models.weights import (PACKAGE_WEIGHTS_DIR, InputFormat, load_weights,
                                             save_weights)
from siam_tracker_ros.status import LOST, TRACKING

CLIPS = ('sot/otb_Crossing', 'sot_val/otb_Skiing')   # Skiing: a small skier in snow
FRAMES = 50


def subset(sot_dir, root):
    """An OTB-layout folder with the first FRAMES frames of CLIPS (links to the real files)."""
    for clip in CLIPS:
        source, name = sot_dir.parent / clip, clip.split('/')[1]
        (root / name / 'img').mkdir(parents=True)
        frames = sorted((source / 'img').iterdir())[:FRAMES]
        for frame in frames:
            (root / name / 'img' / frame.name).symlink_to(frame)
        truth = (source / 'groundtruth_rect.txt').read_text().splitlines()[:FRAMES]
        (root / name / 'groundtruth_rect.txt').write_text('\n'.join(truth) + '\n')
    return root


def test_scoring_counts_frames_episodes_and_delay():
    iou = np.array([0.8, 0.05, 0.02, 0.01, 0.6, np.nan, 0.0, 0.0, 0.7])
    states = np.array([TRACKING, TRACKING, TRACKING, LOST, LOST, LOST, TRACKING, TRACKING,
                       TRACKING])
    score = score_states(states, iou)
    assert (score.frames, score.lost, score.flagged, score.hits) == (8, 5, 2, 1)
    assert (score.episodes, score.caught, score.delays) == (2, 1, (2,))
    assert score.precision == 0.5 and score.recall == 0.2
    assert episodes(np.array([True, False, True, True])) == [(0, 1), (2, 4)]


def test_separation_is_the_area_under_the_roc_curve():
    """Lost frames (IoU < 0.1) against tracked ones, by hand: low values mean lost, except
    second_peak; ties count half; frames without ground truth are left out."""
    record = {'iou': np.array([0.0, 0.05, 0.5, 0.8, 0.9, np.nan]),
              'score': np.array([0.1, 0.6, 0.5, 0.9, 0.95, 0.0]),
              'second_peak': np.array([0.9, 0.8, 0.2, 0.1, 0.8, 1.0])}
    assert separation([record], 'score') == pytest.approx(5 / 6)   # 0.6 beats 0.5 only
    assert separation([record], 'second_peak') == pytest.approx((3 + 2.5) / 6)
    assert np.isnan(separation([{'iou': np.array([0.5]), 'score': np.array([0.2])}], 'score'))


def test_replay_acts_on_the_recorded_colour():
    """A confident map whose box loses the target's colour: LOST only with the colour test."""
    n = 20
    record = {'score': np.full(n, 0.95), 'apce': np.full(n, 20.0), 'psr': np.full(n, 8.0),
              'second_peak': np.full(n, 0.3), 'iou': np.full(n, 0.5),
              'colour': np.r_[np.ones(10), np.full(10, 0.3)]}
    config = dataclasses.replace(build_tracker('siamfc').config, lost_rule='confidence',
                                 lost_score=0.0, lost_drop=0.0, lost_apce=0.0, lost_psr=0.0,
                                 lost_colour=0.0, lost_frames=3)
    assert not np.any(replay(record, config) == LOST)
    states = replay(record, dataclasses.replace(config, lost_colour=0.6))
    assert np.flatnonzero(states == LOST).tolist() == list(range(12, 20))


def test_calibrate_lost_writes_both_tables_and_reuses_its_cache(sot_dir, tmp_path, capsys):
    data = subset(sot_dir, tmp_path / 'subset')
    doc = tmp_path / 'doc.md'
    doc.write_text('# Doc\n<!-- lost-calibration:begin -->\nold\n<!-- lost-calibration:end -->\n'
                   '<!-- redetect:begin -->\nold\n<!-- redetect:end -->\ntail\n')
    args = ['calibrate-lost', '--tracker', 'siamfc', '--weights', 'default', '--select',
            str(data), '--cache', str(tmp_path / 'cache'), '--doc', str(doc), '--redetect']
    assert main(args) == 0
    text = doc.read_text()
    assert 'old' not in text and text.startswith('# Doc') and text.endswith('tail\n')
    for rule in ('chosen', 'shipped', 'score only'):
        assert f'| siamfc_mobilenetv2 | subset | {rule} |' in text
    assert '| data | sequence | AUC off | AUC on |' in text
    assert '| weights | data | score | apce | psr | second_peak | colour |' in text
    cached = sorted((tmp_path / 'cache').rglob('*.npz'))
    with np.load(cached[0]) as record:
        assert 'colour' in record.files and np.all(record['colour'] >= 0)
    assert {p.stem for p in cached} >= {clip.split('/')[1] for clip in CLIPS}
    losing = {p.stem for p in cached if np.any(np.load(p)['iou'] < 0.1)}
    for name in {clip.split('/')[1] for clip in CLIPS}:
        assert (f'| subset | {name} |' in text) == (name in losing)
    stamps = [p.stat().st_mtime_ns for p in cached]
    first = capsys.readouterr().out
    assert main(args) == 0
    assert [p.stat().st_mtime_ns for p in cached] == stamps
    assert capsys.readouterr().out == first


def test_calibrate_lost_refuses_a_doc_without_the_block(sot_dir, tmp_path, capsys):
    data = subset(sot_dir, tmp_path / 'subset')
    doc = tmp_path / 'doc.md'
    doc.write_text('# no block\n')
    args = ['calibrate-lost', '--weights', 'default', '--select', str(data), '--max-sequences',
            '1', '--cache', str(tmp_path / 'cache'), '--doc', str(doc)]
    assert main(args) == 2
    assert 'lost-calibration:begin' in capsys.readouterr().err
    assert doc.read_text() == '# no block\n'


def test_retrained_weights_of_the_same_name_and_size_get_their_own_records(tmp_path):
    """The record cache is keyed by the weights file's bytes, not its name and size."""
    payload = load_weights(PACKAGE_WEIGHTS_DIR / 'siamfc_mobilenetv2.pt')
    files = []
    for run, scale in (('a', 1.0), ('b', 0.5)):
        state = {k: v * scale if k.endswith('neck.0.weight') else v
                 for k, v in payload['state_dict'].items()}
        files.append(save_weights(tmp_path / run / 'siamfc_mobilenetv2.pt', state, 'siamfc',
                                  payload['backbone'], InputFormat.from_dict(payload['input'])))
    assert files[0].stat().st_size == files[1].stat().st_size
    prints = {run_fingerprint(build_tracker('siamfc', weights=f)) for f in files}
    assert len(prints) == 2


def test_report_weights_are_reported_with_the_setting_chosen_for_the_others(sot_dir, tmp_path,
                                                                            capsys):
    """`--report-weights`: the second file gets rows, the setting is the first file's own."""
    data = subset(sot_dir, tmp_path / 'subset')
    alexnet = str(PACKAGE_WEIGHTS_DIR / 'siamfc_alexnet.pt')
    common = ['calibrate-lost', '--tracker', 'siamfc', '--select', str(data), '--max-sequences',
              '1', '--cache', str(tmp_path / 'cache')]
    assert main(common + ['--weights', 'default']) == 0
    alone = capsys.readouterr().out
    assert main(common + ['--weights', 'default', '--report-weights', alexnet]) == 0
    both = capsys.readouterr().out
    chosen_line = next(line for line in alone.splitlines() if 'Chosen on' in line)
    assert 'for siamfc_mobilenetv2:' in chosen_line
    assert chosen_line in both.splitlines()
    assert '| siamfc_alexnet | subset | chosen |' in both
    assert '| siamfc_alexnet | subset |' not in alone
    assert f'--report-weights {alexnet}' in both
