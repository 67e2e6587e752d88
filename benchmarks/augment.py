"""Augmentation per image: 10's PIL transforms, one image at a time, against 10's batch affine transform.

The baseline is the CPU work a data loader does per image to augment it: a random resized crop to 128 px and a
random flip with PIL (`RandomResizedCrop`, `PilRandomFlip`), on an already decoded Imagenette image. The
alternative augments a whole batch of 64 images of 128 px at once with `BatchAffine` (a random rotation, zoom and
flip per image: one `affine_grid` and one `grid_sample`), on the CPU, and on the GPU when there is one. Rounds
alternate between the two; each prints the median over rounds of microseconds per image, and the ratio
batch / PIL (below 1: the batch transform costs less per image).

    python benchmarks/augment.py [--quick]
"""
import statistics
import time

import numpy as np
import torch
from PIL import Image

from course_lib.augment import BatchAffine, PilRandomFlip, RandomResizedCrop
from course_lib.core import default_device, set_seed, synchronize
from course_lib.data import untar_data
from course_lib.data_block import compose, get_files
from _cli import benchmark_parser


def per_image(f, n_images, device=None, min_seconds=0.2):
    "Seconds per image of `f()`, which augments `n_images`, repeated for at least `min_seconds`."
    f()   # warm up (and allocate)
    synchronize(device)
    start, calls = time.perf_counter(), 0
    while time.perf_counter() - start < min_seconds:
        f()
        calls += 1
    synchronize(device)
    return (time.perf_counter() - start) / (calls * n_images)


def main():
    args = benchmark_parser(__doc__, 'fewer rounds (under a minute on 2 CPU cores)').parse_args()
    rounds, bs = (3, 64) if args.quick else (9, 64)
    set_seed(0)
    files = get_files(untar_data('imagenette2-160')/'train', ['.jpeg', '.jpg'])[:bs]
    images = [Image.open(f).convert('RGB') for f in files]
    tfms = [PilRandomFlip(), RandomResizedCrop(128)]
    batch = torch.stack([torch.from_numpy(np.asarray(im.resize((128, 128)), dtype=np.float32) / 255).permute(2, 0, 1)
                         for im in images])                                  # (bs, 3, 128, 128)
    augment = BatchAffine()
    pil, cpu = [], []
    for _ in range(rounds):
        pil.append(per_image(lambda: [compose(im, tfms) for im in images], len(images)))
        cpu.append(per_image(lambda: augment(batch), bs))
    pil_us, cpu_us = statistics.median(pil) * 1e6, statistics.median(cpu) * 1e6
    print(f'augment_pil_cpu_per_image: {pil_us:.0f} us')
    print(f'augment_batch_cpu_per_image_bs{bs}: {cpu_us:.0f} us')
    print(f'augment_batch_vs_pil_cpu: {statistics.median(c / p for c, p in zip(cpu, pil)):.2f}x')
    device = default_device()
    if device.type != 'cuda':
        print('augment_batch_gpu_per_image: skipped (no CUDA)')
        print('augment_batch_gpu_vs_pil_cpu: skipped (no CUDA)')
        return
    gpu_batch = batch.to(device)
    gpu = [per_image(lambda: augment(gpu_batch), bs, device) for _ in range(rounds)]
    gpu_us = statistics.median(gpu) * 1e6
    print(f'augment_batch_gpu_per_image_bs{bs}: {gpu_us:.1f} us')
    print(f'augment_batch_gpu_vs_pil_cpu: {gpu_us / pil_us:.3f}x')


if __name__ == '__main__':
    main()
