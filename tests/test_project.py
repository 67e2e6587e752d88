"""Project-wide rules: no .cuda(), README in sync with index.ipynb, one home per exported name, small samples."""
import importlib
import json
import pkgutil
import re
from pathlib import Path

import course_lib
from course_lib.tools.docs import readme_text

ROOT = Path(__file__).resolve().parents[1]
CUDA_CALL = re.compile(r'\.' + 'cuda' + r'\(')  # spelled in pieces so this file does not match itself


def test_nothing_calls_cuda_directly():
    hits = []
    for path in [*ROOT.glob('nbs/*.ipynb'), *ROOT.glob('course_lib/**/*.py'), *ROOT.glob('benchmarks/*.py')]:
        text = path.read_text()
        if path.suffix == '.ipynb':
            text = '\n'.join(''.join(c['source']) for c in json.loads(text)['cells'] if c['cell_type'] == 'code')
        hits += [f'{path.relative_to(ROOT)}: {line.strip()}' for line in text.splitlines() if CUDA_CALL.search(line)]
    assert not hits, 'use course_lib.core.default_device() / to_device instead of .cuda():\n' + '\n'.join(hits)


def test_readme_is_generated_from_index():
    assert (ROOT/'README.md').read_text() == readme_text(ROOT/'nbs'), \
        'README.md is out of date: run `course-lib docs --readme` after editing nbs/index.ipynb'


def package_modules():
    for info in pkgutil.walk_packages(course_lib.__path__, 'course_lib.'):
        if not info.name.rsplit('.', 1)[-1].startswith('_'): yield importlib.import_module(info.name)


# Drafts kept because their notebooks teach with them, each with the class that replaced it. A
# draft is named for what it is (2019 called both runners `Runner` and the container `Learner`),
# its docstring names its replacement, and the replacement's says it supersedes the draft.
DRAFTS = {'course_lib.training.TrainingBundle': 'course_lib.learner.Learner',
          'course_lib.callbacks.CallbackRunner': 'course_lib.loop.Runner',
          'course_lib.loop.Runner': 'course_lib.learner.Learner'}


# The front door re-exports, for scripts, names whose homes are other modules; it defines nothing.
FRONT_DOOR = 'course_lib.all'


def test_the_front_door_defines_nothing_of_its_own():
    front = importlib.import_module(FRONT_DOOR)
    own = [name for name in front.__all__
           if getattr(getattr(front, name), '__module__', None) == FRONT_DOOR]
    assert not own, f'{FRONT_DOOR} defines {own}: define them in their own module, import them here'


def test_every_exported_name_has_one_home():
    homes = {}
    for mod in package_modules():
        if mod.__name__ == FRONT_DOOR: continue
        for name in getattr(mod, '__all__', []): homes.setdefault(name, []).append(mod.__name__)
    twice = {name: mods for name, mods in homes.items() if len(mods) > 1}
    assert not twice, (f'exported by two modules: {twice}; keep one definition and import it '
                       'elsewhere, or give a draft a name that says what it is')


def resolve(path):
    module, name = path.rsplit('.', 1)
    return getattr(importlib.import_module(module), name)


def test_each_draft_and_its_replacement_name_each_other():
    for draft, new in DRAFTS.items():
        draft_doc = (resolve(draft).__doc__ or '').replace('`', '')
        new_doc = ' '.join((resolve(new).__doc__ or '').replace('`', '').split())
        assert f'Replaced by {new}' in draft_doc, f"{draft}'s docstring should say 'Replaced by {new}'"
        assert 'Supersedes' in new_doc and draft in new_doc.split('Supersedes', 1)[1], \
            f"{new}'s docstring should say it supersedes {draft}"


def test_bundled_samples_stay_small_and_documented():
    samples = ROOT/'course_lib'/'samples'
    total = sum(p.stat().st_size for p in samples.rglob('*') if p.is_file())
    assert total < 5 * 2**20, f'samples are {total / 2**20:.1f} MiB; keep them to a few MiB'
    assert 'licence' in (samples/'README.md').read_text().lower()


def test_every_notebook_installs_course_lib_when_missing():
    "Opened in Colab (no clone), a notebook's first code cell after `default_exp` installs the package; here it is a no-op."
    import tomllib
    from IPython.core.inputtransformer2 import TransformerManager
    repo = tomllib.loads((ROOT/'pyproject.toml').read_text())['project']['urls']['Repository']
    for path in sorted((ROOT/'nbs').glob('[0-9]*.ipynb')):
        cells = [''.join(c['source']) for c in json.loads(path.read_text())['cells']
                 if c['cell_type'] == 'code' and not ''.join(c['source']).startswith('#| default_exp')]
        first = cells[0]
        extra = '[text]' if path.name.startswith('12') else ''
        assert first.startswith('#| hide\n'), f'{path.name}: the first code cell should be the hidden install cell'
        assert f'%pip install -q "course_lib{extra} @ git+{repo}"' in first, (path.name, first)
        python = TransformerManager().transform_cell(first)       # IPython turns %pip into a call
        namespace = {'get_ipython': lambda: (_ for _ in ()).throw(AssertionError('pip ran'))}
        exec(compile(python, path.name, 'exec'), namespace)         # course_lib is importable: no pip
