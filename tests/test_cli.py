"""The `course-lib` command: help, data listing, the run table and its failure report."""
import os
import shutil
import signal
import subprocess
import re
import sys
import time
from pathlib import Path

import nbformat
import pytest

from helpers import write_notebook

SHARED = Path(__file__).resolve().parents[2]/'shared'/'data'
# the course-lib of this Python's environment (a venv's, not another install found first on PATH)
CLI = str(Path(sys.executable).parent/'course-lib')
if not Path(CLI).exists(): CLI = shutil.which('course-lib') or CLI


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
    rows = {name: line.split()[1] for name, line in _rows(result.stdout).items()}
    assert rows['mnist'] == 'bundled' and rows['imagenette2-160'] == 'bundled' and rows['oxford-iiit-pet'] == 'missing'


@pytest.mark.skipif(not SHARED.exists(), reason='project data mirror not present')
def test_data_lists_the_mirror(home):
    result = course_lib('data', env={'COURSE_LIB_HOME': str(home), 'COURSE_LIB_MIRROR': str(SHARED)})
    rows = {name: line.split()[1] for name, line in _rows(result.stdout).items()}
    assert rows['mnist'] == rows['imdb'] == rows['imagenette2-160'] == 'mirror'


def test_data_get_unknown_name(home):
    result = course_lib('data', 'get', 'mnits', env={'COURSE_LIB_HOME': str(home)})
    assert result.returncode == 1 and 'Known datasets' in result.stderr


def test_run_prints_the_table_and_names_the_failing_cell(tmp_path, home):
    nbs = tmp_path/'nbs'
    nbs.mkdir()
    write_notebook(nbs/'01_good.ipynb', 'from course_lib.core import record_metric, quick_mode',
                   "record_metric('valid accuracy', 0.975 if quick_mode() else 0.5)")
    write_notebook(nbs/'02_bad.ipynb', 'x = 1', '1 / 0', 'print("never")')
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


# --- issue 8: start-up time, one-line errors, the pip-installed learner, runs that always report ---

def _rows(stdout):
    "`course-lib data`'s table of datasets as {dataset: line} (it ends at the first blank line)."
    lines = stdout.splitlines()
    return {line.split()[0]: line for line in lines[1:lines.index('')]}


def test_help_is_fast_and_imports_no_torch():
    start = time.perf_counter()
    assert course_lib('--help').returncode == 0
    assert time.perf_counter() - start < 3, 'course-lib --help must not import torch or Jupyter'
    code = 'import sys, course_lib.tools.cli; print(sorted({"torch", "nbformat", "nbclient", "numpy"} & set(sys.modules)))'
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == '[]'


def test_data_shows_completeness_and_names_the_sample_clearly(home):
    result = course_lib('data', env={'COURSE_LIB_HOME': str(home)})
    rows = _rows(result.stdout)
    assert result.stdout.split()[:5] == ['dataset', 'where', 'size', 'note', 'location']
    assert 'sample: 2,000 train / 500 valid digits' in rows['mnist']
    assert 'course_lib/samples/mnist_sample.npz' in rows['mnist']
    assert 'not the bundled' in rows['mnist_sample']


@pytest.mark.skipif(not SHARED.exists(), reason='project data mirror not present')
def test_data_notes_partial_mirror_copies_and_hides_machine_paths(home):
    result = course_lib('data', env={'COURSE_LIB_HOME': str(home), 'COURSE_LIB_MIRROR': str(SHARED)})
    rows = _rows(result.stdout)
    assert 'subset: 2,500 of 12,954 images' in rows['imagewoof2-160']
    assert 'valid+test only' in rows['wikitext-2']
    assert '$COURSE_LIB_MIRROR/mnist/mnist.pkl.gz' in rows['mnist'] and str(SHARED) not in result.stdout


