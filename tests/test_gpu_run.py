"""The scripted GPU course run, tested on the CPU: `course-lib run --report`, tools/gpu_check.py, and a device
variable asking for CUDA where there is none (pytest and `course-lib run` stop at once, in one line)."""
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import torch

from helpers import write_notebook

ROOT = Path(__file__).resolve().parent.parent
CLI = Path(sys.executable).parent/'course-lib'
no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason='this machine has CUDA')


def run(cmd, env=None, cwd=ROOT, timeout=600):
    return subprocess.run(list(map(str, cmd)), capture_output=True, text=True, cwd=cwd, timeout=timeout,
                          env={**os.environ, **(env or {})})


@no_cuda
def test_pytest_with_cuda_asked_for_stops_in_one_line(tmp_path):
    result = run([sys.executable, '-m', 'pytest', '-n', '0', 'tests/test_paths.py'], env={'COURSE_LIB_DEVICE': 'cuda'})
    assert result.returncode == 4, result.stdout[-2000:]        # pytest's usage error: nothing ran
    assert result.stderr.strip() == ('ERROR: COURSE_LIB_DEVICE=cuda but PyTorch sees no cuda device here. '
                                     'Unset it (or set it to cpu) to use what this machine has.')


@no_cuda
def test_course_run_with_cuda_asked_for_is_one_line(tmp_path):
    nbs = tmp_path/'nbs'
    nbs.mkdir()
    write_notebook(nbs/'01_good.ipynb', 'x = 1')
    result = run([CLI, 'run', '--nbs', nbs, '01'], env={'COURSE_LIB_DEVICE': 'cuda', 'COURSE_LIB_HOME': tmp_path/'h'})
    assert result.returncode == 1 and result.stderr.count('\n') == 1, result.stderr
    assert 'COURSE_LIB_DEVICE=cuda but PyTorch sees no cuda device' in result.stderr


def test_run_report(tmp_path):
    nbs = tmp_path/'nbs'
    nbs.mkdir()
    metric = "from course_lib.core import record_metric\nrecord_metric('answer', 42, fmt='{:.0f}')"
    write_notebook(nbs/'01_good.ipynb', metric)
    write_notebook(nbs/'02_bad.ipynb', 'x = 1', "raise ValueError('boom')")
    env = {'COURSE_LIB_HOME': tmp_path/'h', 'COURSE_LIB_DEVICE': 'cpu'}
    result = run([CLI, 'run', '--nbs', nbs, '01', '02', '--out', tmp_path/'run', '--report', tmp_path/'r.md'], env=env)
    assert result.returncode == 1 and 'report: ' in result.stdout, result.stderr
    text = (tmp_path/'r.md').read_text()
    assert text.startswith('# Course run\n') and 'no GPU (device `cpu`)' in text
    assert '| 01_good | ok |' in text and '| answer 42 | cpu |' in text
    assert '| 02_bad | failed (cell 1) |' in text and '- 02_bad: `ValueError: boom`' in text
    # the JSON form (`--report r.json`) is tested in nbs/90_tools_notebooks.ipynb


@no_cuda
def test_gpu_check_without_cuda_is_one_line(tmp_path):
    result = run([sys.executable, 'tools/gpu_check.py', '--out', tmp_path/'g'])
    assert result.returncode == 1 and result.stderr.count('\n') == 1 and 'no CUDA device' in result.stderr
    assert not (tmp_path/'g').exists()


def test_gpu_check_dry_run_on_cpu(tmp_path):
    "The whole script on the CPU, quick: one notebook, one benchmark, one report and the executed copy."
    out = tmp_path/'g'
    result = run([sys.executable, 'tools/gpu_check.py', '--cpu', '--quick', '--out', out, '00', '--bench', 'matmul'],
                 env={'COURSE_LIB_HOME': tmp_path/'h'})
    assert result.returncode == 0, result.stdout[-3000:]
    assert sorted(p.name for p in out.iterdir()) == ['benchmarks.json', 'executed.tar.gz', 'notebooks.json', 'report.md']
    report = (out/'report.md').read_text()
    assert report.startswith('# GPU course run\n') and 'everything ran' in report
    assert '| 00_core | ok |' in report and 'matmul_at_vs_loops' in report and 'skipped (no CUDA)' in report
    data = report.split('## Data\n', 1)[1].split('##', 1)[0]    # where each dataset came from, first
    assert 'mnist ' in data and ' missing ' not in data, data
    with tarfile.open(out/'executed.tar.gz') as tar: assert tar.getnames() == ['00_core.ipynb']


def test_gpu_workflow_runs_the_readme_test_command_on_a_gpu_runner():
    yaml = pytest.importorskip('yaml')
    workflow = yaml.safe_load((ROOT/'.github'/'workflows'/'gpu.yml').read_text())
    triggers = workflow[True]            # YAML 1.1 reads the key `on` as True
    # by hand or by a `gpu` label, never on a schedule: a repository without the runner fails no nightly job
    assert 'workflow_dispatch' in triggers and 'schedule' not in triggers
    assert triggers['pull_request']['types'] == ['labeled'] and "label.name == 'gpu'" in workflow['jobs']['gpu']['if']
    job = workflow['jobs']['gpu']
    assert job['runs-on'] == ['self-hosted', 'gpu'] and job['env']['COURSE_LIB_DEVICE'] == 'cuda'
    runs = [step.get('run', '') for step in job['steps']]
    assert '.venv/bin/pip install -q -c constraints.txt -e ".[dev]"' in runs[2]   # the README's install, as in .ci/run
    assert '.venv/bin/pytest' in runs and 'pytest\n' in (ROOT/'README.md').read_text()
    assert any('tools/gpu_check.py' in r for r in runs)


