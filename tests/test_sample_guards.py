"""On the bundled samples, no lesson notebook holds its results to the full data's bar.

Without a mirror or a network, `course-lib run --offline` runs each notebook at its full sizes (not quick
mode) on the samples shipped with the package: 2,000 MNIST training digits, 300 Imagenette images, 1,000
IMDB reviews. A check written for the full data (99% on MNIST, `RunningBatchNorm` ahead of batch norm on
10,000 digits) cannot pass there, so its guard must follow the data actually loaded (`len(train_ds)`,
`is_sample(path)`), never the size a cell asks for: `x_train[:10_000]` of the sample is 2,000 digits.

The test finds every guard of a strict check in the lesson notebooks: an `if` around an assert, a bar chosen
by `a if condition else b`, or an `if` that changes a bar. Each must be listed in `GUARDS` with the value
that turns the strict bar on; the test then evaluates it as the sample run would. A name inside `len(...)` or
`is_sample(...)` stands for data, which on the samples holds at most as many items as the largest sample;
any other name is a size, set by running the notebook's own cells that assign it (outside quick mode, with
no mirror, offline). Both answers of `gpu_available()` are tried.
"""
import ast
import json
import warnings
from pathlib import Path

import pytest
from IPython.core.inputtransformer2 import TransformerManager

from course_lib.data import samples_dir

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted(p for p in (ROOT/'nbs').glob('[01]*.ipynb'))

# (notebook, guard as written, the guard's value that applies the full-data bar)
GUARDS = [
    ('03_minibatch_training', 'len(x_train) < 50_000', False),
    ('04_callbacks', 'len(x_train) < n_train', False),
    ('05_anneal', 'len(train_ds) >= 50_000', True),
    ('05b_early_stopping', 'len(data.train_ds) >= 50_000', True),
    ('06_cuda_cnn_hooks_init', 'len(x_train) >= 50_000', True),
    ('07_batchnorm', 'len(train_ds) >= 50_000', True),
    ('07_batchnorm', 'len(small_ds) >= 10_000', True),
    ('07a_lsuv', 'len(train_ds) >= 50_000', True),
    ('08_data_block', 'not is_sample(path) and not quick_mode()', True),
    ('08_data_block', 'not is_sample(path) and not quick_mode() and epochs == 1', True),
    ('09_optimizers', 'len(train_ds) >= 50_000', True),
    ('09b_learner', 'len(train_ds) >= 50_000', True),
    ('09c_add_progress_bar', 'len(dls.train_ds) >= 50_000', True),
    ('10b_mixup_label_smoothing', 'len(dls.train_ds) >= 2_000 and not is_sample(path)', True),
    ('10c_fp16', 'n_scratch >= 6_400', True),
    ('10c_fp16', 'len(train_ds) >= 50_000', True),
    ('11_train_imagenette', 'len(dls.train_ds) >= 9_000 and not gpu_available()', True),
    ('11a_transfer_learning', 'len(dls.train_ds) >= 2_000 and not (is_sample(path) or is_sample(source) or gpu_available())', True),
    ('12b_lm_pretrain', 'small', False),
]

# Guards found by the search that are not about the data's size, and why they may stay on for the sample.
NOT_DATA_BARS = {
    ('02_fully_connected', 'not quick_mode()'):
        "a timing of the code (how much of a backward pass one product costs), not a figure the data sets",
}


def normal(source: str) -> str:
    "`source` as Python prints it back: the same for `50_000` and `50000`, whatever the spacing."
    return ast.unparse(ast.parse(source, mode='eval'))


def code_cells(nb: Path):
    "(index, parsed source) of each code cell of `nb` that is not exported into the library."
    for i, cell in enumerate(json.loads(nb.read_text())['cells']):
        source = ''.join(cell['source'])
        if cell['cell_type'] != 'code' or '#| export' in source: continue
        yield i, ast.parse(TransformerManager().transform_cell(source))   # IPython magics (%pip) as calls


def called(node, names) -> bool:
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in names
               for n in ast.walk(node))


def assigned(node) -> set[str]:
    "Names that `node` assigns, at any depth."
    found = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store): found.add(n.id)
    return found


def checks(node) -> bool:
    "Whether `node` asserts something (`assert`, or a `test_*` helper from course_lib.core)."
    return any(isinstance(n, ast.Assert) for n in ast.walk(node)) or any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id.startswith('test_')
        for n in ast.walk(node))


def data_names(node) -> set[str]:
    "Names inside `len(...)` or `is_sample(...)` in `node`: data (`len(dls.train_ds)` gives `dls`)."
    found = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in ('len', 'is_sample'):
            found |= {m.id for arg in n.args for m in ast.walk(arg) if isinstance(m, ast.Name)}
    return found


def size_names(cells) -> set[str]:
    "Names the notebook sets in a cell that asks `quick_mode()`: its sizes."
    return {name for _, tree in cells if called(tree, {'quick_mode'}) for name in assigned(tree)}