@pytest.mark.skipif(not SHARED.exists(), reason='project data mirror not present')
def test_truncated_cache_is_shown_damaged_and_force_refetches(home):
    (home/'archive').mkdir(parents=True)
    cached = home/'archive'/'mnist.pkl.gz'
    cached.write_bytes((SHARED/'mnist'/'mnist.pkl.gz').read_bytes()[:5_000_000])
    env = {'COURSE_LIB_HOME': str(home), 'COURSE_LIB_MIRROR': str(SHARED), 'COURSE_LIB_OFFLINE': '1'}
    assert _rows(course_lib('data', env=env).stdout)['mnist'].split()[1] == 'damaged'
    result = course_lib('data', 'get', 'mnist', '--force', env=env)
    assert result.returncode == 0 and result.stdout.strip() == '$COURSE_LIB_MIRROR/mnist/mnist.pkl.gz'
    assert not cached.exists()
    assert _rows(course_lib('data', env=env).stdout)['mnist'].split()[1] == 'mirror'


def test_data_with_an_unwritable_home(tmp_path):
    (tmp_path/'a_file').write_text('')
    result = course_lib('data', env={'COURSE_LIB_HOME': str(tmp_path/'a_file'/'home'), 'COURSE_LIB_MIRROR': ''})
    assert result.returncode == 0 and 'Traceback' not in result.stderr
    assert _rows(result.stdout)['mnist'].split()[1] == 'bundled'


def _one_line_error(result, *needles):
    assert result.returncode == 1, result
    assert 'Traceback' not in result.stderr and result.stderr.count('\n') == 1, result.stderr
    for needle in needles: assert needle in result.stderr, result.stderr


def test_bogus_device_is_one_line(tmp_path, home):
    nbs = tmp_path/'nbs'
    nbs.mkdir()
    write_notebook(nbs/'01_good.ipynb', 'x = 1')
    result = course_lib('run', '--nbs', str(nbs), '01', env={'COURSE_LIB_DEVICE': 'bogus', 'COURSE_LIB_HOME': str(home)})
    _one_line_error(result, "COURSE_LIB_DEVICE='bogus' is not a device")
    result = course_lib('--debug', 'run', '--nbs', str(nbs), '01', env={'COURSE_LIB_DEVICE': 'bogus'})
    assert result.returncode != 0 and 'Traceback' in result.stderr


def test_docs_without_the_docs_extra_is_one_line(tmp_path):
    code = ("import sys; sys.modules['sphinx'] = sys.modules['nbdev'] = None; "
            "from course_lib.tools.cli import main; sys.exit(main(['docs']))")
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=tmp_path)
    _one_line_error(result, 'pip install "course_lib[docs] @ git+https://github.com/course-lib/course_lib"')


def test_run_outside_a_clone_says_how_to_get_the_notebooks(tmp_path, home):
    site = tmp_path/'site'     # the package alone, as pip installs it: no nbs/ beside it
    shutil.copytree(Path(__file__).resolve().parents[1]/'course_lib', site/'course_lib')
    result = course_lib('run', '01', cwd=tmp_path, env={'COURSE_LIB_NBS': '', 'PYTHONPATH': str(site)})
    _one_line_error(result, 'course-lib notebooks DEST', 'https://github.com/course-lib/course_lib')


def test_notebooks_copies_and_never_overwrites_edits(tmp_path, home):  # home: where DEST is remembered
    dest = tmp_path/'course'
    result = course_lib('notebooks', str(dest))
    assert result.returncode == 0 and (dest/'01_matmul.ipynb').exists() and (dest/'05_anneal.ipynb').exists()
    assert not (dest/'91_tools_cli.ipynb').exists(), 'the tooling appendix is not part of a learner copy'
    (dest/'01_matmul.ipynb').write_text('{"my": "edits"}')
    _one_line_error(course_lib('notebooks', str(dest)), '01_matmul.ipynb', '--force')
    assert (dest/'01_matmul.ipynb').read_text() == '{"my": "edits"}'
    assert course_lib('notebooks', str(dest), '--force').returncode == 0
    assert (dest/'01_matmul.ipynb').read_text() != '{"my": "edits"}'
    (tmp_path/'a_file').write_text('')
    _one_line_error(course_lib('notebooks', str(tmp_path/'a_file')), 'a_file')


