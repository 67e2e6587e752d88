"""The docs site: built from the notebooks, served on 127.0.0.1 and read back from headless Chromium's DOM.

Tests marked `browser` need Chromium and skip without it; the others read the built files or build a tiny site."""
import functools
import html as html_lib
import http.server
import json
import os
import re
import shutil
import subprocess
import threading
import urllib.request
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = next((shutil.which(b) for b in ('chromium', 'chromium-browser', 'google-chrome') if shutil.which(b)), None)
browser = pytest.mark.skipif(CHROMIUM is None, reason='headless Chromium is not installed '
                             '(Debian package `chromium`; .ci/run installs it)')
# The docs builder's own pages explain the markers it removes; everywhere else they must never appear.
ABOUT_MARKERS = {'92_tools_docs.html', 'course_lib.tools.docs.html', 'contributing.html',
                 '93_tools_practice.html', 'course_lib.tools.practice.html', 'practice.html'}
# Fixed assets (theme, MathJax, search index) take about 4 MB; each notebook page, with its figures and
# the Markdown copy for llms.txt, about 0.1-0.3 MB. A page over MAX_PAGE_BYTES is an output to trim.
MAX_SITE_BYTES = 20_000_000
MAX_PAGE_BYTES = 1_000_000
# TeX that MathJax should have turned into formulas; left as text it means a formula did not render.
RAW_TEX = re.compile(r'\$|\\(sqrt|frac|sum|cdot|times|left|right|begin|mathrm|text|partial)\b|\\[(\[]|\^\{|_\{')


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    from course_lib.tools.docs import build_docs
    # COURSE_LIB_DOCS_SITE: test a site already built (e.g. with `course-lib docs --out DIR`) instead of building
    built = os.environ.get('COURSE_LIB_DOCS_SITE')
    out = Path(built) if built else build_docs(nbs=ROOT/'nbs')
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


def notebook_pages():
    from course_lib.tools.notebooks import course_notebooks
    return [f'{p.stem}.html' for p in course_notebooks(ROOT/'nbs')]


def sidebar_captions(html):
    return re.findall(r'class="caption-text">([^<]+)<', html)


# --- the course book: home, sidebar, lessons -------------------------------------------------------------

@browser
def test_home_page_links_every_notebook_page(site):
    html = dom(site, 'index.html')
    assert re.search(r'<title>course_lib: Deep Learning from the Foundations', html), html[:500]
    body = html.split('id="main-content"', 1)[-1]      # the page itself, not the sidebar
    links = set(re.findall(r'href="([^"#]+)', body))
    missing = [page for page in notebook_pages() if page not in links]
    assert not missing, f'the home page does not link {missing}'
    assert 'contributing.html' in links
    text = text_of(body)
    assert 'Quick start' in text and 'Developing course_lib' not in text and '.ci/run' not in text


@browser
def test_sidebar_runs_lessons_then_appendix_then_reference(site):
    from course_lib.tools.docs import lesson_notebooks
    out, _, _ = site
    captions = sidebar_captions(dom(site, 'index.html'))
    written = [key for key, nbs in lesson_notebooks(ROOT/'nbs').items() if nbs]
    lessons = [f'Lesson {key.removeprefix("lesson")}' for key in written if key.startswith('lesson')]
    assert lessons[:2] == ['Lesson 8', 'Lesson 9'], lessons
    assert captions == [*lessons, 'Appendix · Setup', 'Appendix · Project tooling', 'Reference'], captions
    unwritten = {f'lesson{n}.html' for n in range(8, 13)} - {f'{key}.html' for key in written}
    assert not [p for p in unwritten if (out/p).exists()], 'a lesson with no notebooks got a stub page'


@browser
def test_no_raw_tex_on_any_page(site):
    out, _, _ = site
    pages = ['index.html', *sorted(p.name for p in out.glob('*.html') if p.name not in ('genindex.html', 'search.html')
                                   and 'http-equiv="refresh"' not in p.read_text())]   # not nbdev-name redirects
    rendered, leaks = 0, []
    for page in dict.fromkeys(pages):
        html = dom(site, page)
        rendered += html.count('<mjx-container')
        html = re.sub(r'<mjx-container\b.*?</mjx-container>', ' ', html, flags=re.S)
        html = re.sub(r'<(pre|code|script|style)\b.*?</\1>', ' ', html, flags=re.S)
        html = re.sub(r'<div class="highlight.*?</div>', ' ', html, flags=re.S)
        text = text_of(html)
        for m in RAW_TEX.finditer(text): leaks.append(f'{page}: …{text[max(0, m.start() - 60):m.end() + 40]}…')
    assert rendered > 10, 'MathJax rendered (almost) no formulas: is it loading?'
    assert not leaks, '\n'.join(leaks[:20])


