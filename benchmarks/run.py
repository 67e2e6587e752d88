"""Run every benchmark in this folder and collect their figures into one table.

Each `benchmarks/<topic>.py` runs on its own and prints `name: value` lines, each a ratio measured side by
side in the same run (`learner_overhead_bs64: 1.03x`); parts that need a GPU print `name: skipped (no CUDA)`.
This runner starts each script in a fresh process, one after the other (so they never share the cores),
gathers those lines, and prints them as a table with the machine they came from.

    python benchmarks/run.py                 # every benchmark, full size
    python benchmarks/run.py --quick         # small sizes: about a minute per script on a 2-core CPU
    python benchmarks/run.py matmul lstm     # only these
    python benchmarks/run.py --quick --out benchmarks/results.json --page docs/benchmarks.md
    python benchmarks/run.py --from benchmarks/results.json --page docs/benchmarks.md   # page only

Exit status: 0 when every script ran, 1 when one failed or timed out (the table says which).
"""
import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))   # course_lib from this checkout, as the scripts do
LINE = re.compile(r'^([A-Za-z][\w.\-]*): (\S.*)$')   # `name: value`; anything else a script prints is ignored


def find_scripts(folder=HERE, names=()) -> list[Path]:
    "The benchmark scripts in `folder` (every `*.py` but this runner and `_private.py`), or those named."
    scripts = sorted(p for p in Path(folder).glob('*.py') if p.name != 'run.py' and not p.name.startswith('_'))
    if not names: return scripts
    by_name = {p.stem: p for p in scripts}
    unknown = [n for n in names if Path(n).stem not in by_name]
    if unknown:
        raise SystemExit(f"run.py: no benchmark called {', '.join(unknown)}; there are: "
                         f"{', '.join(by_name) or 'none'}.")
    return [by_name[Path(n).stem] for n in names]


def parse_lines(text: str) -> list[tuple[str, str]]:
    "The `(name, value)` pairs in a script's output."
    return [(m[1], m[2].strip()) for m in map(LINE.match, text.splitlines()) if m]


def run_script(path, quick=False, timeout=900) -> dict:
    "Run one benchmark script; its status ('ok', 'failed', 'timeout'), seconds, figures and last error line."
    cmd = [sys.executable, str(path)] + (['--quick'] if quick else [])
    env = {**os.environ, 'PYTHONUNBUFFERED': '1'}
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=HERE.parent)
        stdout, status = proc.stdout, 'ok' if proc.returncode == 0 else 'failed'
        error = '' if status == 'ok' else _last_line(proc.stderr) or f'exit status {proc.returncode}'
    except subprocess.TimeoutExpired as e:
        stdout = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or '')
        status, error = 'timeout', f'stopped after {timeout} s'
    figures = parse_lines(stdout)
    if status == 'ok' and not figures: status, error = 'failed', 'printed no `name: value` line'
    return dict(script=Path(path).stem, status=status, seconds=round(time.perf_counter() - start, 1),
                error=error, figures=[dict(name=n, value=v) for n, v in figures])


def _last_line(text: str) -> str:
    lines = [l.strip() for l in text.strip().splitlines() if l.strip()]
    return lines[-1] if lines else ''


def machine() -> dict:
    "What the figures were measured on: CPU model and cores, GPU card, PyTorch and Python versions."
    import torch
    from course_lib.core import usable_cores
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                cpu = line.split(':', 1)[1].strip()
                break
    except OSError: pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return dict(cpu=cpu, cores=usable_cores(), gpu=gpu, torch=torch.__version__, python=platform.python_version(),
                system=platform.system())


def describe(m: dict) -> str:
    "One line naming the machine: '2-core CPU (Intel Xeon ...), no GPU; PyTorch 2.13.0'."
    gpu = f"GPU {m['gpu']}" if m.get('gpu') else 'no GPU'
    return f"{m['cores']}-core CPU ({m['cpu']}), {gpu}; PyTorch {m['torch']}, Python {m['python']}"


def run_all(scripts, quick=False, timeout=900, echo=print) -> dict:
    "Run `scripts` one after the other; the report that `table`, `page` and `--out` use."
    report = dict(date=datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC'), quick=quick,
                  machine=machine(), scripts=[])
    for path in scripts:
        echo(f'running {Path(path).name}{" --quick" if quick else ""} ...', file=sys.stderr)
        report['scripts'].append(run_script(path, quick=quick, timeout=timeout))
    return report