def test_unwritable_home_during_run_keeps_the_table_and_the_copies(tmp_path):
    nbs = tmp_path/'nbs'
    nbs.mkdir()
    write_notebook(nbs/'01_data.ipynb', 'from course_lib.data import get_mnist', 'x = get_mnist()[0]',
                   'from course_lib.core import record_metric', "record_metric('rows', len(x), '{:.0f}')")
    (tmp_path/'a_file').write_text('')
    result = course_lib('run', '01', '--offline', '--nbs', str(nbs),
                        env={'COURSE_LIB_HOME': str(tmp_path/'a_file'/'home'), 'COURSE_LIB_MIRROR': ''})
    assert result.returncode == 0, result.stderr
    assert 'cannot be written' in result.stderr
    copies = Path(re.search(r'executed copies: (\S+)', result.stdout).group(1))
    assert (copies/'01_data.ipynb').exists()
    line = next(l for l in result.stdout.splitlines() if l.startswith('01_data'))
    assert 'ok' in line and 'rows 2000 *' in line
    assert 'figures from the small samples shipped with course_lib (mnist)' in result.stdout


def test_only_the_last_runs_are_kept(tmp_path, home):
    nbs = tmp_path/'nbs'
    nbs.mkdir()
    write_notebook(nbs/'01_good.ipynb', 'x = 1')
    for day in range(1, 8): (home/'runs'/f'2020010{day}-120000').mkdir(parents=True)
    result = course_lib('run', '01', '--nbs', str(nbs), env={'COURSE_LIB_HOME': str(home)})
    assert result.returncode == 0
    runs = sorted(p.name for p in (home/'runs').iterdir())
    assert len(runs) == 5 and runs[0] == '20200104-120000' and not runs[-1].startswith('2020')
    assert 'last 5 runs are kept' in course_lib('run', '--help').stdout.replace('\n', ' ').replace('  ', ' ')


# --- a long run reports as it goes, and survives Ctrl-C ---

def _next_line(pipe, seconds):
    "The next line from `pipe`, or '' if none comes within `seconds` (the run printed nothing meanwhile)."
    import selectors
    with selectors.DefaultSelector() as sel:
        sel.register(pipe, selectors.EVENT_READ)
        return pipe.readline() if sel.select(timeout=seconds) else ''


