"""Rebuild the small real datasets shipped in course_lib/samples/ from a full-data mirror.

Usage: python tools/make_samples.py [MIRROR]   (default: $COURSE_LIB_MIRROR, else ../shared/data)

Every choice is deterministic (first files in sorted order), so running it twice gives the same bytes
except for JPEG/PNG encoder versions. See course_lib/samples/README.md for provenance and licences.
"""
import csv
import gzip
import io
import os
import pickle
import shutil
import sys
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT/'course_lib'/'samples'
N_MNIST_TRAIN, N_MNIST_VALID = 2000, 500
N_IMG_TRAIN, N_IMG_VALID, IMG_SIZE = 24, 6, 96
N_WOOF_TRAIN, N_WOOF_VALID = 8, 4
N_WIKI_ARTICLES = 3


def mnist(mirror: Path):
    with gzip.open(mirror/'mnist'/'mnist.pkl.gz', 'rb') as f:
        (xt, yt), (xv, yv), _ = pickle.load(f, encoding='latin1')
    as_bytes = lambda x: np.round(x * 256).astype(np.uint8)  # the pickle stores byte/256 exactly
    np.savez_compressed(OUT/'mnist_sample.npz',
                        x_train=as_bytes(xt[:N_MNIST_TRAIN]), y_train=yt[:N_MNIST_TRAIN].astype(np.uint8),
                        x_valid=as_bytes(xv[:N_MNIST_VALID]), y_valid=yv[:N_MNIST_VALID].astype(np.uint8))


def imdb_sample(mirror: Path):
    (OUT/'imdb_sample').mkdir(parents=True, exist_ok=True)
    shutil.copy2(mirror/'imdb_sample'/'texts.csv', OUT/'imdb_sample'/'texts.csv')


def wikitext(mirror: Path):
    dest = OUT/'wikitext-2'
    dest.mkdir(parents=True, exist_ok=True)
    for split in ('valid', 'test'):
        lines = (mirror/'wikitext-2'/f'{split}.txt').read_text(encoding='utf-8').splitlines(keepends=True)
        # An article starts at a top-level heading line " = Title = " (one '=' on each side).
        starts = [i for i, l in enumerate(lines) if l.startswith(' = ') and not l.startswith(' = = ')]
        end = starts[N_WIKI_ARTICLES] if len(starts) > N_WIKI_ARTICLES else len(lines)
        (dest/f'{split}.txt').write_text(''.join(lines[:end]), encoding='utf-8')


def image_sample(archive: Path, top: str, name: str, csv_name: str, n_train: int, n_valid: int):
    "The first n_train/n_valid images of each class in `archive` (under `top`/), shrunk, as samples/`name`."
    dest = OUT/name
    if dest.exists(): shutil.rmtree(dest)
    keep = {}
    with tarfile.open(archive) as tar:
        members = sorted((m for m in tar.getmembers() if m.isfile() and m.name.endswith('.JPEG')), key=lambda m: m.name)
        for m in members:
            _, split, wnid, _ = m.name.split('/')
            n = n_train if split == 'train' else n_valid
            if len(keep.setdefault((split, wnid), [])) >= n: continue
            keep[(split, wnid)].append(m.name)
            img = Image.open(io.BytesIO(tar.extractfile(m).read()))
            img.thumbnail((IMG_SIZE, IMG_SIZE), Image.LANCZOS)
            out = dest/split/wnid/Path(m.name).name
            out.parent.mkdir(parents=True, exist_ok=True)
            img.save(out, quality=85, optimize=True)
        kept = {'/'.join(name.split('/')[1:]) for names in keep.values() for name in names}
        rows = list(csv.reader(io.TextIOWrapper(tar.extractfile(f'{top}/{csv_name}'), 'utf-8')))
    with open(dest/csv_name, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(rows[0])
        writer.writerows(r for r in rows[1:] if r[0] in kept)


def imagenette(mirror: Path):
    image_sample(mirror/'imagenette'/'imagenette2-160.tgz', 'imagenette2-160', 'imagenette2-160',
                 'noisy_imagenette.csv', N_IMG_TRAIN, N_IMG_VALID)


def imagewoof(mirror: Path):
    # the mirror holds a subset under another top folder; the sample has the official name
    image_sample(mirror/'imagewoof'/'imagewoof2-160-subset.tgz', 'imagewoof2-160-subset', 'imagewoof2-160',
                 'noisy_imagewoof.csv', N_WOOF_TRAIN, N_WOOF_VALID)


if __name__ == '__main__':
    mirror = Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get('COURSE_LIB_MIRROR', ROOT.parent/'shared'/'data'))
    OUT.mkdir(parents=True, exist_ok=True)
    for build in (mnist, imdb_sample, wikitext, imagenette, imagewoof): build(mirror)
    total = sum(p.stat().st_size for p in OUT.rglob('*') if p.is_file())
    print(f'samples written to {OUT}: {total / 2**20:.2f} MiB')
