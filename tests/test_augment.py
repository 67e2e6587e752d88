"""Augmentation (10): the geometry of the PIL transforms and of the batch affine transform."""
import random
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from course_lib.augment import (BatchAffine, CenterCrop, GeneralCrop, PilRandomDihedral, PilRandomFlip,
                                PilTiltRandomCrop, RandomResizedCrop, affine_batch, find_coeffs, random_affine,
                                rotation_matrix, warp)


@pytest.fixture
def img():
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, (60, 80, 3), dtype=np.uint8))


def pixels(im): return np.asarray(im).astype(int)


def test_pil_transforms_run_before_the_resize_to_a_tensor():
    for tfm in (PilRandomFlip(), PilRandomDihedral(), CenterCrop(32), RandomResizedCrop(32),
                PilTiltRandomCrop(32)):
        assert tfm.order < 10    # before 08's ResizeFixed turns the image into a tensor


def test_flipping_twice_is_the_identity(img):
    flip = PilRandomFlip(p=1.)
    assert (pixels(flip(img)) == pixels(img)[:, ::-1]).all()
    assert (pixels(flip(flip(img))) == pixels(img)).all()
    assert pixels(PilRandomFlip(p=0.)(img)) is not None and (pixels(PilRandomFlip(p=0.)(img)) == pixels(img)).all()
    inverse = {Image.Transpose.ROTATE_90: Image.Transpose.ROTATE_270, Image.Transpose.ROTATE_270: Image.Transpose.ROTATE_90}
    for op in Image.Transpose:
        assert (pixels(img.transpose(op).transpose(inverse.get(op, op))) == pixels(img)).all(), op


def test_dihedral_never_returns_the_input_unchanged_when_p_is_1(img):
    random.seed(0)
    for _ in range(20): assert not np.array_equal(pixels(PilRandomDihedral(p=1.)(img)), pixels(img))


def test_whole_image_crop_is_exact_and_centre_crop_is_centred(img):
    assert (pixels(GeneralCrop(img.size)(img)) == pixels(img)).all()
    left, top, right, bottom = CenterCrop(32, scale=1.2).crop_box(80, 60)
    assert (left + right) / 2 == 40 and (top + bottom) / 2 == 30 and right - left == pytest.approx(50)
    assert CenterCrop((40, 30))(img).size == (40, 30)


def test_random_resized_crop_stays_inside_and_falls_back():
    random.seed(1)
    rrc = RandomResizedCrop(32, scale=(0.08, 1.), ratio=(3 / 4, 4 / 3))
    for _ in range(500):
        left, top, right, bottom = rrc.crop_box(300, 100)
        assert 0 <= left < right <= 300 and 0 <= top < bottom <= 100
        assert 3 / 4 - 1e-9 <= (right - left) / (bottom - top) <= 4 / 3 + 1e-9
    # 2019's module raised a TypeError here (course-v3 #384): no box of 150-200 % of the area fits
    box = RandomResizedCrop(32, scale=(1.5, 2.)).crop_box(300, 100)
    assert box == pytest.approx((150 - 200 / 3, 0, 150 + 200 / 3, 100))
    assert RandomResizedCrop(32, scale=(1.5, 2.))(Image.new('RGB', (300, 100))).size == (32, 32)


def test_perspective_coefficients_map_the_known_corners_exactly():
    targ = [(0, 0), (0, 50), (70, 50), (70, 0)]
    src = [(3.5, -2), (1, 55), (66, 48), (75, 4)]
    a, b, c, d, e, f, g, h = find_coeffs(targ, src)
    for (x, y), (u, v) in zip(targ, src):
        den = g * x + h * y + 1
        assert (a * x + b * y + c) / den == pytest.approx(u, abs=1e-9)
        assert (d * x + e * y + f) / den == pytest.approx(v, abs=1e-9)


def test_warp_onto_its_own_corners_is_the_identity_and_a_shift_moves_pixels(img):
    w, h = img.size
    assert (pixels(warp(img, img.size, [(0, 0), (0, h), (w, h), (w, 0)])) == pixels(img)).all()
    shifted = warp(img, (w - 10, h), [(10, 0), (10, h), (w, h), (w, 0)])   # drop the first 10 columns
    assert np.abs(pixels(shifted) - pixels(img)[:, 10:]).max() <= 1
    assert PilTiltRandomCrop(32, crop_size=40, magnitude=0.2)(img).size == (32, 32)


def test_identity_affine_returns_the_input():
    x = torch.rand(3, 2, 9, 12)
    theta = torch.tensor([[1., 0., 0.], [0., 1., 0.]]).expand(3, 2, 3)
    assert torch.allclose(affine_batch(x, theta), x, atol=1e-6)
    assert torch.allclose(affine_batch(x, rotation_matrix(torch.zeros(3))), x, atol=1e-6)


def test_rotations_and_mirror_match_exact_tensor_operations():
    x = torch.rand(2, 3, 16, 16)
    assert torch.allclose(affine_batch(x, rotation_matrix(torch.full((2,), 90.))), torch.rot90(x, 1, (2, 3)), atol=1e-5)
    assert torch.allclose(affine_batch(x, rotation_matrix(torch.full((2,), 180.))), x.flip(2, 3), atol=1e-5)
    mirror = torch.tensor([[-1., 0., 0.], [0., 1., 0.]]).expand(2, 2, 3)
    assert torch.allclose(affine_batch(x, mirror), x.flip(-1), atol=1e-6)


def test_random_affine_draws_within_its_ranges():
    torch.manual_seed(0)
    theta = random_affine(1000, max_rotate=30., max_zoom=1.5, p_flip=0.5)
    det = torch.linalg.det(theta[:, :, :2])          # flip * zoom**2, zoom in [1/1.5, 1]
    assert ((det.abs() >= 1 / 1.5**2 - 1e-6) & (det.abs() <= 1 + 1e-6)).all()
    assert 0.4 < (det < 0).float().mean() < 0.6      # about half are mirrored
    angle = torch.rad2deg(torch.atan2(theta[:, 1, 0], theta[:, 1, 1].abs()))
    assert angle.abs().max() <= 30 + 1e-4
    assert (theta[:, :, 2] == 0).all()


def test_batch_affine_callback_augments_training_batches_only():
    torch.manual_seed(0)
    xb = torch.rand(4, 3, 16, 16)
    cb = BatchAffine(max_rotate=20.)
    run = SimpleNamespace(xb=xb, in_train=True)
    cb.begin_batch(run)
    assert run.xb.shape == xb.shape and not torch.allclose(run.xb, xb)
    run = SimpleNamespace(xb=xb, in_train=False)
    cb.begin_batch(run)
    assert run.xb is xb


def test_transforms_plug_into_the_data_block_pipeline(tmp_path):
    from course_lib.data_block import image_databunch
    rng = np.random.default_rng(0)
    for split in ('train', 'val'):
        for label in ('a', 'b'):
            (tmp_path/split/label).mkdir(parents=True)
            for i in range(2):
                Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(tmp_path/split/label/f'{i}.jpg')
    dls = image_databunch(tmp_path, size=24, bs=4, num_workers=0, tfms=[PilRandomFlip(), RandomResizedCrop(24)],
                          batch_tfms=[BatchAffine()])
    xb, yb = next(iter(dls.train_dl))
    assert xb.shape == (4, 3, 24, 24) and xb.dtype == torch.float32
    xb, yb = next(iter(dls.valid_dl))
    assert xb.shape == (4, 3, 24, 24)
