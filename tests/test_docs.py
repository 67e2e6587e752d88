"""The docs site: built from the notebooks, served on 127.0.0.1 and read back from headless Chromium's DOM."""
import functools
import http.server
import re
import shutil
import subprocess
import threading
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = next((shutil.which(b) for b in ('chromium', 'chromium-browser', 'google-chrome') if shutil.which(b)), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason='headless Chromium is not installed '
                                '(Debian package `chromium`; .ci/run installs it)')
LESSON_GROUPS = ['Lesson 8', 'Lesson 9', 'Lesson 10', 'Lesson 11', 'Lesson 12']
# The docs builder's own pages explain the markers it removes; everywhere else they must never appear.
ABOUT_MARKERS = {'92_tools_docs.html', 'course_lib.tools.docs.html'}


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    from course_lib.tools.docs import build_docs
    out = build_docs(nbs=ROOT/'nbs')
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(out))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    profile = tmp_path_factory.mktemp('chromium-profile')
    yield out, f'http://127.0.0.1:{httpd.server_address[1]}', profile
    httpd.shutdown()
    httpd.server_close()


def chromium(profile, *args):
    flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
             '--disable-background-networking', '--disable-component-update', '--disable-sync',
             '--disable-dev-shm-usage', f'--user-data-dir={profile}', '--virtual-time-budget=4000']
    result = subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=180)
    return result.stdout


def dom(site, page):
    _, url, profile = site
    return chromium(profile, '--dump-dom', f'{url}/{page}')


def text_of(html):
    html = re.sub(r'<(script|style)\b.*?</\1>', ' ', html, flags=re.S)
    return re.sub(r'\s+', ' ', re.sub(r'<[^>]+>', ' ', html))


def test_home_page_title_and_lesson_groups(site):
    html = dom(site, 'index.html')
    assert re.search(r'<title>course_lib: Deep Learning from the Foundations', html), html[:500]
    captions = re.findall(r'class="caption-text">([^<]+)<', html)
    for group in ['Foundations', *LESSON_GROUPS, 'Reference']: assert group in captions, captions
    assert 'Quick start' in text_of(html)


def test_notebook_page_has_code_outputs_and_a_rendered_figure(site):
    out, url, _ = site
    pages = sorted(p.name for p in out.glob('0[1-9]*.html'))
    assert pages, 'no lesson notebook pages were built'
    with_figures = []
    for page in pages:
        html = dom(site, page)
        assert 'cell_input' in html, f'{page}: no code cell'
        for src in re.findall(r'<img[^>]+src="([^"]+)"', html):
            if src.startswith('data:'): ok = len(src) > 100
            else:
                with urllib.request.urlopen(f'{url}/{src}') as r: ok = len(r.read()) > 1000
            if ok: with_figures.append(page)
    assert with_figures, f'no lesson page shows a figure: {pages}'


def test_api_reference_shows_signatures_linked_to_notebooks(site):
    html = dom(site, 'api/course_lib.core.html')
    text = text_of(html)
    assert 'def default_device' in text and 'set_seed' in text
    assert 'href="../00_core.html"' in html


def test_no_tool_markers_anywhere(site):
    out, _, _ = site
    leaks = []
    for page in out.rglob('*.html'):
        if page.name in ABOUT_MARKERS or page.name in ('genindex.html', 'search.html'): continue
        text = text_of(page.read_text())
        for marker in ('#|', 'NBVAL'):
            if marker in text: leaks.append(f'{page.relative_to(out)}: {marker}')
    assert not leaks, leaks
    for page in ABOUT_MARKERS:  # those pages may talk about the markers, but no code line may start with one
        for path in out.rglob(page):
            code = ' '.join(re.findall(r'<pre>(.*?)</pre>', path.read_text(), flags=re.S))
            assert not re.search(r'(^|\n)\s*(<[^>]+>)*(#\||# ?NBVAL_)', code), path


def test_search_finds_a_lesson_page(site):
    html = dom(site, 'search.html?q=broadcasting')
    results = re.findall(r'<li[^>]*>\s*<a [^>]*href="([^"]+)"', html.split('id="search-results"', 1)[-1])
    assert results, 'search for "broadcasting" found nothing'


def test_screenshots_for_people(site):
    out, url, profile = site
    shots = out.parent
    lesson_page = next(p for p in ('02_fully_connected.html', '01_matmul.html', 'lesson8.html') if (out/p).exists())
    for page, name in (('index.html', 'home.png'), (lesson_page, 'lesson_page.png')):
        chromium(profile, '--window-size=1280,1000', '--hide-scrollbars', f'--screenshot={shots/name}', f'{url}/{page}')
        assert (shots/name).stat().st_size > 10_000, f'{name} looks empty'


def test_broken_internal_link_fails_the_build(tmp_path):
    import nbformat
    from course_lib.tools.docs import build_docs
    shutil.copytree(ROOT/'docs', tmp_path/'docs', ignore=shutil.ignore_patterns('_build', '_src'))
    (tmp_path/'nbs').mkdir()
    for name, text in (('index', '# Home\n\nStart with [the first lesson](01_first.ipynb).'),
                       ('01_first', '# First\n\nThen read [a page that does not exist](99_missing.ipynb).')):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_markdown_cell(text)]
        nbformat.write(nb, tmp_path/'nbs'/f'{name}.ipynb')
    with pytest.raises(RuntimeError, match='Sphinx failed'):
        build_docs(tmp_path/'out', nbs=tmp_path/'nbs')
