"""Nothing committed shows this machine's folders, and the wheel carries what a pip-installed learner needs.

Committed notebook outputs, README.md and the docs sources (docs/*.py, docs/_static/) must show paths
relative to the repository, `$COURSE_LIB_MIRROR` or `~` (see `course_lib.data.show_path`), never an absolute
path of the machine they were produced on: the repository's parent folders, the home or the temp directory.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def machine_folders() -> list[str]:
    "Absolute folders of this machine that must not appear in committed text."
    folders = {str(p) for p in [ROOT, *ROOT.parents] if p != Path(p.anchor)}
    for p in (Path.home(), Path(tempfile.gettempdir()), Path(tempfile.gettempdir()).resolve()):
        if p != Path(p.anchor): folders.add(str(p))
    return sorted(folders, key=len, reverse=True)


def find_machine_paths(text: str, folders=None) -> list[str]:
    "Each absolute path in `text` that starts with one of `folders` (a whole path component, not a prefix)."
    pattern = '|'.join(re.escape(f) for f in folders or machine_folders())
    return [m.group(0) for m in re.finditer(rf'(?<![\w.~/-])(?:{pattern})(?![\w.-])[^\s"\'\\,;)]*', text)]


def test_the_finder_itself():
    folders = ['/work', '/root', '/tmp']
    text = 'see /work/shared/data/mnist.pkl.gz and /tmp/ipykernel_1/2.py:3, not ~/x, /tmpfoo or https://h/work/a'
    assert find_machine_paths(text, folders) == ['/work/shared/data/mnist.pkl.gz', '/tmp/ipykernel_1/2.py:3']
    assert find_machine_paths('$COURSE_LIB_MIRROR/mnist and ~/.course_lib/runs', folders) == []


def committed_texts():
    "(where, text) for every committed notebook's outputs, README.md, the docs sources and pages, tools/."
    for nb in sorted((ROOT/'nbs').glob('*.ipynb')):
        cells = json.loads(nb.read_text())['cells']
        for i, cell in enumerate(cells):
            if cell.get('outputs'): yield f'{nb.name} cell {i}', json.dumps(cell['outputs'])
    yield 'README.md', (ROOT/'README.md').read_text()
    docs = [*(ROOT/'docs').glob('*.py'), *(ROOT/'docs').glob('*.md'), *(ROOT/'tools').glob('*.py'),
            *(p for p in (ROOT/'docs'/'_static').rglob('*') if p.is_file())]
    for path in docs:
        try: yield str(path.relative_to(ROOT)), path.read_text()
        except UnicodeDecodeError: continue


def test_no_committed_text_shows_this_machines_paths():
    found = [f'{where}: {path}' for where, text in committed_texts() for path in find_machine_paths(text)]
    assert not found, ('absolute paths of this machine in committed files (re-run the notebook with paths shown '
                       'relative to $COURSE_LIB_MIRROR / ~ / the repository):\n' + '\n'.join(found[:20]))


def test_every_package_is_listed_in_pyproject():
    "pyproject.toml names its packages (the notebooks are mapped in as course_lib._notebooks): none may be missed."
    import tomllib
    listed = set(tomllib.loads((ROOT/'pyproject.toml').read_text())['tool']['setuptools']['packages'])
    found = {'.'.join(p.parent.relative_to(ROOT).parts) for p in (ROOT/'course_lib').rglob('__init__.py')}
    assert found <= listed, f'add {sorted(found - listed)} to [tool.setuptools] packages in pyproject.toml'
    assert 'course_lib._notebooks' in listed


def test_the_wheel_ships_the_notebooks_and_samples(tmp_path):
    result = subprocess.run([sys.executable, '-m', 'pip', 'wheel', str(ROOT), '--no-deps', '--no-build-isolation',
                             '-q', '-w', str(tmp_path)], capture_output=True, text=True, cwd=tmp_path)
    if result.returncode != 0 and 'No module named pip' in result.stderr: pytest.skip('pip is not installed')
    assert result.returncode == 0, result.stderr
    names = zipfile.ZipFile(next(tmp_path.glob('*.whl'))).namelist()
    assert 'course_lib/_notebooks/01_matmul.ipynb' in names and 'course_lib/_notebooks/05_anneal.ipynb' in names
    assert 'course_lib/samples/mnist_sample.npz' in names and 'course_lib/tools/cli.py' in names
