"""Practice mode: `course-lib practice` copies and `course-lib check` reports.

Checking a notebook runs it in quick mode, so checking every lesson notebook twice (its practice copy and the
original) costs about two quick runs of the course. The default run checks a representative set (01, 02, 07);
`COURSE_LIB_PRACTICE_ALL=1 pytest -n 0 tests/test_practice.py` checks every lesson notebook.
"""
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from course_lib.tools.notebooks import course_notebooks, nb_number, select_notebooks, shipped_notebooks
from course_lib.tools.practice import check_notebook, definitions, is_stub, practice_copies, STUB_MARK

ROOT = Path(__file__).resolve().parents[1]
# the course-lib of this Python's environment (a venv's, not another install found first on PATH)
CLI = str(Path(sys.executable).parent/'course-lib')
if not Path(CLI).exists(): CLI = shutil.which('course-lib') or CLI
DEFAULT = ('01', '02', '07')
NOTHING_TO_WRITE = {'09d'}   # the front door: imports gathered in one module, no definition of its own
ALL = os.environ.get('COURSE_LIB_PRACTICE_ALL') == '1'
LESSONS = [nb_number(p) for p in select_notebooks([], shipped_notebooks())]
every_lesson = pytest.mark.parametrize('number', [
    n if n in DEFAULT or ALL else pytest.param(n, marks=pytest.mark.skip(
        reason='set COURSE_LIB_PRACTICE_ALL=1 to check every lesson notebook (two quick runs each)'))
    for n in LESSONS])


def plant(path, name, code):
    "Replace the stub of `name` in practice copy `path` with `code` (a learner's definition)."
    nb = json.loads(path.read_text())
    for cell in nb['cells']:
        if cell['cell_type'] != 'code': continue
        source = ''.join(cell['source'])
        node = next((n for n in definitions(source) if n.name == name), None)
        if node is None: continue
        assert is_stub(node), f'{name} is not a stub in {path.name}'
        lines = source.splitlines(keepends=True)
        first = (node.decorator_list[0].lineno if node.decorator_list else node.lineno) - 1
        cell['source'] = ''.join(lines[:first]) + code.strip('\n') + '\n' + ''.join(lines[node.end_lineno:])
        path.write_text(json.dumps(nb, indent=1))
        return
    raise AssertionError(f'no definition of {name} in {path.name}')


def statuses(report): return {row.name: row.status for row in report.rows}


def test_copies_keep_signatures_docstrings_and_checks(tmp_path):
    original = json.loads((shipped_notebooks()/'02_fully_connected.ipynb').read_text())
    copy = json.loads(practice_copies(tmp_path, ['02'])[0].read_text())
    code = [''.join(c['source']) for c in copy['cells'] if c['cell_type'] == 'code']
    assert not any(c['outputs'] for c in copy['cells'] if c['cell_type'] == 'code')
    assert 'def mse(output, target):\n    "Mean squared error' in '\n'.join(code)
    assert '.pow(2).mean()' not in '\n'.join(code)          # mse's body is gone
    nodes = [n for source in code for n in definitions(source)]
    assert nodes and all(is_stub(n) for n in nodes)
    checks = [''.join(c['source']) for c in original['cells'] if 'test_close' in ''.join(c['source'])
              and not definitions(''.join(c['source']))]
    assert checks and all(check in code for check in checks)   # every check cell kept, word for word
    assert not any('export_library' in source for source in code)   # a copy never re-exports the library
    prose = [c for c in copy['cells'] if c['cell_type'] == 'markdown']
    assert len(prose) == sum(c['cell_type'] == 'markdown' for c in original['cells'])


def test_practice_never_overwrites_without_force(tmp_path):
    path = practice_copies(tmp_path, ['01'])[0]
    path.write_text(path.read_text().replace('is not written yet', 'is written'))
    result = subprocess.run([CLI, 'practice', str(tmp_path), '01'], capture_output=True, text=True)
    assert result.returncode == 1 and '--force' in result.stderr and result.stderr.count('\n') == 1
    assert 'is written' in path.read_text()
    assert subprocess.run([CLI, 'practice', str(tmp_path), '01', '--force'], capture_output=True).returncode == 0
    assert 'is written' not in path.read_text()


