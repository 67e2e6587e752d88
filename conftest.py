"""Test-suite set-up shared by nbval (nbs/) and pytest (tests/).

- Quick mode is on for every test run: notebooks train on small slices (see `course_lib.core.quick_mode`).
- Progress is quiet for every test run: `Learner` fits draw no bars and print no lines (see `course_lib.progress`).
- `COURSE_LIB_MIRROR` is made absolute, because nbval's kernels run inside nbs/.
- Under pytest-xdist, every worker's nbval kernels would start PyTorch with one thread per core, so N workers
  oversubscribe the cores (about 1.9x slower with `-n 2` on 2 cores). Each worker's kernels get
  cores / workers threads through the environment they inherit; a value the user set wins, and a learner's
  own Jupyter is not touched.
- nbdev-clean stores code cells with `execution_count: null`; nbval reads that as "never run" and fails
  cells that have outputs ("Unrun reference cell has outputs"). We number the cells as nbval collects them.
- Each notebook's closing export cell (`NBVAL_SKIP`, it re-exports the library) is not collected as a test;
  any other `NBVAL_SKIP` cell is skipped with its notebook, cell number and first comment as the reason,
  instead of nbval's bare "Skipped".
"""
import os
from pathlib import Path

import pytest

os.environ.setdefault('COURSE_LIB_QUICK', '1')
os.environ.setdefault('COURSE_LIB_PROGRESS', 'quiet')   # fits print nothing under test (09c)
_workers = int(os.environ.get('PYTEST_XDIST_WORKER_COUNT') or 0)
if _workers > 1:
    _cores = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else (os.cpu_count() or 1)
    for _name in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'): os.environ.setdefault(_name, str(max(1, _cores // _workers)))
if os.environ.get('COURSE_LIB_MIRROR'):
    os.environ['COURSE_LIB_MIRROR'] = str(Path(os.environ['COURSE_LIB_MIRROR']).expanduser().resolve())

try:
    from nbval.plugin import IPyNbFile
except ImportError:  # nbval is a dev dependency; tests/ still run without it
    IPyNbFile = None

if IPyNbFile is not None and not getattr(IPyNbFile, '_course_lib_numbered', False):
    _collect = IPyNbFile.collect

    def _collect_numbered(self):
        for number, item in enumerate(_collect(self), start=1):
            if item.cell.execution_count is None: item.cell.execution_count = number
            if item.options['skip']:
                if 'export_library' in item.cell.source: continue  # the closing re-export cell: not a test
                item.add_marker(pytest.mark.skip(reason=f'{Path(str(self.path)).name}, {item.name.lower()}: '
                                                        f'{_skip_reason(item.cell.source)}'))
            yield item

    def _skip_reason(source):
        "The first comment of a NBVAL_SKIP cell (after the cell directives), else a plain note."
        comments = [l.lstrip('# ').strip() for l in source.splitlines() if l.startswith('#')
                    and not l.startswith('#|') and 'NBVAL_' not in l]
        return comments[0] if comments and comments[0] else 'marked NBVAL_SKIP, not run under test'

    IPyNbFile.collect = _collect_numbered
    IPyNbFile._course_lib_numbered = True


def pytest_configure(config):
    "A run that asks for a device this machine lacks (COURSE_LIB_DEVICE=cuda, no CUDA) stops at once, in one line."
    if not os.environ.get('COURSE_LIB_DEVICE'): return
    import pytest
    from course_lib.core import default_device
    try: default_device()
    except (ValueError, RuntimeError) as e: raise pytest.UsageError(str(e)) from None
