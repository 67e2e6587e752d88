"""What the package and its workflows promise their users: the Python and torch floors, the extras, a headless
import that loads no plotting library, and GitHub workflows that run where GitHub runs them."""
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT/'pyproject.toml').read_text())
WORKFLOWS = ROOT/'.github'/'workflows'


def python_floor():
    "The floor in requires-python, as a tuple: '>=3.11.4' -> (3, 11, 4)."
    spec = PYPROJECT['project']['requires-python']
    assert re.fullmatch(r'>=\d+\.\d+\.\d+', spec), f'requires-python {spec!r}: state the floor down to the patch'
    return tuple(int(part) for part in spec[2:].split('.'))


def import_course_lib_as(version):
    "Import course_lib in a fresh interpreter that reports `version` as its own; returns the finished process."
    fake = f'import sys; sys.version_info = {(*version, "final", 0)!r}; import course_lib'
    return subprocess.run([sys.executable, '-c', fake], capture_output=True, text=True, cwd=ROOT)


def test_python_floor_covers_tarfile_filter_and_import_says_so():
    floor = python_floor()
    assert floor >= (3, 11, 4), "tarfile's extractall(filter=...) that course_lib.data uses arrived in 3.11.4"
    assert 'filter=' in (ROOT/'course_lib'/'data.py').read_text(), 'the data layer no longer needs the filter'
    below = (*floor[:2], floor[2] - 1)
    old = import_course_lib_as(below)
    assert old.returncode != 0, f'import course_lib on Python {below} should fail with one line, it did not'
    message = old.stderr.strip().splitlines()[-1]
    assert message.startswith('ImportError: course_lib needs Python 3.11.4 or newer'), message
    at_floor = import_course_lib_as(floor)
    assert at_floor.returncode == 0, f'the floor {floor} itself should import:\n{at_floor.stderr}'


def test_torch_floor_is_the_tested_release():
    floor = next(dep for dep in PYPROJECT['project']['dependencies'] if dep.startswith('torch'))
    pins = re.findall(r'^torch==(\S+)$', (ROOT/'constraints.txt').read_text(), re.MULTILINE)
    assert pins, 'constraints.txt pins no torch: CI would test whatever is newest'
    assert floor == f'torch>={".".join(pins[0].split(".")[:2])}', \
        f'pyproject says {floor!r} but CI tests torch {pins[0]}: state the floor CI tests'


def test_spacy_lives_in_the_text_extra_and_docs_pull_no_jupyter():
    extras = PYPROJECT['project']['optional-dependencies']
    assert [dep for dep in extras['text'] if dep.startswith('spacy')], 'the text extra should hold spaCy'
    assert not any(dep.startswith('spacy') for dep in PYPROJECT['project']['dependencies'])
    assert 'course_lib[text]' in extras['course'], 'the course runs the text lessons: course should pull text'
    assert not any(dep.startswith(('spacy', 'jupyterlab', 'course_lib[')) for dep in extras['docs']), \
        f'building the docs reads stored outputs: it needs no Jupyter server and no spaCy ({extras["docs"]})'


def test_importing_every_module_loads_no_pyplot():
    # `python -m course_lib.train` on a headless machine should not pay for (or fail on) a plotting backend:
    # pyplot is imported inside the functions that draw.
    code = ('import importlib, pkgutil, sys, course_lib\n'
            'for m in pkgutil.iter_modules(course_lib.__path__):\n'
            '    if not m.name.startswith("_"): importlib.import_module("course_lib." + m.name)\n'
            'import course_lib.train\n'
            'print(sorted(n for n in sys.modules if n.startswith("matplotlib.pyplot")))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == '[]', 'a module imports matplotlib.pyplot at import time: import it where it draws'


# ---- the GitHub workflows ----

def workflow(name):
    yaml = pytest.importorskip('yaml')
    loaded = yaml.safe_load((WORKFLOWS/name).read_text())
    loaded['on'] = loaded.pop(True)                  # YAML 1.1 reads the key `on` as True
    return loaded


def test_workflows_pass_actionlint():
    exe = shutil.which('actionlint')
    if exe is None: pytest.skip('actionlint is not installed (the dev extra installs it)')
    out = subprocess.run([exe, *sorted(map(str, WORKFLOWS.glob('*.yml')))], capture_output=True, text=True,
                         cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr


# majors current in 2026: the Node-24 releases
CURRENT = {'actions/checkout': 6, 'actions/setup-python': 6, 'actions/upload-artifact': 7,
           'actions/upload-pages-artifact': 5, 'actions/deploy-pages': 5}


def test_actions_are_at_current_majors():
    old = []
    for path in WORKFLOWS.glob('*.yml'):
        for action, major in re.findall(r'uses:\s*([\w-]+/[\w-]+)@v(\d+)', path.read_text()):
            assert action in CURRENT, f'{path.name}: {action} is not in CURRENT: add its current major'
            if int(major) < CURRENT[action]: old.append(f'{path.name}: {action}@v{major}')
    assert not old, f'actions behind their current major: {old}'


def test_cpu_job_takes_torch_from_the_cpu_index_and_caches_pip():
    job = workflow('test.yml')['jobs']['test']
    assert job['env']['COURSE_LIB_TORCH_INDEX'] == 'https://download.pytorch.org/whl/cpu'
    ci = (ROOT/'.ci'/'run').read_text()
    torch_first = ci.index('--no-deps torch --index-url "$COURSE_LIB_TORCH_INDEX"')
    assert torch_first < ci.index('-e ".[dev]"'), '.ci/run must install CPU torch before the rest'
    setup = next(step for step in job['steps'] if step.get('uses', '').startswith('actions/setup-python'))
    assert setup['with']['cache'] == 'pip' and 'constraints.txt' in setup['with']['cache-dependency-path']
    assert any(step.get('run') == 'bash .ci/run' for step in job['steps'])


def test_cpu_job_tests_oldest_and_newest_python_within_a_measured_timeout():
    job = workflow('test.yml')['jobs']['test']
    versions = [entry['python'] for entry in job['strategy']['matrix']['include']]
    floor = '.'.join(map(str, python_floor()))
    listed = re.findall(r'Python :: (3\.\d+)$', '\n'.join(PYPROJECT['project']['classifiers']), re.MULTILINE)
    newest = max(listed, key=lambda v: tuple(map(int, v.split('.'))))
    assert floor in versions and newest in versions, f'matrix {versions}: test {floor} and {newest}'
    # .ci/run measured 13-21 minutes on 2 cores: room for the install, far below GitHub's 6-hour default
    assert 25 <= job['timeout-minutes'] <= 60


def test_gpu_workflow_runs_only_when_asked():
    gpu = workflow('gpu.yml')
    assert 'schedule' not in gpu['on'], 'no self-hosted GPU runner means a nightly job queues and fails'
    assert set(gpu['on']) == {'workflow_dispatch', 'pull_request'}
    assert gpu['on']['pull_request']['types'] == ['labeled']


def test_docs_deploy_only_after_a_green_test_run():
    docs = workflow('docs.yml')
    assert 'push' not in docs['on'], 'a push would publish the site whether or not the tests pass'
    run = docs['on']['workflow_run']
    assert run['workflows'] == [workflow('test.yml')['name']] and run['types'] == ['completed']
    build = docs['jobs']['build']
    assert "workflow_run.conclusion == 'success'" in build['if']
    assert docs['jobs']['deploy']['needs'] == 'build'
