"""The scripted GPU course run, tested on the CPU: `course-lib run --report`, tools/gpu_check.py, and a device
variable asking for CUDA where there is none (pytest and `course-lib run` stop at once, in one line)."""
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import nbformat
import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
CLI = Path(sys.executable).parent/'course-lib'
no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason='this machine has CUDA')


def run(cmd, env=None, cwd=ROOT, timeout=600):
    return subprocess.run(list(map(str, cmd)), capture_output=True, text=True, cwd=cwd, timeout=timeout,
                          env={**os.environ, **(env or {})})


def _notebook(path, *sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata['kernelspec'] = {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}
    nbformat.write(nb, path)


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
    _notebook(nbs/'01_good.ipynb', 'x = 1')
    result = run([CLI, 'run', '--nbs', nbs, '01'], env={'COURSE_LIB_DEVICE': 'cuda', 'COURSE_LIB_HOME': tmp_path/'h'})
    assert result.returncode == 1 and result.stderr.count('\n') == 1, result.stderr
    assert 'COURSE_LIB_DEVICE=cuda but PyTorch sees no cuda device' in result.stderr


def test_run_report(tmp_path):
    nbs = tmp_path/'nbs'
    nbs.mkdir()
    metric = "from course_lib.core import record_metric\nrecord_metric('answer', 42, fmt='{:.0f}')"
    _notebook(nbs/'01_good.ipynb', metric)
    _notebook(nbs/'02_bad.ipynb', 'x = 1', "raise ValueError('boom')")
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
    with tarfile.open(out/'executed.tar.gz') as tar: assert tar.getnames() == ['00_core.ipynb']


def test_gpu_workflow_runs_the_readme_test_command_on_a_gpu_runner():
    yaml = pytest.importorskip('yaml')
    workflow = yaml.safe_load((ROOT/'.github'/'workflows'/'gpu.yml').read_text())
    triggers = workflow[True]            # YAML 1.1 reads the key `on` as True
    assert 'workflow_dispatch' in triggers and triggers['schedule'][0]['cron']
    job = workflow['jobs']['gpu']
    assert job['runs-on'] == ['self-hosted', 'gpu'] and job['env']['COURSE_LIB_DEVICE'] == 'cuda'
    runs = [step.get('run', '') for step in job['steps']]
    assert '.venv/bin/pip install -q -c constraints.txt -e ".[dev]"' in runs[2]   # the README's install, as in .ci/run
    assert '.venv/bin/pytest' in runs and 'pytest\n' in (ROOT/'README.md').read_text()
    assert any('tools/gpu_check.py' in r for r in runs)
