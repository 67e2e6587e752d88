"""Images per second through 08's data block pipeline against a plain PIL loader, same workers, same cores.

Both loaders read Imagenette2-160's training images (the bundled sample with --quick, or when the data is
missing), shuffled, squash them to 128 px (then 64 px), and hand the main process normalised float batches of 64.
The baseline's items are PIL open -> RGB -> bilinear resize -> float tensor / 255 (`torch.from_numpy(...).float()`,
not the much slower `torch.tensor(..., dtype=float)`), batched by PyTorch's default collate. The library's come
from `image_databunch(...).train_dl`: decoded at reduced scale where that pays, with simplejpeg when installed,
resized as bytes by PyTorch, and made floats as they are stacked into the batch's shared memory. The files are read
once before timing, so that both loaders decode from the page cache rather than wait for the disk, and the main
process reads every page of each batch, as a model would: the first read of a batch that a worker sent costs page
faults, which a loop that never touches its batches would leave out. Rounds alternate between the two; the median
of the per-round ratios is printed: images per second (wall clock), and the CPU time per image summed over the main
process and the workers, which other programs on a shared machine do not inflate.

    python benchmarks/image_pipeline.py [--quick] [--workers N]
"""
import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader

import course_lib.data_block as data_block
from course_lib.data import samples_dir, untar_data
from course_lib.core import default_workers
from course_lib.data_block import get_files, image_databunch, image_extensions, imagenet_stats
from _cli import benchmark_parser


class PlainImages:
    "The baseline dataset: PIL does everything, items are float tensors."
    def __init__(self, items, size): self.items, self.size = items, size
    def __len__(self): return len(self.items)

    def __getitem__(self, i):
        fn, y = self.items[i]
        img = Image.open(fn).convert('RGB').resize((self.size, self.size), Image.Resampling.BILINEAR)
        return torch.from_numpy(np.array(img)).permute(2, 0, 1).float().div_(255), y


def plain_loader(dls, size, bs, workers):
    "A plain DataLoader over the same training files and labels as `dls`."
    ds = dls.train_ds
    items = list(zip(ds.x.items, ds.y.items))
    mean, std = (torch.tensor(s).view(1, 3, 1, 1) for s in imagenet_stats)
    dl = DataLoader(PlainImages(items, size), bs, shuffle=True, num_workers=workers,
                    persistent_workers=workers > 0)
    return dl, lambda xb: xb.sub_(mean).div_(std)   # in place, as the library does


def _worker_cpu(dl):
    "CPU seconds used so far by the worker processes of DataLoader `dl` (Linux; 0 elsewhere)."
    workers = getattr(getattr(dl, '_iterator', None), '_workers', None) or []
    total = 0.0
    for worker in workers:
        try: fields = open(f'/proc/{worker.pid}/stat').read().rsplit(')', 1)[1].split()
        except OSError: continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')   # utime + stime
    return total


def measure(loader, n_batches, warm, convert=None):
    "Images per second, and CPU ms per image (all processes), over `n_batches` after the first `warm`."
    dl = getattr(loader, 'dl', loader)   # the DataLoader inside an ImageLoader
    count, start = 0, None
    for i, (xb, yb) in enumerate(loader):
        if convert: xb = convert(xb)
        xb.reshape(-1)[::1024].sum()   # one value in every 4 KiB page: maps the whole batch, costs little
        if i == warm:
            count, start = 0, (time.perf_counter(), time.process_time() + _worker_cpu(dl))
        count += len(yb)
        if i + 1 == warm + n_batches: break
    wall = time.perf_counter() - start[0]
    cpu = time.process_time() + _worker_cpu(dl) - start[1]
    return count / wall, cpu / count * 1e3


def read_once(files):
    "Read each file, so that the timed rounds find them in the page cache (as from the second epoch on)."
    for fn in files: Path(fn).read_bytes()


def compare(path, size, bs, workers, rounds, n_batches, warm, tag=''):
    dls = image_databunch(path, size=size, bs=bs, num_workers=workers)
    plain, normalise = plain_loader(dls, size, bs, workers)
    n_batches = min(n_batches, len(plain) - warm)
    ours, base = [], []
    for _ in range(rounds):   # interleaved, so both see the same load on a shared machine
        base.append(measure(plain, n_batches, warm, normalise))
        ours.append(measure(dls.train_dl, n_batches, warm))
    speed = statistics.median(o[0] / b[0] for o, b in zip(ours, base))
    cost = statistics.median(b[1] / o[1] for o, b in zip(ours, base))
    name = f'library{tag}_{size}px'
    print(f'image_pipeline_plain_{size}px: {statistics.median(b[0] for b in base):,.0f} images/s, '
          f'{statistics.median(b[1] for b in base):.2f} CPU ms/image', flush=True)
    print(f'image_pipeline_{name}: {statistics.median(o[0] for o in ours):,.0f} images/s, '
          f'{statistics.median(o[1] for o in ours):.2f} CPU ms/image', flush=True)
    print(f'image_pipeline_speedup{tag}_{size}px: {speed:.2f}x', flush=True)
    print(f'image_pipeline_cpu_saving{tag}_{size}px: {cost:.2f}x', flush=True)
    return speed


def transfer(bs=64, size=128):
    "Host-to-GPU copy of a batch as bytes (then made float there) against the same batch as float32."
    if not torch.cuda.is_available():
        print('image_pipeline_gpu_bytes_vs_float_copy: skipped (no CUDA)')
        return
    from course_lib.core import best_time
    cuda = torch.device('cuda')
    xb = torch.randint(0, 256, (bs, 3, size, size), dtype=torch.uint8).pin_memory()
    xf = xb.float().pin_memory()
    as_bytes = best_time(lambda: xb.to(cuda, non_blocking=True).float(), device=cuda)
    as_float = best_time(lambda: xf.to(cuda, non_blocking=True), device=cuda)
    print(f'image_pipeline_gpu_bytes_vs_float_copy: {as_float / as_bytes:.2f}x')


if __name__ == '__main__':
    parser = benchmark_parser(__doc__, 'the bundled sample, fewer rounds (under a minute)')
    parser.add_argument('--workers', type=int, default=None, help='DataLoader workers (default: one per core)')
    args = parser.parse_args()
    workers = default_workers() if args.workers is None else args.workers
    path = samples_dir()/'imagenette2-160' if args.quick else untar_data('imagenette2-160')
    rounds, n_batches, warm = (2, 2, 1) if args.quick else (7, 20, 3)
    decoder = 'simplejpeg' if data_block.simplejpeg_available() else 'PIL'
    print(f'image_pipeline_workers: {workers}')
    print(f'image_pipeline_decoder: {decoder}')
    read_once(get_files(path/'train', image_extensions))   # once, for every comparison below
    for size in (128, 64):
        compare(path, size, 64, workers, rounds, n_batches, warm)
    if decoder == 'simplejpeg':   # the same pipeline with PIL decoding, for those without simplejpeg
        data_block.simplejpeg_available = lambda: False   # workers are forked after this
        compare(path, 128, 64, workers, rounds, n_batches, warm, tag='_pil')
    transfer()
