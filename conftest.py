"""Test-suite set-up shared by nbval (nbs/) and pytest (tests/).

- Quick mode is on for every test run: notebooks train on small slices (see `course_lib.core.quick_mode`).
- `COURSE_LIB_MIRROR` is made absolute, because nbval's kernels run inside nbs/.
- nbdev-clean stores code cells with `execution_count: null`; nbval reads that as "never run" and fails
  cells that have outputs ("Unrun reference cell has outputs"). We number the cells as nbval collects them.
"""
import os
from pathlib import Path

os.environ.setdefault('COURSE_LIB_QUICK', '1')
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
