"""Dataset readers: every layout on synthetic folders, the real dev set, and bad input."""
import numpy as np
import pytest

from siam_tracker_ros.datasets import DatasetError, detect_layout, load_dataset
from siam_tracker_ros.datasets.otb import read_otb

from conftest import write_frames, write_lines


def test_dev_set_reads_as_otb_layout(sot_dir, sot_sequences):
    dataset = load_dataset(sot_dir)
    assert dataset.layout == 'otb' and dataset.one_based and dataset.protocol == 'ope'
    assert [s.name for s in dataset.sequences] == [p.name for p in sot_sequences]
    assert sum(len(s) for s in dataset.sequences) == 868
    bag = next(s for s in dataset.sequences if s.name == 'vot15_bag')
    assert bag.polygons.shape == (196, 8)
    # groundtruth_rect.txt line 1 is 291.827,124.711,...: 1-based -> 0-based
    np.testing.assert_allclose(bag.boxes[0], [290.827, 123.711, 150.346, 139.578])
    # the rectangle is the tight box around the polygon, both shifted the same way
    np.testing.assert_allclose(bag.boxes[0, :2], bag.polygons[0].reshape(4, 2).min(axis=0))
    crossing = next(s for s in dataset.sequences if s.name == 'otb_Crossing')
    assert crossing.polygons is None and crossing.absent is None


def test_otb_quirks(otb_root):
    sequences = {s.name: s for s in read_otb(otb_root)}
    assert sorted(sequences) == ['Jogging-1', 'Jogging-2', 'Late', 'Tabbed']
    np.testing.assert_array_equal(sequences['Tabbed'].boxes[0], [10, 20, 5, 6])
    np.testing.assert_array_equal(sequences['Jogging-2'].boxes[1], [8, 8, 4, 4])
    assert sequences['Late'].frames[0].endswith('0005.jpg')


def test_otb_partial_ranges(tmp_path):
    write_frames(tmp_path / 'Football1' / 'img', 76)
    write_lines(tmp_path / 'Football1' / 'groundtruth_rect.txt', [(1, 1, 2, 2)] * 74)
    (seq,) = read_otb(tmp_path / 'Football1')
    assert len(seq) == 74 and seq.frames[-1].endswith('0074.jpg')


def test_otb_attributes_file(otb_root):
    (otb_root / 'attributes.txt').write_text('Tabbed: IV, SV\n# comment\nLate: FM\n')
    sequences = {s.name: s for s in read_otb(otb_root)}
    assert sequences['Tabbed'].attributes == ('IV', 'SV')
    assert sequences['Jogging-1'].attributes == ()


def test_uav123(tmp_path):
    root = tmp_path / 'UAV123'
    write_frames(root / 'data_seq' / 'UAV123' / 'bike1', 5, '{:06d}.jpg')
    write_frames(root / 'data_seq' / 'UAV123' / 'car1', 3, '{:06d}.jpg')
    write_lines(root / 'anno' / 'UAV123' / 'bike1_2.txt', [(5, 5, 3, 3), 'NaN,NaN,NaN,NaN'])
    write_lines(root / 'anno' / 'UAV123' / 'car1.txt', [(2, 2, 3, 3)] * 3)
    write_lines(root / 'anno' / 'UAV123' / 'att' / 'car1.txt', [(1,) + (0,) * 10 + (1,)])
    (root / 'configSeqs.m').write_text(
        "seqUAV123={struct('name','bike1_2',"
        "'path','D:\\\\UAV123\\\\data_seq\\\\UAV123\\\\bike1\\\\',"
        "'startFrame',3,'endFrame',4,'nz',6,'ext','jpg','init_rect',[0,0,0,0]),...\n")
    dataset = load_dataset(root)
    assert dataset.layout == 'uav123'
    bike, car = dataset.sequences
    assert bike.name == 'bike1_2' and bike.frames[0].endswith('000003.jpg') and len(bike) == 2
    assert np.isnan(bike.boxes[1]).all()
    np.testing.assert_array_equal(car.boxes[0], [1, 1, 3, 3])
    assert car.attributes == ('SV', 'SOB')


def test_lasot_absence(tmp_path):
    seq = tmp_path / 'lasot' / 'airplane' / 'airplane-1'
    write_frames(seq / 'img', 3, '{:08d}.jpg')
    write_lines(seq / 'groundtruth.txt', [(10, 10, 5, 5), (0, 0, 0, 0), (12, 10, 5, 5)])
    (seq / 'full_occlusion.txt').write_text('0,1,0\n')
    (seq / 'out_of_view.txt').write_text('0,0,1\n')
    dataset = load_dataset(tmp_path / 'lasot')
    assert dataset.layout == 'lasot'
    (sequence,) = dataset.sequences
    np.testing.assert_array_equal(sequence.absent, [False, True, True])
    np.testing.assert_array_equal(sequence.boxes[0], [9, 9, 5, 5])


def _got10k_sequence(folder, n, labels=True):
    write_frames(folder, n, '{:08d}.jpg')
    write_lines(folder / 'groundtruth.txt', [(10, 10, 5, 5)] * (n if labels else 1))
    if labels:
        write_lines(folder / 'absence.label', [(0,)] * (n - 1) + [(1,)])
        write_lines(folder / 'cover.label', [(8,)] * (n - 1) + [(0,)])


