"""Pack the datasets of a GPU course run into a small mirror folder that travels with the clone.

    python tools/pack_gpu_data.py --out .data imagenette2-160 imagewoof2-160   # lesson 12 vision (11, 11a)
    python tools/pack_gpu_data.py --out .data mnist                            # lessons 8-11 (01, 03, 04, 10c)
    python tools/pack_gpu_data.py --out .data --size 128 --quality 75 imagenette2-160

A borrowed GPU machine has no network and takes 64 MiB with the clone (docs/gpu.md). Datasets that fit as
the mirror stores them (MNIST, imdb_sample, WikiText-2) are copied unchanged. Image datasets are re-encoded:
each image scaled so its shortest side is --size px (never enlarged) and saved as WebP at --quality, in the
official folder layout, in one .tgz (gzip saves little on the images, but most of tar's 512-byte headers and
padding, 10 MiB for Imagenette); the folder's `course_lib_mirror.json` names that archive as the mirror's copy
of the dataset, with its SHA-256 and a note that it was re-encoded, so the data layer checks it, unpacks it
where the official archive would go, and `course-lib data` shows the note. Then, on the GPU machine:

    export COURSE_LIB_MIRROR=$PWD/.data

The source is $COURSE_LIB_MIRROR (or --mirror). Files are written whole, then renamed; the manifest keeps the
entries of datasets packed earlier into the same folder.
"""
import argparse
import gzip
import io
import json
import os
import shutil
import sys
import tarfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))   # course_lib from this clone, installed or not

from course_lib.data import (DATASETS, MANIFEST, ChecksumError, check_file, file_digest,  # noqa: E402
                             find_in_mirror, show_path)
from course_lib.core import usable_cores  # noqa: E402
from course_lib.data import _size  # noqa: E402  (bytes in a file or folder, as `dataset_status` counts them)

IMAGE_SUFFIXES = ('.jpeg', '.jpg', '.png')


def _show(path) -> str:
    "`path` relative to the working directory when inside it, else as the data layer shows paths."
    try: return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError: return show_path(path)


def _fail(message):
    print(f'pack_gpu_data: {message}', file=sys.stderr)
    raise SystemExit(2)


def _reencode(args) -> tuple[str, bytes]:
    "One image as WebP with its shortest side at most `size` px: (new member name, bytes)."
    name, data, size, quality = args
    from PIL import Image
    with Image.open(io.BytesIO(data)) as img:
        img = img.convert('RGB')
        scale = size / min(img.size)
        if scale < 1:
            img = img.resize((max(1, round(img.size[0] * scale)), max(1, round(img.size[1] * scale))),
                             Image.Resampling.LANCZOS)
        out = io.BytesIO()
        img.save(out, 'WEBP', quality=quality, method=6)
    return str(Path(name).with_suffix('.webp')), out.getvalue()


def _add(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), 0, 0o644
    tar.addfile(info, io.BytesIO(data))


def _source_archive(ds, mirror) -> tuple[Path, str]:
    "The official archive of `ds` in `mirror`, or its one tar copy there, checked; and that copy's note."
    found = find_in_mirror(ds, mirror)
    if found is None: _fail(f'{ds.name} is not in the mirror {show_path(mirror)}.')
    try:
        if found[0] == 'official': return check_file(found[1], ds.size, ds.md5, ds.sha256, remove=False), ''
        copies = found[1]
        if len(copies) == 1 and (mirror/copies[0].path).is_file():
            archive = check_file(mirror/copies[0].path, sha256=copies[0].sha256, remove=False)
            if tarfile.is_tarfile(archive): return archive, copies[0].note
        _fail(f"the mirror holds {ds.name} in a layout this script does not re-encode.")
    except ChecksumError as e: _fail(f'the source is damaged: {e}')


