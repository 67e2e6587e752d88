"""Faults and fallbacks of course_lib.data, against a local HTTP server on 127.0.0.1."""
import hashlib
import os
from pathlib import Path

import pytest
import torch

from course_lib import data
from course_lib.data import (ArchiveError, ChecksumError, DataUnavailableError, DatasetInfo, DownloadError, MirrorCopy,
                             UnknownDatasetError, dataset_status, download_data, get_mnist, untar_data)
from helpers import make_tgz

GOOD = make_tgz({'toy/train/a.txt': b'hello', 'toy/valid/b.txt': b'world'})
md5 = lambda b: hashlib.md5(b).hexdigest()
sha256 = lambda b: hashlib.sha256(b).hexdigest()


def leftovers(home: Path):
    "Files that a failed fetch must not leave behind: partial downloads, temp folders, datasets."
    return [p for p in home.rglob('*') if p.is_file() or p.name.startswith('.')]


def test_good_archive_downloads_verifies_and_extracts(home, server):
    server.files['/toy.tgz'] = (GOOD, None)
    path = untar_data(server.url + '/toy.tgz', size=len(GOOD), md5=md5(GOOD), show_progress=False)
    assert path == home/'data'/'toy'
    assert (path/'train'/'a.txt').read_bytes() == b'hello'
    assert (home/'archive'/'toy.tgz').read_bytes() == GOOD
    assert not list(home.rglob('*.part')) and not list((home/'data').glob('.extract-*'))
    # second call: straight from the cache, no server needed
    server.files.clear()
    assert untar_data(server.url + '/toy.tgz', size=len(GOOD), md5=md5(GOOD)) == path


def test_archive_with_another_top_folder_is_found_again(home, server):
    other = make_tgz({'unpacks_as/x.txt': b'x'})
    server.files['/named.tgz'] = (other, None)
    path = untar_data(server.url + '/named.tgz', md5=md5(other), show_progress=False)
    assert path == home/'data'/'named' and (path/'x.txt').exists()
    (home/'archive'/'named.tgz').unlink()   # a second call must not need the archive again
    assert untar_data(server.url + '/named.tgz', md5=md5(other)) == path


def test_wrong_md5_removes_the_file(home, server):
    server.files['/toy.tgz'] = (GOOD, None)
    with pytest.raises(ChecksumError, match=r'has md5 .* expected 0+\. It was removed'):
        download_data(server.url + '/toy.tgz', md5='0' * 32, show_progress=False)
    assert leftovers(home) == []