def test_lesson_table_on_home_comes_from_lesson_pages():
    from course_lib.tools.docs import lesson_table
    nb = json.loads((ROOT/'nbs'/'index.ipynb').read_text())
    stored = [''.join(out['data']['text/markdown']) for cell in nb['cells'] if cell['cell_type'] == 'code'
              for out in cell.get('outputs', []) if 'text/markdown' in out.get('data', {})]
    assert stored == [lesson_table(ROOT/'nbs')], ('the lesson table stored in nbs/index.ipynb is out of date: '
                                                  're-run index.ipynb, then `course-lib docs --readme`')


def test_lesson_pages_cover_the_runners_lessons():
    "The docs' lesson metadata and the runner's `LESSONS` name the same lessons, in the book's order."
    from course_lib.tools.docs import LESSON_PAGES
    from course_lib.tools.notebooks import LESSONS
    assert set(LESSON_PAGES) == set(LESSONS), set(LESSON_PAGES) ^ set(LESSONS)
    lessons = [key for key in LESSON_PAGES if key.startswith('lesson')]
    assert list(LESSON_PAGES)[:len(lessons)] == lessons, 'lessons come before the appendices'


# --- API reference ------------------------------------------------------------------------------------

@browser
def test_api_reference_classes_methods_signatures(site):
    training = dom(site, 'api/course_lib.training.html')
    flat = re.sub(r'\s+', '', text_of(training))
    assert 'classDataBunch(train_dl,valid_dl,c=None)' in flat and 'defDataBunch' not in flat
    assert 'href="../04_callbacks.html"' in training, 'DataBunch is defined in 04, the page must say so'
    assert 'Parameters' in text_of(training), "nbdev docments did not become a parameter list"
    html = dom(site, 'api/course_lib.callbacks.html')
    flat = re.sub(r'\s+', '', text_of(html))
    assert 'id="course_lib.callbacks.CallbackRunner.fit"' in html, 'CallbackRunner.fit is not documented'
    assert 'NoneType' not in flat and 'function=' not in flat, 'types that are not in the source'
    assert 'href="../04_callbacks.html"' in html, 'no link to the defining notebook'
    assert '#LNone' not in html
    schedules = re.sub(r'\s+', '', text_of(dom(site, 'api/course_lib.schedules.html')))
    assert 'sched_lin(start,end)' in schedules and 'sched_lin(start,end,pos)' not in schedules
    assert 'classRecorder' in flat and 'Recorder.plot_lr(' in flat, 'Recorder and its methods'


@browser
def test_viewcode_source_link_resolves(site):
    out, url, _ = site
    html = (out/'api'/'course_lib.callbacks.html').read_text()
    link = next(iter(re.findall(r'href="(\.\./_modules/course_lib/callbacks\.html)#CallbackRunner"', html)), None)
    assert link, 'no [source] link for CallbackRunner'
    with urllib.request.urlopen(f'{url}/api/{link}') as r: source = r.read().decode()
    assert r.status == 200 and 'id="CallbackRunner"' in source and 'fit' in source


def test_general_index_is_not_empty(site):
    out, _, _ = site
    text = text_of((out/'genindex.html').read_text())
    for name in ('Runner', 'sched_lin', 'get_mnist', 'default_device'): assert name in text, name


def test_nbdev_doc_links_point_at_pages_of_the_site(site):
    "Module docstrings end with nbdev's `Docs:` URL and nbs/llms.txt lists them: each must be a file of the site."
    import ast
    import tomllib
    out, _, _ = site
    base = tomllib.loads((ROOT/'pyproject.toml').read_text())['project']['urls']['Documentation'].rstrip('/') + '/'
    docstrings = [ast.get_docstring(ast.parse(p.read_text())) or '' for p in (ROOT/'course_lib').rglob('*.py')]
    urls = re.findall(r'^Docs: (\S+)$', '\n'.join(docstrings), re.M)
    urls += re.findall(r'\]\((https?://[^)]+)\)', (ROOT/'nbs'/'llms.txt').read_text())
    assert len(urls) >= 8, urls
    missing = [u for u in urls if not u.startswith(base) or not (out/u.removeprefix(base)).is_file()]
    assert not missing, f'links to pages the site does not have: {missing}'
    assert (out/'callbacks.html.md').read_text().startswith('# Callbacks')
    assert (out/'llms.txt').is_file()


