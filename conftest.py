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
"""
import os
from pathlib import Path

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
            yield item

    IPyNbFile.collect = _collect_numbered
    IPyNbFile._course_lib_numbered = True


def pytest_configure(config):
    "A run that asks for a device this machine lacks (COURSE_LIB_DEVICE=cuda, no CUDA) stops at once, in one line."
    if not os.environ.get('COURSE_LIB_DEVICE'): return
    import pytest
    from course_lib.core import default_device
    try: default_device()
    except (ValueError, RuntimeError) as e: raise pytest.UsageError(str(e)) from None
