"""Learner-facing pages never point at the project's own issue tracker.

A learner reading a notebook, the README or a docs page cannot open "issue 15" or know what "as the issue
asks" asked: the page has to say what it means ("the scripted GPU run, see the docs page *GPU course
run*"). Upstream reports keep their number with a `#`: "(course-v3 issue #395)" and "(issue #370)" name
bugs of the 2019 course, which anyone can look up, and stay.

Checked: every cell of nbs/*.ipynb (markdown, code and outputs), README.md and docs/*.md.
"""
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# "issue 15", "issues 13 and 15", "issue 15's"; "the issue", "this issue" (what the page itself was asked
# to do). Not "issue #370": an upstream report.
PROJECT_ISSUE = re.compile(r"\bissues?\s+\d+|\b(?:the|this|that|our)\s+issue\b(?!\s*#\d)", re.IGNORECASE)


def output_text(output) -> str:
    "The text a reader sees of one notebook output: a stream, a result or an error."
    parts = [output.get('text', '')]
    parts += [value for mime, value in output.get('data', {}).items() if mime.startswith('text/')]
    parts += output.get('traceback', [])
    return ''.join(''.join(p) if isinstance(p, list) else p for p in parts)


def learner_pages():
    "(where, text) for each notebook cell (source and outputs), README.md and each docs/*.md."
    for nb in sorted((ROOT/'nbs').glob('*.ipynb')):
        for i, cell in enumerate(json.loads(nb.read_text())['cells']):
            text = ''.join(cell['source']) + '\n' + ''.join(map(output_text, cell.get('outputs', [])))
            yield f'nbs/{nb.name} cell {i}', text
    for page in [ROOT/'README.md', *sorted((ROOT/'docs').glob('*.md'))]:
        yield str(page.relative_to(ROOT)), page.read_text()


def project_issues(text: str) -> list[str]:
    "Each mention of a project issue in `text`, with a little context, on one line."
    return [' '.join(text[max(0, m.start() - 30):m.end() + 20].split()) for m in PROJECT_ISSUE.finditer(text)]


def test_the_pattern():
    assert project_issues('the scripted GPU run of issue 15, which') == ['the scripted GPU run of issue 15, which']
    assert project_issues("issue\n15's script") and project_issues('as the issue asks')
    assert project_issues('the figures quoted in issues 13 and 15')
    assert not project_issues('the 2019 dispatch (issue #370) and (course-v3 issue #395)')
    assert not project_issues('a tissue 3 cm wide; an issue with tiny batches')


def test_no_page_mentions_a_project_issue():
    found = [f'{where}: ...{hit}...' for where, text in learner_pages() for hit in project_issues(text)]
    assert not found, ("learner-facing text refers to the project's issues, which a reader cannot follow; "
                       "say what is meant instead (upstream reports keep their '#'):\n" + '\n'.join(found))
