"""The `course-lib` command: help, data listing, the run table and its failure report."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

SHARED = Path(__file__).resolve().parents[2]/'shared'/'data'
CLI = shutil.which('course-lib') or str(Path(sys.executable).parent/'course-lib')


def course_lib(*args, env=None, cwd=None):
    return subprocess.run([CLI, *args], capture_output=True, text=True, env={**os.environ, **(env or {})},
                          cwd=cwd, timeout=300)


def test_help_lists_the_commands():
    result = course_lib('--help')
    assert result.returncode == 0
    for command in ('run', 'data', 'docs'): assert command in result.stdout
    assert '--quick' in course_lib('run', '--help').stdout


def test_bad_arguments_exit_2_with_usage():
    result = course_lib('fly')
    assert result.returncode == 2 and 'usage: course-lib' in result.stderr


def test_data_lists_samples_without_a_mirror(home):
    result = course_lib('data', env={'COURSE_LIB_HOME': str(home)})
    assert result.returncode == 0
    rows = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()[1:]}
    assert rows['mnist'] == 'sample' and rows['imagenette2-160'] == 'sample' and rows['oxford-iiit-pet'] == 'missing'


@pytest.mark.skipif(not SHARED.exists(), reason='project data mirror not present')
def test_data_lists_the_mirror(home):
    result = course_lib('data', env={'COURSE_LIB_HOME': str(home), 'COURSE_LIB_MIRROR': str(SHARED)})
    rows = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()[1:]}
    assert rows['mnist'] == rows['imdb'] == rows['imagenette2-160'] == 'mirror'


def test_data_get_unknown_name(home):
    result = course_lib('data', 'get', 'mnits', env={'COURSE_LIB_HOME': str(home)})
    assert result.returncode == 1 and 'Known datasets' in result.stderr


def _notebook(path, *sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata['kernelspec'] = {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}
    nbformat.write(nb, path)


def test_run_prints_the_table_and_names_the_failing_cell(tmp_path, home):
    nbs = tmp_path/'nbs'
    nbs.mkdir()
    _notebook(nbs/'01_good.ipynb', 'from course_lib.core import record_metric, quick_mode',
              "record_metric('valid accuracy', 0.975 if quick_mode() else 0.5)")
    _notebook(nbs/'02_bad.ipynb', 'x = 1', '1 / 0', 'print("never")')
    out = tmp_path/'run'
    result = course_lib('run', '01', '02', '--quick', '--nbs', str(nbs), '--out', str(out),
                        env={'COURSE_LIB_HOME': str(home)})
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    header = next(i for i, l in enumerate(lines) if l.startswith('notebook'))
    good, bad = lines[header + 2].split(), lines[header + 3].split()
    assert good[:2] == ['01_good', 'ok'] and 'valid accuracy 0.975' in lines[header + 2]
    assert bad[:2] == ['02_bad', 'failed'] and '(cell 1)' in lines[header + 3]
    assert 'FAILED 02_bad at cell 1: ZeroDivisionError' in result.stderr
    assert (out/'01_good.ipynb').exists() and (out/'02_bad.ipynb').exists()


def test_run_unknown_notebook(tmp_path):
    result = course_lib('run', '99x', '--nbs', str(Path(__file__).parents[1]/'nbs'))
    assert result.returncode == 1 and 'No notebook or lesson' in result.stderr