def test_nbdev_page_names_lead_to_the_pages(site):
    "nbdev names a notebook's page without its number (`learner.html`); the site sends that name on."
    from nbdev.config import nbpath2html
    out, _, _ = site
    for page in notebook_pages():
        short = nbpath2html(page.replace('.html', '.ipynb')).name
        assert (out/f'{short}.md').is_file(), f'no Markdown copy {short}.md'
        assert f'url={page}"' in (out/short).read_text(), f'{short} does not lead to {page}'


def test_every_module_is_listed_for_help_and_llms_txt():
    "help(course_lib) and nbs/llms.txt list every module, linked to the page that writes it."
    import importlib
    import pkgutil
    from course_lib.tools.docs import module_list
    index = json.loads((ROOT/'nbs'/'index.ipynb').read_text())
    stored = [''.join(c['source']) for c in index['cells'] if 'Every module, in course order' in ''.join(c['source'])]
    assert stored == [module_list(ROOT/'nbs')], \
        "the module list in nbs/index.ipynb is out of date: run `course-lib docs --readme`, then nbdev-export"
    import course_lib
    modules = [m.name for m in pkgutil.walk_packages(course_lib.__path__, 'course_lib.')
               if not m.name.rpartition('.')[2].startswith('_') and not m.ispkg]
    doc, llms = importlib.reload(course_lib).__doc__, (ROOT/'nbs'/'llms.txt').read_text()
    missing = [m for m in modules if f'[`{m}`](' not in doc or f'`{m}`' not in llms]
    assert not missing, f'help(course_lib) or nbs/llms.txt leaves out {missing}: run nbdev-export'
    assert '09b_learner.html)' in doc and 'learner.html.md)' not in doc.split('Modules:')[0]


def test_notebook_pages_link_their_notebook_and_nothing_links_sources(site):
    "Each notebook page: Colab and GitHub links under the title and in the header; no page points into _sources/."
    from course_lib.tools.docs import notebook_links, repository
    out, _, _ = site
    repo, branch = repository(ROOT)
    for page in notebook_pages():
        html = (out/page).read_text()
        links = notebook_links(page.removesuffix('.html'), repo, branch)
        for kind in ('colab', 'github', 'raw'):
            assert f'href="{links[kind]}"' in html, f'{page}: no {kind} link {links[kind]}'
    broken = [p.name for p in out.rglob('*.html') if 'href="_sources' in p.read_text()]
    assert not broken, f'pages linking into _sources/, which the site does not ship: {broken[:5]}'


def test_source_pages_leave_out_nbdev_bookkeeping(site):
    out, _, _ = site
    pages = sorted((out/'_modules'/'course_lib').rglob('*.html'))
    assert len(pages) > 10, pages
    def code(page): return html_lib.unescape(re.sub(r'<[^>]+>', '', page.read_text()))
    leaks = [p.name for p in pages if re.search(r'^# (AUTOGENERATED!|%% )', code(p), re.MULTILINE)]
    assert not leaks, f'source pages show nbdev markers: {leaks}'


_PROBE = """<!DOCTYPE html><meta charset="utf-8"><body style="margin:0">
<iframe id="page" src="PAGE" style="border:0;width:WIDTHpx;height:900px"></iframe><pre id="result"></pre>
<script>
// Measures PAGE as a reader at WIDTH px sees it; waits (up to 20 s) until READY holds, then writes JSON.
const frame = document.getElementById('page');
const visible = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
function measure(tries) {
  const doc = frame.contentDocument;
  if (!doc || !(READY) && tries > 0) { setTimeout(() => measure(tries - 1), 200); return; }
  const searchBoxes = [...doc.querySelectorAll('.search-button-field, .search-button, .bd-search-container form')];
  document.getElementById('result').textContent = JSON.stringify({
    searchBoxes: searchBoxes.filter(visible).length,
    pageWidth: doc.documentElement.scrollWidth, viewport: doc.documentElement.clientWidth,
    snippets: [...doc.querySelectorAll('#search-results p.context')].map((p) => p.textContent),
  });
}
frame.onload = () => measure(100);
</script>"""


