"""image_databunch's subset and split options, its unknown-argument check, first_per_class used twice, DataBunch without c."""
import pytest
import torch
from torch.utils.data import DataLoader

from course_lib.data_block import (ImageList, SplitData, first_per_class, image_databunch,
                                   image_extensions)
from course_lib.training import ArrayDataset, DataBunch
from test_data_block import make_folder


def test_unknown_arguments_get_one_line_naming_the_options(tmp_path):
    path = make_folder(tmp_path)
    with pytest.raises(TypeError, match=r"unknown arguments \['n_per_class'\].*n_train= and n_valid="):
        image_databunch(path, size=8, num_workers=0, n_per_class=2)
    dls = image_databunch(path, size=8, bs=4, num_workers=0, drop_last=True)   # a DataLoader option
    assert len(dls.train_dl) == 3


def test_n_train_and_n_valid_keep_the_first_images_of_each_class(tmp_path):
    path = make_folder(tmp_path, n_train=6, n_valid=3)
    dls = image_databunch(path, size=8, bs=4, num_workers=0, n_train=2, n_valid=1)
    assert (len(dls.train_ds), len(dls.valid_ds), dls.c) == (4, 2, 2)
    assert sorted(dls.train_ds.y.items) == [0, 0, 1, 1]


def test_valid_pct_splits_the_training_folder(tmp_path):
    path = make_folder(tmp_path, n_train=20, n_valid=3)
    dls = image_databunch(path, size=8, bs=4, num_workers=0, valid_pct=0.25)
    assert len(dls.train_ds) + len(dls.valid_ds) == 40               # val/ is not read
    assert 4 <= len(dls.valid_ds) <= 18
    assert all(fn.parent.parent.name == 'train' for fn in dls.valid_ds.x.items)
    again = image_databunch(path, size=8, bs=4, num_workers=0, valid_pct=0.25)
    assert again.valid_ds.x.items == dls.valid_ds.x.items           # seeded: the same split
    with pytest.raises(ValueError, match='left the validation set empty'):
        image_databunch(path, size=8, num_workers=0, valid_pct=1e-9)


def test_first_per_class_used_for_a_second_split_says_so(tmp_path):
    il = ImageList.from_files(make_folder(tmp_path))
    keep = first_per_class(2, 1)
    sd = SplitData.split_by_func(il, keep)
    assert (len(sd.train), len(sd.valid)) == (4, 2)
    with pytest.raises(ValueError, match='make a new one for each split'):
        SplitData.split_by_func(il, keep)          # used to give 0 train, 0 valid, silently


def test_a_split_that_keeps_nothing_is_an_error(tmp_path):
    il = ImageList.from_files(make_folder(tmp_path))
    with pytest.raises(ValueError, match='left out all 16 items'):
        SplitData.split_by_func(il, lambda fn: None)


def test_databunch_without_c_says_what_is_missing():
    ds = ArrayDataset(torch.zeros(4, 2), torch.zeros(4))
    dls = DataBunch(DataLoader(ds), DataLoader(ds))
    with pytest.raises(AttributeError, match='made without c.*c=10'): dls.c
    assert getattr(dls, 'c', None) is None                         # code that checks still can
    dls.c = 3
    assert dls.c == 3 and DataBunch(DataLoader(ds), DataLoader(ds), c=2).c == 2