def test_truncated_download_leaves_nothing(home, server):
    server.files['/toy.tgz'] = (GOOD[:len(GOOD) // 2], len(GOOD))  # promises more bytes than it sends
    with pytest.raises(DataUnavailableError, match='stopped') as info:
        download_data(server.url + '/toy.tgz', size=len(GOOD), md5=md5(GOOD), show_progress=False)
    assert isinstance(info.value.__cause__, DownloadError)
    assert leftovers(home) == []


def test_size_mismatch_is_reported_as_truncation(home, server):
    server.files['/toy.tgz'] = (GOOD[:-10], None)  # honest length, but shorter than the registry says
    with pytest.raises(ChecksumError, match='truncated'):
        download_data(server.url + '/toy.tgz', size=len(GOOD), show_progress=False)
    assert leftovers(home) == []


def test_corrupt_archive_is_refused_cleanly(home, server):
    junk = b'this is not a tar file at all' * 100
    server.files['/toy.tgz'] = (junk, None)
    with pytest.raises(ArchiveError, match='(?si)not a readable archive.*cached copy was removed'):
        untar_data(server.url + '/toy.tgz', md5=md5(junk), show_progress=False)
    assert leftovers(home) == []


def test_path_traversal_member_is_refused(home, server, tmp_path):
    evil = make_tgz({'toy/ok.txt': b'fine', '../../escaped.txt': b'gotcha'})
    server.files['/toy.tgz'] = (evil, None)
    with pytest.raises(ArchiveError, match='outside its folder'):
        untar_data(server.url + '/toy.tgz', md5=md5(evil), show_progress=False)
    assert not list(tmp_path.rglob('escaped.txt'))
    assert leftovers(home) == []


def test_server_down_and_no_mirror_says_what_to_do(home, closed_port, monkeypatch):
    monkeypatch.setitem(data.DATASETS, 'mnist', DatasetInfo('mnist', closed_port + '/mnist.pkl.gz', sample='mnist_sample.npz'))
    with pytest.raises(DataUnavailableError) as info:
        download_data('mnist', show_progress=False)
    message = str(info.value)
    assert 'COURSE_LIB_MIRROR' in message and 'sample' in message and 'mnist.pkl.gz' in message
    assert leftovers(home) == []


def test_mirror_hit_with_no_network(home, closed_port, tmp_path, monkeypatch):
    mirror = tmp_path/'mirror'
    (mirror/'toy').mkdir(parents=True)
    (mirror/'toy'/'toy.tgz').write_bytes(GOOD)
    monkeypatch.setitem(data.DATASETS, 'toy', DatasetInfo('toy', closed_port + '/toy.tgz', len(GOOD), md5(GOOD), folder='toy'))
    monkeypatch.setenv('COURSE_LIB_MIRROR', str(mirror))
    assert dataset_status('toy')[0] == 'mirror'
    path = untar_data('toy')
    assert (path/'valid'/'b.txt').read_bytes() == b'world'
    assert dataset_status('toy')[0] == 'cache'
    assert (mirror/'toy'/'toy.tgz').exists(), 'the mirror is read, never changed'


def test_mirror_copy_in_another_layout_is_normalised(home, closed_port, tmp_path, monkeypatch):
    other = make_tgz({'different/name/x.txt': b'x'})
    mirror = tmp_path/'mirror'
    mirror.mkdir()
    (mirror/'copy.tar.gz').write_bytes(other)
    (mirror/'course_lib_mirror.json').write_text(
        '{"toy": {"files": [{"path": "copy.tar.gz", "sha256": "%s"}], "renames": [["toy/train", "different/name"]]}}'
        % sha256(other))
    monkeypatch.setitem(data.DATASETS, 'toy', DatasetInfo('toy', closed_port + '/toy.tgz', folder='toy'))
    monkeypatch.setenv('COURSE_LIB_MIRROR', str(mirror))
    path = untar_data('toy')
    assert (path/'train'/'x.txt').read_bytes() == b'x'


def test_mirror_copy_with_wrong_checksum_is_refused_and_kept(home, closed_port, tmp_path, monkeypatch):
    mirror = tmp_path/'mirror'
    mirror.mkdir()
    (mirror/'toy.tar.gz').write_bytes(GOOD)
    monkeypatch.setitem(data.DATASETS, 'toy', DatasetInfo('toy', closed_port + '/toy.tgz', folder='toy',
                                                       mirror=(MirrorCopy('toy.tar.gz', '0' * 64),)))
    monkeypatch.setenv('COURSE_LIB_MIRROR', str(mirror))
    with pytest.raises(ChecksumError, match='sha256'):
        untar_data('toy')
    assert (mirror/'toy.tar.gz').exists()
    assert not (home/'data'/'toy').exists()


def test_sample_fallback_warns_once_and_loads(home, monkeypatch):
    monkeypatch.setenv('COURSE_LIB_OFFLINE', '1')
    with pytest.warns(UserWarning, match='small mnist sample') as record:
        x_train, y_train, x_valid, y_valid = get_mnist()
    assert len(record) == 1
    assert x_train.shape == (2000, 784) and x_valid.shape == (500, 784)
    assert x_train.dtype == torch.float32 and y_train.dtype == torch.int64
    assert 0 <= float(x_train.min()) and float(x_train.max()) < 1
    assert dataset_status('mnist')[0] == 'sample'


def test_untar_sample_ok_returns_the_bundled_folder(home, monkeypatch):
    monkeypatch.setenv('COURSE_LIB_OFFLINE', '1')
    with pytest.warns(UserWarning, match='imagenette2-160 sample'):
        path = untar_data('imagenette2-160', sample_ok=True)
    assert len(list(path.glob('train/*/*.JPEG'))) == 240 and len(list(path.glob('val/*/*.JPEG'))) == 60
    with pytest.raises(DataUnavailableError, match='COURSE_LIB_OFFLINE'):
        untar_data('imagenette2-160')


def test_unknown_name_lists_the_known_ones(home):
    with pytest.raises(UnknownDatasetError, match='Known datasets: .*imdb.*mnist'):
        untar_data('mnsit')


def test_plain_file_is_not_untarred(home):
    with pytest.raises(ValueError, match='use download_data'):
        untar_data('mnist')


SHARED = Path(__file__).resolve().parents[2]/'shared'/'data'


@pytest.mark.skipif(not (SHARED/'mnist'/'mnist.pkl.gz').exists(), reason='project data mirror not present')
def test_real_mirror_mnist_and_imdb_layout(home, monkeypatch):
    monkeypatch.setenv('COURSE_LIB_MIRROR', str(SHARED))
    monkeypatch.setenv('COURSE_LIB_OFFLINE', '1')
    x_train, y_train, x_valid, y_valid = get_mnist()
    assert x_train.shape == (50000, 784) and x_valid.shape == (10000, 784)
    path = untar_data('imdb_sample')
    assert (path/'texts.csv').stat().st_size == 1427008


def test_device_override(monkeypatch):
    from course_lib.core import default_device
    monkeypatch.setenv('COURSE_LIB_DEVICE', 'cpu')
    assert default_device() == torch.device('cpu')
    monkeypatch.setenv('COURSE_LIB_DEVICE', 'gpu')
    with pytest.raises(ValueError, match='cpu, cuda, mps'):
        default_device()
    if not torch.cuda.is_available():
        monkeypatch.setenv('COURSE_LIB_DEVICE', 'cuda')
        with pytest.raises(RuntimeError, match='no cuda device'):
            default_device()