def probe(site, page, width, ready='true'):
    "What a reader sees of `page` in a `width`-px window: visible search boxes, page width, search snippets."
    out, url, profile = site
    name = f'_probe_{width}.html'
    (out/name).write_text(_PROBE.replace('PAGE', page).replace('WIDTH', str(width)).replace('READY', ready))
    try: html = chromium(profile, '--window-size=1400,1000', '--virtual-time-budget=20000', '--dump-dom', f'{url}/{name}')
    finally: (out/name).unlink()
    found = re.search(r'<pre id="result">(.*?)</pre>', html, re.S)
    assert found and found.group(1), f'the probe of {page} at {width} px wrote nothing'
    return json.loads(html_lib.unescape(found.group(1)))


@browser
@pytest.mark.parametrize('width', [1280, 390])
def test_one_search_box_and_no_sideways_scroll(site, width):
    for page in ('index.html', '09b_learner.html', 'api/course_lib.learner.html'):
        seen = probe(site, page, width)
        assert seen['searchBoxes'] == 1, f'{page} at {width} px shows {seen["searchBoxes"]} search boxes'
        assert seen['pageWidth'] <= seen['viewport'] + 1, f'{page} at {width} px scrolls sideways: {seen}'


@browser
def test_search_snippets_are_page_text(site):
    ready = "doc.querySelector('#search-results p.context')"
    seen = probe(site, 'search.html?q=learner', 1280, ready)
    assert seen['snippets'], 'searching "learner" gave no result with a snippet'
    theme = [s for s in seen['snippets'] if re.search(r'System Settings|Light Dark|\bContents\b', s)]
    assert not theme, f'snippets show the theme instead of page text: {theme[:2]}'


def test_api_entries_have_descriptions(site):
    "Every API entry says what it is; event hooks, `forward` and fields without a docstring are left out."
    out, _, _ = site
    entries, empty = 0, set()
    for page in sorted((out/'api').glob('course_lib.*.html')):
        html = page.read_text()
        for m in re.finditer(r'<dt class="sig[^"]*" id="course_lib\.([^"]+)">.*?</dt>\s*<dd>(.*?)</dd>', html, re.S):
            entries += 1
            own = re.sub(r'<dl.*', '', m.group(2), flags=re.S)        # the entry's own text, not its members'
            own = re.sub(r'<p><a [^>]*>Source on GitHub</a></p>', '', own)   # a link is not a description
            if not re.sub(r'<[^>]+>|\s', '', own): empty.add(m.group(1))
    assert entries > 300, f'only {entries} API entries: is autodoc running?'
    hooks = sorted(n for n in empty if re.search(r'\.(begin|after|before)_\w+$|\.forward$', n))
    assert not hooks, f'undocumented event hooks or forward methods are listed: {hooks[:10]}'
    assert not empty, f'API entries without a description: {sorted(empty)}; give each a docstring'


def test_learner_api_page_leads_with_learner(site):
    out, _, _ = site
    html = (out/'api'/'course_lib.learner.html').read_text()
    assert re.search(r'href="https://github\.com/[^"]+/blob/main/course_lib/learner\.py#L\d+"', html), \
        'API entries should link the line that defines them on GitHub'
    first = re.search(r'<dt class="sig[^"]*" id="course_lib\.learner\.(\w+)"', html)
    assert first and first.group(1) == 'Learner', f'the Learner page opens with {first and first.group(1)}'
    assert 'id="course_lib.learner.LearnerSteps"' in html, 'the other names of the module are still documented'


def test_backticked_names_link_to_their_api_entry(site):
    "Lesson prose links `Learner` to the definition the page means; every such link lands on an entry."
    out, _, _ = site
    learner = (out/'09b_learner.html').read_text()
    assert 'href="api/course_lib.learner.html#course_lib.learner.Learner"' in learner
    assert 'href="api/course_lib.learner.html#' not in (out/'04_callbacks.html').read_text(), \
        '04 comes before course_lib.learner is written: its names must not link there'
    ids, missing, count = {}, [], 0
    for page in out.glob('*.html'):
        for target, anchor in re.findall(r'href="(api/course_lib[\w.]+\.html)#([\w.]+)"', page.read_text()):
            count += 1
            if target not in ids: ids[target] = set(re.findall(r'id="([^"]+)"', (out/target).read_text()))
            if anchor not in ids[target]: missing.append(f'{page.name} -> {target}#{anchor}')
    assert count > 200, f'only {count} links from pages to API entries'
    assert not missing, missing[:10]