def find_guards(nb: Path):
    "(cell index, guard expression) of each strict check's guard in `nb`."
    cells = list(code_cells(nb))
    sizes = size_names(cells)
    bars = {n.id for _, tree in cells for a in ast.walk(tree) if isinstance(a, ast.Assert)
            for n in ast.walk(a.test) if isinstance(n, ast.Name)}
    for i, tree in cells:
        candidates = []
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and (any(checks(s) for s in node.body) or
                                             any(assigned(s) & bars for s in node.body)):
                candidates.append(node.test)
            elif isinstance(node, ast.Assert):
                candidates += [n.test for n in ast.walk(node.test) if isinstance(n, ast.IfExp)]
            elif isinstance(node, ast.Assign) and assigned(node) & bars and isinstance(node.value, ast.IfExp):
                candidates.append(node.value.test)
        for test in candidates:
            if ast.unparse(test) == 'quick_mode()': continue   # the test suite's smaller sizes, not the sample
            if called(test, {'len', 'is_sample', 'quick_mode'}) or {n.id for n in ast.walk(test)
                                                                   if isinstance(n, ast.Name)} & sizes:
                yield i, test


@pytest.fixture(scope='module')
def found():
    "(notebook, guard) -> every (path, cell index, expression) where the guard appears."
    guards = {}
    for nb in LESSONS:
        for i, test in find_guards(nb): guards.setdefault((nb.stem, ast.unparse(test)), []).append((nb, i, test))
    return guards


def test_every_guard_is_listed(found):
    listed = {(nb, normal(guard)) for nb, guard, _ in GUARDS} | {(nb, normal(g)) for nb, g in NOT_DATA_BARS}
    new = sorted(set(found) - listed)
    gone = sorted(listed - set(found))
    assert not new, ("strict checks whose guard is not in GUARDS: add each with the value that applies the "
                     f"full-data bar, and make it follow the data loaded (len(...), is_sample(...)): {new}")
    assert not gone, f"GUARDS lists guards that no notebook has any more: {gone}"


class Data:
    "A loaded dataset on the samples: at most `n` items, and a path inside the bundled samples."
    def __init__(self, n): self.n = n
    def __len__(self): return self.n
    def __getattr__(self, name): return self
    def __fspath__(self): return str(samples_dir())


@pytest.fixture(scope='module')
def sample_run(tmp_path_factory):
    "The environment of `course-lib run --offline` with no mirror and an empty cache; the largest sample's size."
    mp = pytest.MonkeyPatch()
    mp.setenv('COURSE_LIB_HOME', str(tmp_path_factory.mktemp('home')))
    mp.setenv('COURSE_LIB_OFFLINE', '1')
    for name in ('COURSE_LIB_MIRROR', 'COURSE_LIB_QUICK'): mp.delenv(name, raising=False)
    from course_lib.data import DataWarning, get_mnist
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', DataWarning)
        n_items = len(get_mnist()[0])   # MNIST's 2,000 training digits: the largest sample
    assert n_items < 10_000, f"get_mnist() found {n_items} digits: not the bundled sample"
    yield n_items
    mp.undo()


def on_sample(nb: Path, index: int, guard, n_items: int, gpu: bool):
    "The value of `guard` (in cell `index` of `nb`) on the samples, its sizes set by the notebook's cells."
    from course_lib import core, data
    namespace = {'quick_mode': core.quick_mode, 'is_sample': data.is_sample, 'gpu_available': lambda: gpu,
                 'dataset_status': data.dataset_status, 'samples_dir': data.samples_dir, 'len': len}
    needed = {n.id for n in ast.walk(guard) if isinstance(n, ast.Name)} - data_names(guard) - set(namespace)
    for i, tree in code_cells(nb):
        if i >= index: break
        if not assigned(tree) & needed: continue
        namespace.update({name: Data(n_items) for name in data_names(tree)})
        exec(compile(tree, f'{nb.name} cell {i}', 'exec'), namespace)
    namespace.update({name: Data(n_items) for name in data_names(guard)})
    return bool(eval(compile(ast.Expression(guard), f'{nb.name} cell {index}', 'eval'), namespace))


@pytest.mark.parametrize('notebook, guard, strict', GUARDS, ids=[f'{nb}: {g}' for nb, g, _ in GUARDS])
def test_the_full_data_bar_is_off_on_the_samples(found, sample_run, notebook, guard, strict):
    if (notebook, normal(guard)) not in found: pytest.fail(f"{notebook} has no guard `{guard}` any more")
    for nb, index, test in found[notebook, normal(guard)]:
        for gpu in (False, True):
            value = on_sample(nb, index, test, sample_run, gpu)
            assert value != strict, (f"{nb.name} cell {index}: `{guard}` is {value} on the bundled samples "
                                     f"({sample_run} items at most, GPU {gpu}), so the full-data bar "
                                     "applies; make the guard follow the data loaded, e.g. len(train_ds)")