def _fake_mirror(tmp_path):
    "A mirror whose Imagenette is the bundled sample, packed as a tar and named by the mirror's own manifest."
    from course_lib.data import MANIFEST, file_digest, samples_dir
    mirror = tmp_path/'mirror'
    (mirror/'fake').mkdir(parents=True)
    archive = mirror/'fake'/'imagenette2-160.tgz'
    with tarfile.open(archive, 'w:gz') as tar: tar.add(samples_dir()/'imagenette2-160', arcname='imagenette2-160')
    entry = {'files': [{'path': 'fake/imagenette2-160.tgz', 'sha256': file_digest(archive, 'sha256')}]}
    (mirror/MANIFEST).write_text(json.dumps({'imagenette2-160': entry}))
    return mirror


def test_pack_gpu_data_reencodes_images_that_the_data_layer_takes(tmp_path):
    from PIL import Image
    from course_lib.core import patch_env
    from course_lib.data import dataset_status, is_sample, samples_dir, untar_data
    mirror, out = _fake_mirror(tmp_path), tmp_path/'.data'
    result = run([sys.executable, 'tools/pack_gpu_data.py', '--out', out, '--mirror', mirror, '--size', '64',
                  '--workers', '1', 'imagenette2-160'])
    assert result.returncode == 0, result.stderr
    assert 're-encoded: WebP quality 75, shortest side 64 px' in result.stdout
    with patch_env(COURSE_LIB_MIRROR=str(out), COURSE_LIB_HOME=str(tmp_path/'home'), COURSE_LIB_OFFLINE='1'):
        path = untar_data('imagenette2-160')
        status = dataset_status('imagenette2-160')
    assert not is_sample(path) and status.where == 'cache', status
    assert status.note == 're-encoded: WebP quality 75, shortest side 64 px'
    originals = sorted(p.relative_to(samples_dir()/'imagenette2-160').with_suffix('.webp')
                       for p in (samples_dir()/'imagenette2-160').rglob('*.JPEG'))
    packed = sorted(p.relative_to(path) for p in path.rglob('*.webp'))
    assert packed == originals and len(packed) == 300      # every image, in the official layout
    assert (path/'noisy_imagenette.csv').is_file()          # other files unchanged
    for file in packed[::50]:
        with Image.open(path/file) as img: assert img.format == 'WEBP' and min(img.size) <= 64, img.size


def test_pack_gpu_data_copies_small_datasets_and_refuses_bad_input_in_one_line(tmp_path):
    mirror, out = _fake_mirror(tmp_path), tmp_path/'.data'
    (mirror/'imdb_sample').mkdir()
    (mirror/'imdb_sample'/'texts.csv').write_text('label,text,is_valid\n')
    result = run([sys.executable, 'tools/pack_gpu_data.py', '--out', out, '--mirror', mirror, 'imdb_sample'])
    assert result.returncode == 0, result.stderr
    assert (out/'imdb_sample'/'texts.csv').read_text() == 'label,text,is_valid\n'
    for args, message in [(['imagenette'], "unknown dataset 'imagenette'"),
                          (['--size', '4', 'mnist'], '--size takes 16 to 1024 px'),
                          (['mnist'], 'mnist is not in the mirror')]:
        result = run([sys.executable, 'tools/pack_gpu_data.py', '--out', out, '--mirror', mirror, *args])
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert message in result.stderr, result.stderr
    (mirror/'fake'/'imagenette2-160.tgz').write_bytes(b'not the archive the manifest names')
    result = run([sys.executable, 'tools/pack_gpu_data.py', '--out', out, '--mirror', mirror, 'imagenette2-160'])
    assert result.returncode == 2 and 'the source is damaged' in result.stderr, result.stderr
    assert not list(out.glob('imagenette2-160/*.tgz'))      # nothing half-written


def test_gpu_wheel_list_matches_the_pins():
    "tools/gpu_wheels.txt (what docs/gpu.md carries to an offline GPU machine) pins what constraints.txt pins."
    import re
    def pins(path):
        found = {}
        for line in (ROOT/path).read_text().splitlines():
            if m := re.match(r'([A-Za-z0-9_.\-]+)==([^\s#]+)', line.strip()):
                found[re.sub(r'[-_.]+', '-', m.group(1)).lower()] = m.group(2)
        return found
    wheels, constraints = pins('tools/gpu_wheels.txt'), pins('constraints.txt')
    assert len(wheels) == 46 + 19 and {'nbval', 'ipykernel', 'fastprogress', 'simplejpeg', 'nbdev', 'spacy',
                                          'thinc'} <= set(wheels)
    stale = {name: (version, constraints.get(name)) for name, version in wheels.items()
             if constraints.get(name) != version}
    assert not stale, f'update tools/gpu_wheels.txt to constraints.txt: {stale}'