# --- size, readability ----------------------------------------------------------------------------------

def test_site_is_small_and_holds_no_build_cache(site):
    out, _, _ = site
    files = [p for p in out.rglob('*') if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    assert size <= MAX_SITE_BYTES, f'the site is {size / 1e6:.1f} MB (limit {MAX_SITE_BYTES / 1e6:.0f} MB)'
    big = {p.name: p.stat().st_size for p in files if p.suffix == '.html' and p.stat().st_size > MAX_PAGE_BYTES}
    assert not big, f'pages over {MAX_PAGE_BYTES / 1e6:.0f} MB (trim their outputs): {big}'
    assert not (out/'.doctrees').exists(), "Sphinx's cache is inside the deploy folder"
    scripts = [p.name for p in out.glob('*.html') if re.search(r'<script[^>]*fontawesome\.js', p.read_text())]
    assert not scripts, f'pages still load the 1.5 MB Font Awesome script: {scripts}'
    assert not [p for p in files if p.suffix == '.map'], 'source maps are shipped'
    assert (out/'_static'/'mathjax'/'tex-chtml.js').is_file()


@browser
def test_notebook_page_has_code_outputs_figure_and_copy_button(site):
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
    assert 'copybtn' in dom(site, pages[0]), 'no copy button on code cells'


def test_figures_carry_their_fig_alt_text(site):
    "Every `#| fig-alt:` of a notebook cell with an image output is the alt text of that image on the page."
    out, _, _ = site
    expected = 0
    for page in notebook_pages():
        nb = nbformat.read(ROOT/'nbs'/page.replace('.html', '.ipynb'), as_version=4)
        html = (out/page).read_text()
        for cell in nb.cells:
            m = re.search(r'^#\|\s*fig-alt:\s*(.+)$', cell.source, re.M) if cell.cell_type == 'code' else None
            if m and any('image/png' in o.get('data', {}) for o in cell.get('outputs', [])):
                expected += 1
                alts = {html_lib.unescape(alt) for alt in re.findall(r'alt="([^"]*)"', html)}
                assert m.group(1).strip() in alts, (page, m.group(1))


def test_no_tool_markers_anywhere(site):
    out, _, _ = site
    leaks = []
    for page in out.rglob('*.html'):
        if page.name in ABOUT_MARKERS or page.name in ('genindex.html', 'search.html'): continue
        if '_modules' in page.parts: continue   # source pages show the exported modules as they are
        text = text_of(page.read_text())
        for marker in ('#|', 'NBVAL'):
            if marker in text: leaks.append(f'{page.relative_to(out)}: {marker}')
    assert not leaks, leaks
    for page in ABOUT_MARKERS:  # those pages may talk about the markers, but no code line may start with one
        for path in out.rglob(page):
            code = ' '.join(re.findall(r'<pre>(.*?)</pre>', path.read_text(), flags=re.S))
            assert not re.search(r'(^|\n)\s*(<[^>]+>)*(#\||# ?NBVAL_)', code), path


@browser
def test_search_finds_a_lesson_page(site):
    html = dom(site, 'search.html?q=broadcasting')
    results = re.findall(r'<li[^>]*>\s*<a [^>]*href="([^"]+)"', html.split('id="search-results"', 1)[-1])
    assert results, 'search for "broadcasting" found nothing'


@browser
def test_screenshots_for_people(site):
    "Saved next to the site (docs/_build/*.png) for a person to look at."
    out, url, profile = site
    shots = out.parent
    lesson_page = next(p for p in ('04_callbacks.html', '02_fully_connected.html', '01_matmul.html') if (out/p).exists())
    for page, name in (('index.html', 'home.png'), (lesson_page, 'lesson_page.png'),
                       ('api/course_lib.callbacks.html', 'api_page.png')):
        chromium(profile, '--window-size=1280,1000', '--hide-scrollbars', f'--screenshot={shots/name}', f'{url}/{page}')
        assert (shots/name).stat().st_size > 10_000, f'{name} looks empty'


# The site's CSS sizes code for 88 columns; a longer line of code or output scrolls sideways. Lines over 88
# columns per page when this check was written: a page may only go down (new pages: none). Lower the number
# when you shorten lines; remove the page when it reaches 0.
WIDE_LINES = {'00_core.html': 3, '00a_data.html': 1, '04_callbacks.html': 9, '05_anneal.html': 29,
              '05b_early_stopping.html': 9, '06_cuda_cnn_hooks_init.html': 16, '07_batchnorm.html': 31,
              '07a_lsuv.html': 2, '08_data_block.html': 19, '09_optimizers.html': 14, '09b_learner.html': 16,
              '09c_add_progress_bar.html': 1, '09d_front_door.html': 3, '10b_mixup_label_smoothing.html': 6,
              '11_train_imagenette.html': 5, '11a_transfer_learning.html': 4, '11b_distributed.html': 2,
              '11c_train_script.html': 2, '12_text.html': 3, '12b_lm_pretrain.html': 26, '12c_ulmfit.html': 13,
              '90_tools_notebooks.html': 1, '91_tools_cli.html': 14, '92_tools_docs.html': 6}


def wide_lines(html: str) -> list:
    "Lines over 88 columns in the code cells and outputs of a page, as a reader sees them."
    lines = []
    for m in re.finditer(r'<div class="cell_(?:input|output)[^"]*".*?<pre[^>]*>(.*?)</pre>', html, re.S):
        lines += [l for l in html_lib.unescape(re.sub(r'<[^>]+>', '', m.group(1))).splitlines() if len(l) > 88]
    return lines


def test_code_and_outputs_fit_88_columns(site):
    out, _, _ = site
    worse = {}
    for page in sorted(out.glob('*.html')):
        wide = wide_lines(page.read_text())
        if len(wide) > WIDE_LINES.get(page.name, 0): worse[page.name] = (len(wide), max(wide, key=len)[:100])
    assert not worse, ('lines over 88 columns (code or output; the count, then the longest), more than '
                       f'WIDE_LINES allows: {worse}')


# --- the builder on tiny sites ----------------------------------------------------------------------------

def _tiny_site(tmp_path, notebooks):
    # the configuration and static files only: the hand-written pages link notebooks a tiny site lacks
    shutil.copytree(ROOT/'docs', tmp_path/'docs', ignore=shutil.ignore_patterns('_build', '_src', '*.md'))
    (tmp_path/'nbs').mkdir()
    for name, cells in notebooks.items():
        nb = nbformat.v4.new_notebook()
        nb.metadata.update(kernelspec={'name': 'python3', 'display_name': 'Python 3', 'language': 'python'},
                           language_info={'name': 'python'})
        nb.cells = cells
        nbformat.write(nb, tmp_path/'nbs'/f'{name}.ipynb')
    return tmp_path/'nbs'


def test_broken_internal_link_fails_the_build(tmp_path):
    from course_lib.tools.docs import build_docs
    nbs = _tiny_site(tmp_path, {
        'index': [nbformat.v4.new_markdown_cell('# Home\n\nStart with [the first lesson](nbs/01_first.ipynb).')],
        '01_first': [nbformat.v4.new_markdown_cell('# First\n\nThen read [a page that does not exist](99_missing.ipynb).')]})
    with pytest.raises(RuntimeError, match='Sphinx failed'):
        build_docs(tmp_path/'out', nbs=nbs)


def _png() -> str:
    "A small real figure, base64-encoded as a notebook stores it."
    import base64
    import io
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(2, 1))
    ax.plot([0, 1])
    buffer = io.BytesIO()
    fig.savefig(buffer, format='png')
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def test_fig_alt_becomes_the_images_alt_text(tmp_path):
    from course_lib.tools.docs import build_docs
    png = _png()
    cell = nbformat.v4.new_code_cell('#| fig-alt: A rising straight line\nplt.plot([0, 1])\nplt.show()')
    cell.outputs = [nbformat.v4.new_output('display_data', data={'image/png': png, 'text/plain': '<Figure>'})]
    nbs = _tiny_site(tmp_path, {'index': [nbformat.v4.new_markdown_cell('# Home\n\n[First](nbs/01_first.ipynb)')],
                                '01_first': [nbformat.v4.new_markdown_cell('# First'), cell]})
    out = build_docs(tmp_path/'out', nbs=nbs)
    html = (out/'01_first.html').read_text()
    assert re.search(r'<img[^>]+alt="A rising straight line"', html), re.findall(r'<img[^>]+>', html)
    assert 'fig-alt' not in html