def _rows(report):
    for s in report['scripts']:
        if s['status'] != 'ok' and not s['figures']:
            yield s['script'], '-', f"{s['status'].upper()}: {s['error']}"
        for f in s['figures']: yield s['script'], f['name'], f['value']
        if s['status'] != 'ok' and s['figures']: yield s['script'], '-', f"{s['status'].upper()}: {s['error']}"


def table(report) -> str:
    "The report as an aligned plain-text table, the machine and the date above it."
    rows = [('benchmark', 'name', 'value'), *_rows(report)]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ['  '.join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, '  '.join('-' * w for w in widths))
    mode = ' (quick sizes)' if report['quick'] else ''
    return f"{describe(report['machine'])}; {report['date']}{mode}\n\n" + '\n'.join(lines)


def page(report) -> str:
    "The report as the docs page `docs/benchmarks.md` (Markdown)."
    m, mode = report['machine'], ' with `--quick` (small sizes)' if report['quick'] else ''
    gpu_rows = sum(f['value'].startswith('skipped') for s in report['scripts'] for f in s['figures'])
    lines = ['# Benchmarks', '',
             '> Every claim of speed in the course, measured side by side: each figure is a ratio of two '
             'timings taken in the same run on the same machine.', '',
             '<!-- Generated by `python benchmarks/run.py --page docs/benchmarks.md` from the runner\'s '
             'output file: do not edit by hand. -->', '',
             f"**Measured on:** {describe(m)}.  ", f"**Date:** {report['date']}, run{mode}.", '',
             'Each script in `benchmarks/` runs on its own (`python benchmarks/matmul.py --quick`) and prints '
             '`name: value` lines; `python benchmarks/run.py` runs them all, one after the other, and collects '
             'them. A ratio `A_vs_B` (or `A_over_B`) is how many times faster A is than B, or for an overhead, '
             'how many times longer A takes than B; the script\'s docstring says which.', '']
    if gpu_rows:
        lines += [f'{gpu_rows} figures need a CUDA GPU and say *skipped* here; the scripted GPU run '
                  '([GPU course run](gpu.md)) fills them in on a card.', '']
    lines += ['| benchmark | name | value |', '|---|---|---|']
    lines += [f'| `{s}` | `{n}` | {v} |' if n != '-' else f'| `{s}` | | {v} |' for s, n, v in _rows(report)]
    lines += ['', 'Run them yourself:', '', '```bash', 'python benchmarks/run.py --quick   # about a minute '
              'per script on a 2-core CPU', 'python benchmarks/run.py --out results.json   # full sizes, '
              'figures kept', '```', '']
    return '\n'.join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog='\n\n'.join(__doc__.split('\n\n')[1:]))
    parser.add_argument('names', nargs='*', metavar='BENCHMARK', help='scripts to run (default: all)')
    parser.add_argument('--quick', action='store_true', help='pass --quick to every script')
    parser.add_argument('--out', type=Path, help='write the report (JSON) to this file')
    parser.add_argument('--page', type=Path, help='write the docs page (Markdown) to this file')
    parser.add_argument('--from', dest='source', type=Path, help='read a report written by --out; run nothing')
    parser.add_argument('--timeout', type=int, default=900, help='seconds allowed per script (default 900)')
    parser.add_argument('--dir', type=Path, default=HERE, help=argparse.SUPPRESS)  # for the tests
    args = parser.parse_args(argv)
    if args.source:
        try: report = json.loads(args.source.read_text())
        except (OSError, ValueError) as e:
            raise SystemExit(f'run.py: cannot read the report {args.source}: {e}') from e
    else:
        report = run_all(find_scripts(args.dir, args.names), quick=args.quick, timeout=args.timeout)
    print(table(report))
    for dest, text in ((args.out, json.dumps(report, indent=1) + '\n'), (args.page, page(report))):
        if dest is None: continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f'.{dest.name}.part')
        tmp.write_text(text)
        os.replace(tmp, dest)    # never a half-written file
    return 0 if all(s['status'] == 'ok' for s in report['scripts']) else 1


if __name__ == '__main__':
    sys.exit(main())