def test_check_errors_are_one_line(tmp_path):
    result = subprocess.run([CLI, 'check', '02', '--dir', str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 1 and 'course-lib practice' in result.stderr and result.stderr.count('\n') == 1
    (tmp_path/'my_notes.ipynb').write_text(json.dumps({'cells': [], 'metadata': {}, 'nbformat': 4,
                                                       'nbformat_minor': 5}))
    result = subprocess.run([CLI, 'check', str(tmp_path/'my_notes.ipynb')], capture_output=True, text=True)
    assert result.returncode == 1 and 'not the name of a course notebook' in result.stderr


@every_lesson
def test_unchanged_copy_is_all_not_written(tmp_path, number):
    path = practice_copies(tmp_path, [number])[0]
    report = check_notebook(path)
    if number in NOTHING_TO_WRITE:
        assert report.rows == [] and report.other_failures == [], report.table()
        return
    assert report.rows, f'{number}: no definitions found'
    assert set(statuses(report).values()) == {'not written'}, report.table()
    assert report.other_failures == [], report.table()   # the course's versions ran in their place
    assert not report.ok and report.summary().startswith(f'{number}: 0 of {len(report.rows)} written')


@every_lesson
def test_original_is_all_written_and_passing(tmp_path, number):
    path = shutil.copy(shipped_notebooks()/select_notebooks([number], shipped_notebooks())[0].name, tmp_path)
    report = check_notebook(path)
    assert report.ok, report.table()
    if number in NOTHING_TO_WRITE:
        assert report.rows == [], report.table()
        return
    assert 'not written' not in set(statuses(report).values())
    assert sum(r.status == 'pass' for r in report.rows) > 0, report.table()
    if number == '01':   # timed, never checked: said so, not counted as passing
        tflops = next(r for r in report.rows if r.name == 'matmul_tflops')
        assert tflops.status == 'unchecked' and 'no check' in tflops.detail, report.table()
        assert report.summary() == '01: 7 of 7 written, 6 pass, 1 not checked here'


def test_cli_check_exit_status_and_summary(tmp_path):
    practice_copies(tmp_path, ['01'])
    result = subprocess.run([CLI, 'check', '01'], capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert result.returncode == 1, result.stdout + result.stderr
    assert 'not written yet' in result.stdout and result.stdout.strip().splitlines()[-1] == '01: 0 of 7 written, 0 pass'


PLANTED = {   # a learner's wrong definitions, and the check that must catch each
    '01': ('matmul_einsum', '''
def matmul_einsum(a, b):
    "Einstein summation: c_ij = sum over k of a_ik b_kj."
    return torch.einsum('ik,kj->ji', a, b)   # wrong: the transpose of the product
'''),
    '02': ('mse_grad', '''
def mse_grad(out, targ):
    return (out.squeeze(-1) - targ).unsqueeze(-1) / out.shape[0]   # wrong: the factor 2 is missing
'''),
    '07': ('standardize', '''
def standardize(x, mean, var, eps=1e-5):
    "`(x - mean) / sqrt(var + eps)`: mean 0 and variance 1 where the statistics fit."
    return (x - mean) / var.sqrt()   # wrong: eps is ignored
'''),
}
RIGHT = {'01': ('matmul_loops', '''
def matmul_loops(a, b):
    "Three nested Python loops: 39,200 Python steps for our problem."
    if a.shape[1] != b.shape[0]: raise ValueError("a's number of columns must equal b's number of rows")
    c = torch.zeros(a.shape[0], b.shape[1])
    for i in range(a.shape[0]):
        for j in range(b.shape[1]):
            for k in range(a.shape[1]): c[i, j] += a[i, k] * b[k, j]
    return c
''')}


@pytest.mark.parametrize('number', sorted(PLANTED))
def test_planted_mistakes_are_named_with_their_check(tmp_path, number):
    path = practice_copies(tmp_path, [number])[0]
    name, code = PLANTED[number]
    plant(path, name, code)
    report = check_notebook(path)
    row = next(r for r in report.rows if r.name == name)
    assert row.status == 'fail', report.table()
    assert row.detail.startswith('cell ') and 'line ' in row.detail and 'Error' in row.detail, row.detail
    # everything else is still the course's own code, so nothing else is blamed
    others = {n: s for n, s in statuses(report).items() if n != name}
    assert set(others.values()) == {'not written'}, report.table()
    assert 'a check fails' in report.table() and name in report._repr_html_()


def test_a_right_definition_passes_while_a_wrong_one_fails(tmp_path):
    path = practice_copies(tmp_path, ['01'])[0]
    plant(path, *RIGHT['01'])
    plant(path, *PLANTED['01'])
    report = check_notebook(path)
    found = statuses(report)
    assert found['matmul_loops'] == 'pass' and found['matmul_einsum'] == 'fail', report.table()
    assert report.summary() == '01: 2 of 7 written, 1 pass'
    assert not report.ok


def test_a_check_of_printed_output_catches_a_silent_mistake(tmp_path):
    "ReluFn ignoring `leak` raises nothing; the cell whose output the course compares shows other numbers."
    path = practice_copies(tmp_path, ['02'])[0]
    plant(path, 'ReluFn', '''
class ReluFn(torch.autograd.Function):
    "ReLU with its own backward, which passes a share `leak` of the gradient at x < 0."
    @staticmethod
    def forward(ctx, x, leak=0.):
        ctx.save_for_backward(x)
        return x.clamp_min(0.)

    @staticmethod
    def backward(ctx, out_g):
        x, = ctx.saved_tensors
        return out_g * (x > 0), None   # wrong: the leak is dropped
''')
    report = check_notebook(path)
    row = next(r for r in report.rows if r.name == 'ReluFn')
    assert row.status == 'fail' and "its output differs from the course's" in row.detail, report.table()


def _notebook(path, *sources):
    cells = [{'cell_type': 'code', 'execution_count': None, 'id': f'c{i}', 'metadata': {}, 'outputs': [],
              'source': source} for i, source in enumerate(sources)]
    path.write_text(json.dumps({'cells': cells, 'metadata': {'kernelspec': {'name': 'python3', 'language': 'python',
                                'display_name': 'Python 3'}}, 'nbformat': 4, 'nbformat_minor': 5}))


def test_used_later_and_broken_cells(tmp_path, monkeypatch):
    "An exported definition first used in a later notebook says so; a learner's cell that does not parse fails."
    from course_lib.tools import practice
    course = tmp_path/'course'
    course.mkdir()
    _notebook(course/'50_first.ipynb', '#| export\ndef helper(x):\n    "Used by the next notebook."\n    return x + 1',
              '#| export\ndef double(x): return 2 * x', 'assert double(2) == 4')
    _notebook(course/'51_second.ipynb', 'helper(1)')
    monkeypatch.setattr(practice, 'shipped_notebooks', lambda: course)
    rows = {r.name: r for r in check_notebook(shutil.copy(course/'50_first.ipynb', tmp_path)).rows}
    assert (rows['helper'].status, rows['helper'].detail) == ('unchecked', 'first used in 51_second')
    assert rows['double'].status == 'pass'
    copy = practice_copies(tmp_path/'practice', ['50'])[0]
    nb = json.loads(copy.read_text())
    nb['cells'][1]['source'] = '#| export\ndef double(x): return 2 *'
    copy.write_text(json.dumps(nb))
    report = check_notebook(copy)
    rows = {r.name: r for r in report.rows}
    assert rows['helper'].status == 'not written' and rows['double'].status == 'fail', report.table()
    assert 'SyntaxError' in rows['double'].detail and rows['double'].detail.startswith('cell 1'), report.table()


def test_practice_and_check_from_the_wheel_alone(tmp_path):
    "Unpacked, the wheel alone (no clone on the path, run elsewhere, offline) makes copies and checks them."
    wheels = tmp_path/'wheels'
    result = subprocess.run([sys.executable, '-m', 'pip', 'wheel', str(ROOT), '--no-deps', '--no-build-isolation',
                             '-q', '-w', str(wheels)], capture_output=True, text=True, cwd=tmp_path)
    if result.returncode != 0 and 'No module named pip' in result.stderr: pytest.skip('pip is not installed')
    assert result.returncode == 0, result.stderr
    site = tmp_path/'site'
    zipfile.ZipFile(next(wheels.glob('*.whl'))).extractall(site)
    work = tmp_path/'learner'
    work.mkdir()
    env = {**os.environ, 'PYTHONPATH': str(site), 'COURSE_LIB_OFFLINE': '1', 'COURSE_LIB_HOME': str(tmp_path/'home')}
    env.pop('COURSE_LIB_MIRROR', None)
    env.pop('COURSE_LIB_NBS', None)
    run = lambda *args: subprocess.run([sys.executable, '-c', 'import sys; from course_lib.tools.cli import main; '
                                        'sys.exit(main(sys.argv[1:]))', *args], capture_output=True, text=True,
                                       cwd=work, env=env, timeout=600)
    where = subprocess.run([sys.executable, '-c', 'import course_lib; print(course_lib.__file__)'],
                           capture_output=True, text=True, cwd=work, env=env).stdout
    assert where.startswith(str(site)), where
    assert run('practice', 'copies', '02').returncode == 0
    result = run('check', 'copies/02_fully_connected.ipynb')
    assert result.returncode == 1, result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith('02: 0 of ') and 'other cells' not in result.stdout