def reencode(ds, mirror: Path, out: Path, size: int, quality: int, workers: int) -> dict:
    "Write `ds` re-encoded into `out`; its manifest entry."
    archive, source_note = _source_archive(ds, mirror)
    rel = Path(ds.name)/f'{ds.folder}-webp{size}q{quality}.tgz'
    dest = out/rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f'.{dest.name}.{os.getpid()}')
    n_images = 0
    try:
        with (tarfile.open(archive) as src, open(tmp, 'wb') as raw, ProcessPoolExecutor(workers) as pool,
              gzip.GzipFile(fileobj=raw, mode='wb', compresslevel=9, mtime=0, filename='') as gz,
              tarfile.open(fileobj=gz, mode='w') as tar):   # no time stamps: the same input, the same bytes
            images = []
            for m in src.getmembers():
                if not m.isfile(): continue
                if m.name.lower().endswith(IMAGE_SUFFIXES): images.append(m)
                else: _add(tar, m.name, src.extractfile(m).read())
            jobs = ((m.name, src.extractfile(m).read(), size, quality) for m in images)
            for name, data in pool.map(_reencode, jobs, chunksize=64):
                _add(tar, name, data)
                n_images += 1
        os.replace(tmp, dest)
    finally: tmp.unlink(missing_ok=True)   # an interrupted or failed pack leaves nothing behind
    note = '; '.join(n for n in (source_note, f're-encoded: WebP quality {quality}, shortest side {size} px') if n)
    print(f'{ds.name:16} {n_images:,} images, {note}: {_show(dest)} ({dest.stat().st_size / 2**20:.1f} MiB)')
    return {'files': [{'path': rel.as_posix(), 'sha256': file_digest(dest, 'sha256'), 'note': note}]}


def copy_as_stored(ds, mirror: Path, out: Path) -> dict | None:
    "Copy the mirror's files of `ds` unchanged; the source manifest's entry for it, if it has one."
    found = find_in_mirror(ds, mirror)
    if found is None: _fail(f'{ds.name} is not in the mirror {show_path(mirror)}.')
    paths = [found[1]] if found[0] == 'official' else [mirror/c.path for c in found[1]]
    for path in paths:
        dest = out/path.relative_to(mirror)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir(): shutil.copytree(path, dest, dirs_exist_ok=True)
        else: shutil.copyfile(path, dest)
    size = sum(_size(path) for path in paths)
    print(f'{ds.name:16} as stored: {", ".join(_show(p) for p in paths)} ({size / 2**20:.1f} MiB)')
    manifest = mirror/MANIFEST
    return json.loads(manifest.read_text()).get(ds.name) if manifest.exists() else None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog='\n\n'.join(__doc__.split('\n\n')[1:]))
    parser.add_argument('names', nargs='+', metavar='DATASET', help='registry names (course-lib data lists them)')
    parser.add_argument('--out', type=Path, required=True, help='the mirror folder to write (e.g. .data)')
    parser.add_argument('--mirror', type=Path, help='the source mirror (default: $COURSE_LIB_MIRROR)')
    parser.add_argument('--size', type=int, default=128, help='shortest side of re-encoded images, px (default 128)')
    parser.add_argument('--quality', type=int, default=75, help='WebP quality of re-encoded images (default 75)')
    parser.add_argument('--workers', type=int, default=usable_cores(), help='processes that re-encode')
    args = parser.parse_args(argv)
    source = args.mirror or (Path(os.environ['COURSE_LIB_MIRROR']) if os.environ.get('COURSE_LIB_MIRROR') else None)
    if source is None: _fail('set COURSE_LIB_MIRROR (or pass --mirror) to the folder that holds the datasets.')
    source = source.expanduser().resolve()
    unknown = [n for n in args.names if n not in DATASETS]
    if unknown: _fail(f"unknown dataset {unknown[0]!r}; `course-lib data` lists the names.")
    if not 16 <= args.size <= 1024 or not 1 <= args.quality <= 100:
        _fail('--size takes 16 to 1024 px and --quality 1 to 100.')
    out = args.out.expanduser().resolve()
    if out == source: _fail('--out must be a new folder, not the source mirror.')
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out/MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    for name in args.names:
        ds = DATASETS[name]
        is_images = ds.folder is not None and ds.name.startswith(('imagenette', 'imagewoof'))
        entry = (reencode(ds, source, out, args.size, args.quality, args.workers) if is_images
                 else copy_as_stored(ds, source, out))
        if entry: manifest[name] = entry
        else: manifest.pop(name, None)
    tmp = manifest_path.with_name(f'.{MANIFEST}.{os.getpid()}')
    tmp.write_text(json.dumps(manifest, indent=1) + '\n')
    os.replace(tmp, manifest_path)
    print(f'{_show(out)}: {_size(out) / 2**20:.1f} MiB in all; on the GPU machine: export COURSE_LIB_MIRROR=$PWD/'
          f'{out.name}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
