# Sphinx configuration of the course_lib docs site. The sources are assembled from the notebooks into
# docs/_src by `course-lib docs` (course_lib.tools.docs.build_docs), which runs Sphinx with this folder as -c.
from pathlib import Path

import course_lib
from course_lib.tools.docs import repository, setup_sphinx

project = 'course_lib'
author = 'course_lib team'
copyright = '2026, the course_lib team'
release = course_lib.__version__

extensions = ['myst_nb', 'sphinx.ext.autodoc', 'sphinx.ext.viewcode', 'sphinx.ext.mathjax', 'sphinx_copybutton']
myst_enable_extensions = ['dollarmath', 'amsmath', 'attrs_inline', 'colon_fence', 'deflist']
myst_heading_anchors = 3
nb_execution_mode = 'off'          # pages show the outputs stored in the notebooks; nothing is re-executed
nb_output_stderr = 'remove'        # kernel warnings are for the person running the notebook, not the reader
nb_merge_streams = True
nb_render_markdown_format = 'myst'  # Markdown outputs (the home page's lesson map) may hold tables and links
suppress_warnings = ['myst.header', 'mystnb.unknown_mime_type']
exclude_patterns = ['_build', '**.ipynb_checkpoints', '_md']

# API reference: autodoc reads the modules (docstrings are Markdown-flavoured: `x` is code), viewcode
# writes their highlighted source. course_lib.tools.docs.setup_sphinx adds nbdev's parameter comments,
# links to the defining notebooks, and copies the MathJax files pages load (served with the site).
default_role = 'literal'
autodoc_member_order = 'bysource'
autodoc_preserve_defaults = True   # `loss_func=F.cross_entropy` as written, not `<function ...>`
autodoc_inherit_docstrings = False  # torch.autograd.Function's own docs are not ours to show
add_module_names = False
copybutton_exclude = '.linenos, .gp, .go'

html_theme = 'sphinx_book_theme'
html_title = 'Deep Learning from the Foundations'
html_static_path = [str(Path(__file__).parent/'_static')]
html_css_files = ['course.css']
html_js_files = ['search_snippets.js']
# The repository comes from pyproject.toml ([project.urls] Repository), so a fork's site links to the fork.
# Notebook pages get an "Open in Colab" launch button (the theme's) and links to the notebook on GitHub
# (course_lib.tools.docs: under the title, and in the header in place of the theme's `_sources/` download).
repository_url, repository_branch = repository(Path(__file__).resolve().parents[1])
html_theme_options = {
    'repository_url': repository_url,
    'repository_branch': repository_branch,
    'path_to_docs': 'nbs',
    'use_repository_button': bool(repository_url),   # a folder without pyproject.toml: no repository links
    'launch_buttons': {'colab_url': 'https://colab.research.google.com'} if repository_url else {},
    'show_navbar_depth': 1,
    'show_toc_level': 2,
    'home_page_in_toc': True,
}
html_show_sourcelink = False
html_copy_source = False           # the notebooks are in the repository; the site stays small


def setup(app): return setup_sphinx(app)
