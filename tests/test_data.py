"""Faults and fallbacks of course_lib.data, against a local HTTP server on 127.0.0.1."""
import hashlib
import re
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
    return [p for p in home.rglob('*') if (p.is_file() or p.name.startswith('.')) and p.name != 'verified.json']


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


def _toy_archive_in_mirror(tmp_path, monkeypatch, closed_port):
    "A mirror holding the official toy.tgz (at mirror/toy/), with the network down."
    mirror = tmp_path/'mirror'
    (mirror/'toy').mkdir(parents=True)
    (mirror/'toy'/'toy.tgz').write_bytes(GOOD)
    monkeypatch.setitem(data.DATASETS, 'toy', DatasetInfo('toy', closed_port + '/toy.tgz', len(GOOD), md5(GOOD), folder='toy'))
    monkeypatch.setenv('COURSE_LIB_MIRROR', str(mirror))
    return mirror


def test_mirror_hit_with_no_network(home, closed_port, tmp_path, monkeypatch):
    mirror = _toy_archive_in_mirror(tmp_path, monkeypatch, closed_port)
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
    with pytest.warns(UserWarning, match="mirror's copy .*sha256.*not used"):
        with pytest.raises(DataUnavailableError, match="mirror's copy is damaged"):
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
    assert dataset_status('mnist')[:1] == ('bundled',) and '2,000 train' in dataset_status('mnist').note


def test_untar_sample_ok_returns_the_bundled_folder(home, monkeypatch):
    monkeypatch.setenv('COURSE_LIB_OFFLINE', '1')
    with pytest.warns(UserWarning, match='imagenette2-160 sample'):
        path = untar_data('imagenette2-160', sample_ok=True)
    assert len(list(path.glob('train/*/*.JPEG'))) == 240 and len(list(path.glob('val/*/*.JPEG'))) == 60
    with pytest.raises(DataUnavailableError, match='COURSE_LIB_OFFLINE'):
        untar_data('imagenette2-160', sample_ok=False)


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


# --- issue 8: every cached file verified, fallbacks that say why, an unwritable cache, a hanging server ---

BLOB = b'the full dataset, standing in for mnist.pkl.gz' * 100
BLOB_INFO = dict(size=len(BLOB), sha256=sha256(BLOB), sample='mnist_sample.npz')


def _toy_with_mirror(tmp_path, monkeypatch, closed_port, name='blob.bin'):
    "A plain-file dataset 'blob' whose good copy is in a mirror and whose server is down."
    mirror = tmp_path/'mirror'
    mirror.mkdir(exist_ok=True)
    (mirror/name).write_bytes(BLOB)
    monkeypatch.setitem(data.DATASETS, 'blob', DatasetInfo('blob', f'{closed_port}/{name}', **BLOB_INFO))
    monkeypatch.setenv('COURSE_LIB_MIRROR', str(mirror))
    return mirror


def test_truncated_cached_file_is_removed_and_the_mirror_used(home, tmp_path, monkeypatch, closed_port):
    mirror = _toy_with_mirror(tmp_path, monkeypatch, closed_port)
    (home/'archive').mkdir(parents=True)
    (home/'archive'/'blob.bin').write_bytes(BLOB[:1000])            # a download cut short, long ago
    assert dataset_status('blob').where == 'damaged'
    with pytest.warns(UserWarning, match=r'cached .*blob.bin is 1,000 bytes.*It was removed\. Looking in the mirror'):
        path = download_data('blob')
    assert path == mirror/'blob.bin'
    assert not (home/'archive'/'blob.bin').exists()


def test_corrupt_cached_file_of_the_same_size_is_caught_by_its_digest(home, tmp_path, monkeypatch, closed_port):
    _toy_with_mirror(tmp_path, monkeypatch, closed_port)
    (home/'archive').mkdir(parents=True)
    (home/'archive'/'blob.bin').write_bytes(b'x' * len(BLOB))
    with pytest.warns(UserWarning, match='has sha256'):
        download_data('blob')
    assert not (home/'archive'/'blob.bin').exists()


