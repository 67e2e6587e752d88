"""The data block pipeline on a user's own folder: generated JPEGs in a temporary `train|val/<class>/` tree."""
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

import course_lib.data_block as data_block
from course_lib.data import DataWarning
from course_lib.data_block import (ImageReadError, ResizeFixed, get_files, image_databunch, image_extensions,
                                   random_splitter, simplejpeg_available, to_float_tensor)


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


def test_png_grey_and_palette_images_give_three_channels(tmp_path):
    path = make_folder(tmp_path)
    Image.new('RGBA', (30, 20), (10, 20, 30, 0)).save(path/'train'/'cat'/'rgba.png')
    Image.new('L', (30, 20), 77).save(path/'train'/'dog'/'grey.jpg')
    Image.new('P', (30, 20), 3).save(path/'val'/'dog'/'palette.gif')
    dls = image_databunch(path, size=8, bs=32, num_workers=0, stats=None)
    xb, yb = next(iter(dls.train_dl))
    assert xb.shape == (14, 3, 8, 8)
    grey = [i for i, fn in enumerate(dls.train_ds.x.items) if fn.name == 'grey.jpg'][0]
    x, _ = dls.train_ds[grey]
    assert x.shape == (3, 8, 8) and (x.float() - 77).abs().max() <= 2
    assert len(next(iter(dls.valid_dl))[1]) == 5


def test_float_items_are_normalised_like_byte_items(tmp_path):
    path = make_folder(tmp_path)
    as_bytes = next(iter(image_databunch(path, size=8, num_workers=0).valid_dl))[0]
    as_floats = next(iter(image_databunch(path, size=8, num_workers=0, tfms=to_float_tensor,
                                          valid_tfms=to_float_tensor).valid_dl))[0]
    torch.testing.assert_close(as_floats, as_bytes)


def test_resize_fixed_matches_pil_bilinear(tmp_path):
    g = torch.Generator().manual_seed(0)
    smooth = torch.nn.functional.interpolate(torch.rand(1, 3, 12, 16, generator=g), (150, 200), mode='bilinear')
    Image.fromarray((smooth[0].permute(1, 2, 0) * 255).byte().numpy()).save(tmp_path/'a.jpg', quality=95)
    ours = ResizeFixed(64)(Image.open(tmp_path/'a.jpg')).permute(1, 2, 0).float()
    pil = torch.from_numpy(np.array(Image.open(tmp_path/'a.jpg').convert('RGB').resize((64, 64), Image.Resampling.BILINEAR)))
    assert ours.shape == (64, 64, 3)
    assert (ours - pil.float()).abs().mean() < 1.5


@pytest.mark.skipif(not simplejpeg_available(), reason='simplejpeg is not installed (pip install simplejpeg)')
def test_simplejpeg_and_pil_decode_alike(tmp_path, monkeypatch):
    path = make_folder(tmp_path, n_train=1, n_valid=1, size=(160, 213))
    fn = path/'train'/'cat'/'cat_0.jpg'
    fast = ResizeFixed(64)(Image.open(fn))
    monkeypatch.setattr(data_block, 'simplejpeg_available', lambda: False)
    slow = ResizeFixed(64)(Image.open(fn))
    assert (fast.float() - slow.float()).abs().max() <= 3


def test_byte_batches_converted_by_the_loader_match_worker_floats(tmp_path):
    "The GPU path (bytes through the DataLoader, floats made by ImageLoader) gives the CPU path's batches."
    from functools import partial
    from torch.utils.data import DataLoader
    from course_lib.data_block import ImageLoader, collate_images, imagenet_stats
    dls = image_databunch(make_folder(tmp_path), size=8, bs=4, num_workers=0)
    ds = dls.valid_ds
    as_bytes = DataLoader(ds, 8, collate_fn=partial(collate_images, stats=imagenet_stats, floats=False))
    xb_bytes, _, _ = next(iter(as_bytes))
    assert xb_bytes.dtype == torch.uint8
    xb, _ = next(iter(ImageLoader(as_bytes, imagenet_stats)))
    torch.testing.assert_close(xb, next(iter(dls.valid_dl))[0])


def _collate_noting_shared(batch, stats):
    "`collate_images`, and whether its batch was in shared memory before the DataLoader sent it."
    from course_lib.data_block import collate_images
    out = collate_images(batch, stats)
    return out, out[0].is_shared()


def test_worker_batches_are_floats_made_in_shared_memory(tmp_path):
    "In a worker, bytes are stacked straight into a shared float batch: the same values, nothing to copy."
    from functools import partial
    from torch.utils.data import DataLoader
    from course_lib.data_block import collate_images, imagenet_stats, normalize_batch
    dls = image_databunch(make_folder(tmp_path), size=8, bs=4, num_workers=0)
    ds = dls.valid_ds
    items = [ds[i] for i in range(len(ds))]
    expected = normalize_batch(torch.stack([x for x, _ in items]), imagenet_stats)
    for stats, want in ((imagenet_stats, expected), (None, torch.stack([x for x, _ in items]) / 255)):
        dl = DataLoader(ds, len(ds), num_workers=1, collate_fn=partial(_collate_noting_shared, stats=stats))
        (xb, yb, skipped), shared_in_worker = next(iter(dl))
        assert xb.dtype == torch.float32 and shared_in_worker and skipped == []
        torch.testing.assert_close(xb, want)
        assert yb.tolist() == [y for _, y in items]


def test_worker_batches_without_the_private_shared_memory_call(tmp_path, monkeypatch):
    "Should a PyTorch release drop `UntypedStorage._new_shared`, batches are made in ordinary memory, same values."
    from functools import partial
    from torch.utils.data import DataLoader
    from course_lib.data_block import imagenet_stats, normalize_batch
    monkeypatch.setattr(torch.UntypedStorage, '_new_shared', None)   # the workers are forked after this
    ds = image_databunch(make_folder(tmp_path), size=8, bs=4, num_workers=0).valid_ds
    dl = DataLoader(ds, len(ds), num_workers=1, collate_fn=partial(_collate_noting_shared, stats=imagenet_stats))
    (xb, _, _), shared_in_worker = next(iter(dl))
    assert not shared_in_worker
    torch.testing.assert_close(xb, normalize_batch(torch.stack([ds[i][0] for i in range(len(ds))]), imagenet_stats))


def test_first_per_class_keeps_n_of_each_class_per_side(tmp_path):
    from collections import Counter

    from course_lib.data_block import first_per_class
    files = sorted(get_files(make_folder(tmp_path, n_train=5, n_valid=3), extensions=image_extensions))
    keep = first_per_class(2, 1)
    sides = {fn: keep(fn) for fn in files}
    kept = Counter((side, fn.parent.name) for fn, side in sides.items() if side is not None)
    assert kept == {(False, 'cat'): 2, (False, 'dog'): 2, (True, 'cat'): 1, (True, 'dog'): 1}
    assert all(side is None for fn, side in sides.items() if fn.parent.parent.name not in ('train', 'val'))
    everything = first_per_class(None, None)
    assert sum(everything(fn) is not None for fn in files) == len(files)