def test_got10k_val_and_test(tmp_path):
    root = tmp_path / 'GOT-10k'
    _got10k_sequence(root / 'val' / 'GOT-10k_Val_000001', 3)
    (root / 'val' / 'list.txt').write_text('GOT-10k_Val_000001\n')
    _got10k_sequence(root / 'test' / 'GOT-10k_Test_000001', 4, labels=False)
    (root / 'test' / 'list.txt').write_text('GOT-10k_Test_000001\n')
    dataset = load_dataset(root)
    assert dataset.layout == 'got10k' and dataset.protocol == 'got10k' and not dataset.one_based
    (val,) = dataset.sequences
    np.testing.assert_array_equal(val.absent, [False, False, True])
    np.testing.assert_array_equal(val.extra['cover'], [8, 8, 0])
    np.testing.assert_array_equal(val.boxes[0], [10, 10, 5, 5])
    (test,) = load_dataset(root / 'test').sequences
    assert len(test) == 4 and np.isnan(test.boxes[1:]).all() and test.absent is None


def test_vot_polygons_and_rectangles(tmp_path):
    root = tmp_path / 'vot2018'
    write_frames(root / 'ball' / 'color', 2, '{:08d}.jpg')
    write_lines(root / 'ball' / 'groundtruth.txt', [(1, 1, 3, 1, 3, 3, 1, 3), (2, 2, 2, 2)])
    (root / 'ball' / 'camera_motion.tag').write_text('0\n1\n')
    (root / 'list.txt').write_text('ball\n')
    dataset = load_dataset(root)
    assert dataset.layout == 'vot' and dataset.protocol == 'vot'
    (ball,) = dataset.sequences
    np.testing.assert_array_equal(ball.polygons[0], [0, 0, 2, 0, 2, 2, 0, 2])
    np.testing.assert_array_equal(ball.boxes, [[0, 0, 2, 2], [1, 1, 2, 2]])
    assert ball.attributes == ('camera_motion',)


def test_trackingnet(tmp_path):
    chunk = tmp_path / 'TrackingNet' / 'TEST'
    write_frames(chunk / 'frames' / 'abc_1', 3, '{}.jpg', start=0)
    write_lines(chunk / 'anno' / 'abc_1.txt', [(4, 5, 6, 7)])
    dataset = load_dataset(tmp_path / 'TrackingNet')
    assert dataset.layout == 'trackingnet'
    (seq,) = dataset.sequences
    np.testing.assert_array_equal(seq.boxes[0], [4, 5, 6, 7])
    assert len(seq) == 3 and np.isnan(seq.boxes[2]).all()


def test_plain_single_sequence_folder(otb_root):
    dataset = load_dataset(otb_root / 'Tabbed')
    assert dataset.layout == 'otb' and [s.name for s in dataset.sequences] == ['Tabbed']


def test_error_unknown_layout(tmp_path):
    (tmp_path / 'stuff').mkdir()
    with pytest.raises(DatasetError, match=r'unknown dataset layout'):
        detect_layout(tmp_path)
    with pytest.raises(DatasetError, match='dataset folder not found'):
        load_dataset(tmp_path / 'nowhere')


def test_error_malformed_line_names_file_and_line(otb_root):
    write_lines(otb_root / 'Tabbed' / 'groundtruth_rect.txt', ['1,2,3,4', '1,2,x,4', '1,2,3,4'])
    with pytest.raises(DatasetError, match=r'Tabbed/groundtruth_rect.txt:2: not a list of num'):
        read_otb(otb_root)


def test_error_wrong_value_count_names_line(otb_root):
    write_lines(otb_root / 'Tabbed' / 'groundtruth_rect.txt', ['1,2,3,4', '1,2,3,4', '1,2,3'])
    with pytest.raises(DatasetError, match=r'groundtruth_rect.txt:3: expected 4 values, got 3'):
        read_otb(otb_root)


def test_error_count_mismatch(otb_root):
    write_lines(otb_root / 'Tabbed' / 'groundtruth_rect.txt', [(1, 2, 3, 4)] * 5)
    with pytest.raises(DatasetError, match=r'groundtruth_rect.txt: 5 ground-truth lines but 3 '
                                           r'frames in .*Tabbed/img'):
        read_otb(otb_root)


def test_error_missing_frame(otb_root):
    (otb_root / 'Tabbed' / 'img' / '0002.jpg').unlink()
    with pytest.raises(DatasetError, match=r'Tabbed/img: frame 2 is missing'):
        read_otb(otb_root)


def test_error_missing_listed_sequence(sot_dir, tmp_path):
    root = tmp_path / 'dev'
    root.mkdir()
    (root / 'list.txt').write_text('nothing_here\n')
    (root / 'seq').mkdir()
    write_frames(root / 'seq' / 'img', 1)
    write_lines(root / 'seq' / 'groundtruth_rect.txt', [(1, 1, 2, 2)])
    with pytest.raises(DatasetError, match=r"list.txt: listed sequence 'nothing_here'"):
        load_dataset(root)


def test_error_bad_label_file(tmp_path):
    root = tmp_path / 'GOT-10k'
    _got10k_sequence(root / 'val' / 'GOT-10k_Val_000001', 3)
    (root / 'val' / 'list.txt').write_text('GOT-10k_Val_000001\n')
    (root / 'val' / 'GOT-10k_Val_000001' / 'absence.label').write_text('0\nyes\n0\n')
    with pytest.raises(DatasetError, match=r'absence.label:2: not an integer label'):
        load_dataset(root)