@pytest.mark.skipif(not (SHARED/'mnist'/'mnist.pkl.gz').exists(), reason='project data mirror not present')
def test_truncated_mnist_in_the_cache_the_issue_reproduction(home, monkeypatch):
    (home/'archive').mkdir(parents=True)
    cached = home/'archive'/'mnist.pkl.gz'
    cached.write_bytes((SHARED/'mnist'/'mnist.pkl.gz').read_bytes()[:5_000_000])
    monkeypatch.setenv('COURSE_LIB_MIRROR', str(SHARED))
    monkeypatch.setenv('COURSE_LIB_OFFLINE', '1')
    with pytest.warns(UserWarning, match='It was removed'):
        x_train = get_mnist()[0]
    assert x_train.shape == (50000, 784) and not cached.exists()


def test_a_verified_file_is_not_hashed_again_until_it_changes(home, tmp_path, monkeypatch):
    path = tmp_path/'f.bin'
    path.write_bytes(BLOB)
    data.check_file(path, len(BLOB), sha256=sha256(BLOB))
    calls = []
    real = data.file_digest
    monkeypatch.setattr(data, 'file_digest', lambda *a, **k: calls.append(a) or real(*a, **k))
    data.check_file(path, len(BLOB), sha256=sha256(BLOB))
    assert calls == [], 'an unchanged, verified file is trusted from the record'
    os.utime(path, ns=(1, 1))                                      # same size, but touched: hash again
    data.check_file(path, len(BLOB), sha256=sha256(BLOB))
    assert len(calls) == 1


def test_force_fetches_again(home, tmp_path, monkeypatch, closed_port):
    mirror = _toy_with_mirror(tmp_path, monkeypatch, closed_port)
    (home/'archive').mkdir(parents=True)
    (home/'archive'/'blob.bin').write_bytes(BLOB)                  # a good cached copy
    assert download_data('blob') == home/'archive'/'blob.bin'
    assert download_data('blob', force=True) == mirror/'blob.bin'
    assert not (home/'archive'/'blob.bin').exists()


def test_untar_data_falls_back_to_the_sample_by_default(home, monkeypatch):
    monkeypatch.setenv('COURSE_LIB_OFFLINE', '1')
    with pytest.warns(UserWarning, match='small imagenette2-160 sample') as record:
        path = untar_data('imagenette2-160')
    assert len(record) == 1 and path == data.samples_dir()/'imagenette2-160'


def test_fallback_warning_says_each_cause_in_its_own_sentence(home, monkeypatch, closed_port):
    monkeypatch.setenv('COURSE_LIB_OFFLINE', '1')
    with pytest.warns(UserWarning) as record:
        get_mnist()
    message = str(record[0].message)
    assert 'COURSE_LIB_MIRROR is not set. COURSE_LIB_OFFLINE is set, so nothing was downloaded.' in message
    assert 'unset COURSE_LIB_OFFLINE' in message and 'dataset is COURSE' not in message
    monkeypatch.delenv('COURSE_LIB_OFFLINE')
    monkeypatch.setitem(data.DATASETS, 'mnist', DatasetInfo('mnist', closed_port + '/mnist.pkl.gz',
                                                            sample='mnist_sample.npz'))
    with pytest.warns(UserWarning) as record:
        get_mnist()
    message = str(record[0].message)
    assert re.search(r'not the full dataset\. COURSE_LIB_MIRROR is not set\. Could not download http://127.0.0.1:\d+/'
                     r'mnist.pkl.gz: [^.]+\. For the full dataset', message), message
    assert '..' not in message and 'dataset is Could' not in message


@pytest.fixture
def unwritable_home(tmp_path, monkeypatch):
    "A COURSE_LIB_HOME that cannot be created (its parent is a file): works for root too, unlike chmod."
    (tmp_path/'a_file').write_text('')
    monkeypatch.setenv('COURSE_LIB_HOME', str(tmp_path/'a_file'/'course_lib'))
    monkeypatch.delenv('COURSE_LIB_MIRROR', raising=False)
    monkeypatch.delenv('COURSE_LIB_OFFLINE', raising=False)
    monkeypatch.setattr(data, '_fallback_roots', {}, raising=False)
    return tmp_path/'a_file'/'course_lib'


def test_unwritable_cache_still_reads_the_sample(unwritable_home, monkeypatch):
    monkeypatch.setenv('COURSE_LIB_OFFLINE', '1')
    with pytest.warns(UserWarning, match='small mnist sample'):
        x_train = get_mnist()[0]
    assert x_train.shape == (2000, 784)
    assert dataset_status('mnist').where == 'bundled'


