"""The data block pipeline on a user's own folder: generated JPEGs in a temporary `train|val/<class>/` tree."""
import warnings

import pytest
import torch
from PIL import Image

from course_lib.data import DataWarning
from course_lib.data_block import (ImageReadError, get_files, image_databunch, image_extensions,
                                   random_splitter)


def make_folder(root, classes=('cat', 'dog'), n_train=6, n_valid=2, size=(40, 30)):
    "A tiny dataset: `n_train`/`n_valid` solid-colour JPEGs per class; class i is brighter than i-1."
    for split, n in (('train', n_train), ('val', n_valid)):
        for c, name in enumerate(classes):
            folder = root/split/name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                Image.new('RGB', size, (60 * c + i, 100, 200)).save(folder/f'{name}_{i}.jpg', quality=95)
    return root


def truncate(fn, keep=200):
    "Cut the JPEG at `fn` short, as an interrupted copy would."
    fn.write_bytes(fn.read_bytes()[:keep])


def batches(dl): return [(xb, yb) for xb, yb in dl]


def test_user_folder_gives_a_databunch(tmp_path):
    path = make_folder(tmp_path)
    (path/'train'/'cat'/'notes.txt').write_text('not an image')
    (path/'train'/'cat'/'.hidden.jpg').write_bytes(b'')
    dls = image_databunch(path, size=16, bs=4, num_workers=0)
    assert dls.c == 2 and dls.vocab == ['cat', 'dog']
    assert len(dls.train_ds) == 12 and len(dls.valid_ds) == 4
    xb, yb = next(iter(dls.valid_dl))
    assert xb.shape == (4, 3, 16, 16) and xb.dtype == torch.float32
    assert yb.tolist() == [0, 0, 1, 1]
    assert sum(len(yb) for _, yb in batches(dls.train_dl)) == 12


def test_stats_none_gives_pixels_in_0_1(tmp_path):
    dls = image_databunch(make_folder(tmp_path), size=8, bs=4, num_workers=0, stats=None)
    xb, _ = next(iter(dls.valid_dl))
    assert 0 <= xb.min() and xb.max() <= 1
    assert abs(xb[0, 2].mean().item() - 200 / 255) < 0.02   # blue channel of a cat image


def test_workers_give_the_same_batches(tmp_path):
    path = make_folder(tmp_path)
    plain = batches(image_databunch(path, size=8, bs=4, num_workers=0).valid_dl)
    workers = batches(image_databunch(path, size=8, bs=4, num_workers=2).valid_dl)
    assert len(plain) == len(workers)
    for (x0, y0), (x1, y1) in zip(plain, workers):
        assert torch.equal(x0, x1) and torch.equal(y0, y1)


def test_missing_valid_folder_says_what_is_expected(tmp_path):
    path = make_folder(tmp_path)
    (path/'val').rename(path/'valid')
    with pytest.raises(FileNotFoundError, match=r"No images in .*val/<class>/ \(folders found: train, valid\)"):
        image_databunch(path, num_workers=0)
    assert image_databunch(path, size=8, valid_name='valid', num_workers=0).c == 2


def test_valid_class_without_training_images_is_an_error(tmp_path):
    path = make_folder(tmp_path)
    (path/'val'/'bird').mkdir()
    Image.new('RGB', (8, 8)).save(path/'val'/'bird'/'b.jpg')
    with pytest.raises(ValueError, match="not in the training set: 'bird'"):
        image_databunch(path, num_workers=0)


@pytest.mark.parametrize('num_workers', [0, 2])
def test_truncated_jpeg_raises_naming_the_file(tmp_path, num_workers):
    path = make_folder(tmp_path)
    truncate(path/'val'/'dog'/'dog_1.jpg')
    dls = image_databunch(path, size=8, bs=4, num_workers=num_workers)
    with pytest.raises(OSError, match=r"Cannot read the image .*val/dog/dog_1\.jpg.*on_error='skip'"):
        batches(dls.valid_dl)


@pytest.mark.parametrize('num_workers', [0, 2])
def test_truncated_jpeg_skipped_with_one_warning(tmp_path, num_workers):
    path = make_folder(tmp_path)
    for name in ('dog_0.jpg', 'dog_1.jpg'):
        truncate(path/'val'/'dog'/name)
    (path/'train'/'cat'/'cat_3.jpg').write_bytes(b'not a jpeg at all')
    dls = image_databunch(path, size=8, bs=2, num_workers=num_workers, on_error='skip')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        valid, train = batches(dls.valid_dl), batches(dls.train_dl)
    data_warnings = [w for w in caught if issubclass(w.category, DataWarning)]
    assert len(data_warnings) == 1, [str(w.message) for w in caught]
    assert 'Skipped the unreadable image' in str(data_warnings[0].message)
    assert [yb.tolist() for _, yb in valid] == [[0, 0]]   # the dogs' batch was dropped whole
    assert sum(len(yb) for _, yb in train) == 11
    assert sorted(name.split(' ')[0].rsplit('/', 1)[-1] for name in dls.train_dl.skipped) == \
        ['cat_3.jpg', 'dog_0.jpg', 'dog_1.jpg']


def test_image_read_error_is_an_oserror():
    assert issubclass(ImageReadError, OSError)


def test_get_files_filters_extensions_in_any_case(tmp_path):
    for name in ('a.JPG', 'b.jpeg', 'c.png', 'd.txt', '.e.jpg'):
        (tmp_path/name).write_bytes(b'')
    (tmp_path/'sub').mkdir()
    (tmp_path/'sub'/'f.jpg').write_bytes(b'')
    names = lambda files: [f.name for f in files]
    assert names(get_files(tmp_path, image_extensions)) == ['a.JPG', 'b.jpeg', 'c.png', 'f.jpg']
    assert names(get_files(tmp_path, ['jpg'], recurse=False)) == ['a.JPG']
    assert names(get_files(tmp_path)) == ['a.JPG', 'b.jpeg', 'c.png', 'd.txt', 'f.jpg']


def test_random_splitter_is_seeded_and_order_free():
    files = [f'train/c{i % 3}/{i}.jpg' for i in range(1000)]
    split = random_splitter(0.2, seed=3)
    valid = {f for f in files if split(f)}
    assert valid == {f for f in reversed(files) if random_splitter(0.2, seed=3)(f)}
    assert 150 < len(valid) < 250
    assert valid != {f for f in files if random_splitter(0.2, seed=4)(f)}