def test_ctrl_c_stops_the_kernel_prints_the_table_keeps_the_copies_and_exits_130(tmp_path, home):
    nbs, out, started = tmp_path/'nbs', tmp_path/'run', tmp_path/'started'
    nbs.mkdir()
    write_notebook(nbs/'01_quick.ipynb', 'from course_lib.core import record_metric', "record_metric('answer', 42, '{:.0f}')")
    write_notebook(nbs/'02_slow.ipynb', f"import os, time\nopen({str(started)!r}, 'w').write(str(os.getpid()))\nprint('started')",
              'time.sleep(300)')
    write_notebook(nbs/'03_never.ipynb', 'x = 1')
    # a pytest-xdist worker ignores SIGINT and a child inherits that: give course-lib a terminal's default
    run = subprocess.Popen([CLI, 'run', '--nbs', str(nbs), '--out', str(out)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env={**os.environ, 'COURSE_LIB_HOME': str(home)},
                           preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        # stdout is a pipe, not a terminal: the first notebook's line still comes as soon as it finishes
        first = _next_line(run.stdout, 120)
        assert first.startswith('[1/3] 01_quick  ok  '), first
        assert 'answer 42' in first and run.poll() is None
        for _ in range(600):    # wait until 02's kernel sits in its long cell
            if started.exists() and started.read_text(): break
            time.sleep(0.1)
        time.sleep(1)
        run.send_signal(signal.SIGINT)
        stdout, stderr = run.communicate(timeout=60)
    finally:
        if run.poll() is None: run.kill()
    assert run.returncode == 130, (stdout, stderr)
    assert 'Traceback' not in stderr and 'AssertionError' not in stderr, stderr
    assert 'INTERRUPTED 02_slow at cell 1' in stderr and 'course-lib run --nbs' in stderr and ' 03 ' in stderr, stderr
    rows = {line.split()[0]: line for line in stdout.splitlines()[stdout.splitlines().index('') + 1:] if line.strip()}
    assert rows['01_quick'].split()[1] == 'ok' and 'interrupted (cell 1)' in rows['02_slow'] and '03_never' not in rows
    assert sorted(p.name for p in out.iterdir()) == ['01_quick.ipynb', '02_slow.ipynb']   # no half-written file
    copy = nbformat.read(out/'02_slow.ipynb', as_version=4)
    assert copy.cells[0].outputs[0]['text'] == 'started\n', 'the interrupted copy keeps the outputs it reached'
    kernel = int(started.read_text())
    for _ in range(100):
        try: os.kill(kernel, 0)
        except ProcessLookupError: break
        time.sleep(0.1)
    else: raise AssertionError(f'the kernel (pid {kernel}) still runs after Ctrl-C')


def test_run_prints_one_line_per_notebook_then_the_table(tmp_path, home):
    nbs = tmp_path/'nbs'
    nbs.mkdir()
    write_notebook(nbs/'01_good.ipynb', 'x = 1')
    write_notebook(nbs/'02_bad.ipynb', '1 / 0')
    result = course_lib('run', '--nbs', str(nbs), '--out', str(tmp_path/'run'), env={'COURSE_LIB_HOME': str(home)})
    lines = result.stdout.splitlines()
    assert lines[0].startswith('[1/2] 01_good  ok  ') and lines[0].endswith(' s  -'), lines
    assert lines[1].startswith('[2/2] 02_bad  failed at cell 0  ') and 'ZeroDivisionError' in lines[1], lines
    assert lines[2] == '' and lines[3].startswith('notebook'), lines


@pytest.mark.skipif(not SHARED.exists(), reason='project data mirror not present')
def test_truncated_file_in_a_cached_dataset_folder_is_shown_damaged_and_replaced(home):
    env = {'COURSE_LIB_HOME': str(home), 'COURSE_LIB_MIRROR': str(SHARED), 'COURSE_LIB_OFFLINE': '1'}
    assert course_lib('data', 'get', 'imdb_sample', env=env).returncode == 0
    texts = home/'data'/'imdb_sample'/'texts.csv'
    size = texts.stat().st_size
    texts.write_bytes(texts.read_bytes()[:10_000])
    row = _rows(course_lib('data', env=env).stdout)['imdb_sample']
    assert row.split()[1] == 'damaged' and f'texts.csv is 10,000 bytes, expected {size:,}' in row, row
    code = ("from course_lib.data import untar_data; from course_lib.text import load_imdb; "
            "print(len(load_imdb(untar_data('imdb_sample'))['train'][0]))")
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env={**os.environ, **env})
    assert result.returncode == 0 and result.stdout.strip() == '800', result.stderr
    assert 'damaged: texts.csv is 10,000 bytes' in result.stderr and texts.stat().st_size == size
    assert _rows(course_lib('data', env=env).stdout)['imdb_sample'].split()[1] == 'cache'


# --- install commands that work while the package is on no index ---

REPO = 'https://github.com/course-lib/course_lib'
INSTALLS = [   # what works today: a clone's editable install, pip's Git syntax, or a wheel built in a clone
    re.compile(r'pip install (-c constraints\.txt )?-e "\.\[\w+\]"'),
    re.compile(r'pip install "course_lib\[\w+\] @ git\+' + re.escape(REPO) + '"'),
    re.compile(r'pip wheel --no-deps -w dist \.'),
    re.compile(r'pip install "\$\(ls dist/course_lib-\*\.whl\)\[\w+\]"'),
]


def _pip_commands(text):
    "Every pip command in `text`: lines of code blocks, and `inline code`, that start with pip."
    blocks = re.findall(r'^```\w*\n(.*?)^```', text, flags=re.S | re.M)
    lines = [l.split('  #')[0].strip() for block in blocks for l in block.splitlines()]
    commands = [l for l in lines if l.startswith('pip ')] + re.findall(r'(?<!`)`(pip [^`]+)`', text)
    return [c.replace("'", '"') for c in commands]


def test_install_commands_in_the_readme_and_the_messages_work_without_an_index(tmp_path):
    readme = (Path(__file__).parents[1]/'README.md').read_text()
    nbs = tmp_path/'nbs'
    nbs.mkdir()
    write_notebook(nbs/'01_good.ipynb', 'x = 1')
    messages = []
    for module, argv in (('sphinx', ['docs']), ('nbclient', ['run', '--nbs', str(nbs), '01'])):
        code = (f"import sys; sys.modules[{module!r}] = None; "
                f"from course_lib.tools.cli import main; sys.exit(main({argv!r}))")
        result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=tmp_path)
        _one_line_error(result, 'pip install')
        assert result.stderr.count('pip ') == result.stderr.count('`pip '), result.stderr
        messages.append(result.stderr)
    for source, text in [('README.md', readme), *(('a message', m) for m in messages)]:
        commands = _pip_commands(text)
        assert commands, source
        for command in commands:
            assert any(p.fullmatch(command) for p in INSTALLS), f'{source}: {command!r} does not work without an index'
    assert f'pip install "course_lib[course] @ git+{REPO}"' in readme and 'pip wheel --no-deps -w dist .' in readme