def test_unwritable_cache_reads_the_mirror_and_says_so_once(unwritable_home, tmp_path, monkeypatch, closed_port):
    _toy_archive_in_mirror(tmp_path, monkeypatch, closed_port)
    with pytest.warns(UserWarning, match='cannot be written') as record:
        path = untar_data('toy')
        assert untar_data('toy') == path
    assert len([w for w in record if 'cannot be written' in str(w.message)]) == 1
    assert (path/'train'/'a.txt').read_bytes() == b'hello'


def test_hanging_server_says_what_it_waits_for_first(home, monkeypatch, capfd):
    import socket
    with socket.socket() as listener:                        # accepts connections, never answers
        listener.bind(('127.0.0.1', 0))
        listener.listen(5)
        url = f'http://127.0.0.1:{listener.getsockname()[1]}/mnist.pkl.gz'
        monkeypatch.setattr(data, 'DOWNLOAD_TIMEOUT', 1, raising=False)
        monkeypatch.setitem(data.DATASETS, 'mnist', DatasetInfo('mnist', url, 17051982, sample='mnist_sample.npz'))
        with pytest.warns(UserWarning, match='timed out'):
            get_mnist()
    err = capfd.readouterr().err
    assert 'Downloading mnist (16.3 MiB) from ' + url in err
    assert 'waiting up to 1 s' in err and 'COURSE_LIB_OFFLINE=1' in err


@pytest.mark.skipif(not (SHARED/'imagewoof').exists(), reason='project data mirror not present')
def test_status_notes_say_when_a_copy_is_incomplete(home, monkeypatch):
    monkeypatch.setenv('COURSE_LIB_MIRROR', str(SHARED))
    assert dataset_status('imagewoof2-160').note.startswith('subset: 2,500 of 12,954')
    assert dataset_status('wikitext-2').note == 'valid+test only'
    assert dataset_status('mnist').note == ''
    assert 'not the bundled' in dataset_status('mnist_sample').note


def test_models_dir_is_in_the_cache(home):
    folder = data.models_dir()
    assert folder == home/'models' and folder.is_dir()


def test_models_dir_falls_back_to_a_temporary_folder(unwritable_home):
    with pytest.warns(UserWarning, match='cannot be written'):
        folder = data.models_dir()
    assert folder.is_dir() and folder.name == 'models'
    assert unwritable_home not in folder.parents
    (folder/'weights.pth').write_bytes(b'ok')   # writable: a model can be saved there


def test_damaged_file_in_a_cached_folder_is_found_and_extracted_again(home, server):
    server.files['/toy.tgz'] = (GOOD, None)
    url = server.url + '/toy.tgz'
    path = untar_data(url, size=len(GOOD), md5=md5(GOOD), show_progress=False)
    (path/'train'/'a.txt').write_bytes(b'hel')   # truncated after extraction
    assert data.check_folder(path) == 'train/a.txt is 3 bytes, expected 5'
    server.files.clear()                          # the cached archive is enough to repair it
    with pytest.warns(data.DataWarning, match=r'damaged: train/a.txt is 3 bytes, expected 5\. It was removed'):
        assert untar_data(url, size=len(GOOD), md5=md5(GOOD)) == path
    assert (path/'train'/'a.txt').read_bytes() == b'hello' and data.check_folder(path) is None


def test_damaged_cached_folder_falls_back_to_the_sample(home, monkeypatch):
    monkeypatch.setenv('COURSE_LIB_OFFLINE', '1')
    folder = data.extract_archive(_imdb_sample_tgz(), home/'data')     # as if fetched earlier, archive since deleted
    (folder/'texts.csv').write_bytes((folder/'texts.csv').read_bytes()[:1000])
    assert dataset_status('imdb_sample').where == 'damaged'
    with pytest.warns(data.DataWarning) as caught:
        path = untar_data('imdb_sample')
    assert path == data.samples_dir()/'imdb_sample' and not folder.exists()
    assert 'texts.csv is 1,000 bytes' in str(caught[0].message), [str(w.message) for w in caught]


def _imdb_sample_tgz():
    "The bundled imdb_sample as an archive in the temporary home (the official one extracts to the same layout)."
    import tarfile
    out = Path(os.environ['COURSE_LIB_HOME'])/'imdb_sample.tgz'
    out.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out, 'w:gz') as tar: tar.add(data.samples_dir()/'imdb_sample', arcname='imdb_sample')
    return out