# --- finding the notebooks, lessons that a copy lacks, figures that are not there ---

def test_run_finds_the_folder_that_course_lib_notebooks_copied_to_and_says_so(tmp_path, home):
    dest, elsewhere = tmp_path/'course', tmp_path/'elsewhere'
    elsewhere.mkdir()
    env = {'COURSE_LIB_HOME': str(home), 'COURSE_LIB_NBS': ''}
    assert course_lib('notebooks', str(dest), env=env).returncode == 0
    result = course_lib('run', '--list', env=env, cwd=elsewhere)
    assert result.returncode == 0 and '01_matmul.ipynb' in result.stdout
    assert '91_tools_cli.ipynb' not in result.stdout, 'listed the clone, not the copy'
    assert f'Using the notebooks in {dest}' in result.stderr, result.stderr


def test_a_lesson_missing_from_a_copy_is_explained(tmp_path, home):
    dest = tmp_path/'course'
    assert course_lib('notebooks', str(dest), env={'COURSE_LIB_HOME': str(home)}).returncode == 0
    result = course_lib('run', '--nbs', str(dest), 'tools', env={'COURSE_LIB_HOME': str(home)})
    _one_line_error(result, "holds none of lesson 'tools'", 'not copied by `course-lib notebooks`', REPO)
    assert 'tools' not in result.stderr.split('its lessons:')[1].split('.')[0]


def test_no_sample_star_on_a_notebook_without_a_figure():
    from course_lib.tools.notebooks import NotebookResult, summary_table
    table = summary_table([NotebookResult('11b_distributed', 'ok', 2.0, 'cpu', samples=['imagenette2-160'])])
    assert '- *' not in table and 'small samples' not in table, table


def test_data_shows_the_models_folder_and_clear_empties_it(home):
    env = {'COURSE_LIB_HOME': str(home)}
    (home/'models').mkdir(parents=True)
    (home/'models'/'lm.pth').write_bytes(b'0' * 3 * 2**20)
    result = course_lib('data', env=env)
    tail = result.stdout.split('\n\n', 1)[1]
    models = next(l for l in tail.splitlines() if l.startswith('models'))
    assert '3.0 MiB' in models and '$COURSE_LIB_HOME/models' in models, tail
    assert '`course-lib data clear models`' in tail
    result = course_lib('data', 'clear', 'models', env=env)
    assert result.returncode == 0 and '3.0 MiB' in result.stdout and not (home/'models').exists()
    assert '0 B' in next(l for l in course_lib('data', env=env).stdout.splitlines() if l.startswith('models'))
    _one_line_error(course_lib('data', 'clear', 'mnist', env=env), "data clear takes a folder, models or tokens")
    assert 'data clear models' in ' '.join(course_lib('data', '--help').stdout.split())


# --- what the README promises a newcomer ---

README = Path(__file__).parents[1]/'README.md'


def test_readme_sample_list_names_every_bundled_image_sample_with_its_size():
    from course_lib.data import samples_dir
    text = ' '.join(README.read_text().split())
    listed = text.split('the bundled samples (', 1)[1].split(')', 1)[0]
    for folder, name in (('imagenette2-160', 'Imagenette'), ('imagewoof2-160', 'Imagewoof')):
        n = sum(1 for p in (samples_dir()/folder).rglob('*') if p.suffix.lower() in ('.jpeg', '.jpg', '.png'))
        assert f'{n:,} {name} images' in listed, f'the README sample list should say "{n:,} {name} images": {listed}'
    for name in ('MNIST', 'IMDB', 'WikiText-2'): assert name in listed, listed


def test_readme_quotes_a_measured_run_time_and_how_to_run_one_lesson():
    text = ' '.join(README.read_text().split())
    assert 'a few minutes on a laptop' not in text
    assert re.search(r'\d+ minutes in one measured run', text), 'quote the measured time of the whole run'
    assert '`course-lib run --offline lesson8`' in text
