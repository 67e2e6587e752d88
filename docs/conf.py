# Sphinx configuration of the course_lib docs site. The sources are assembled from the notebooks into
# docs/_src by `course-lib docs` (course_lib.tools.docs.build_docs), which runs Sphinx with this folder as -c.
from pathlib import Path

import course_lib

project = 'course_lib'
author = 'course_lib team'
copyright = '2026, the course_lib team'
release = course_lib.__version__

extensions = ['myst_nb', 'sphinx-mathjax-offline']  # MathJax served with the site: it renders offline too
myst_enable_extensions = ['dollarmath', 'amsmath', 'attrs_inline', 'colon_fence', 'deflist']
myst_heading_anchors = 3
nb_execution_mode = 'off'          # pages show the outputs stored in the notebooks; nothing is re-executed
nb_output_stderr = 'remove'        # kernel warnings are for the person running the notebook, not the reader
nb_merge_streams = True
suppress_warnings = ['myst.header', 'mystnb.unknown_mime_type']
exclude_patterns = ['_build', '**.ipynb_checkpoints']

html_theme = 'sphinx_book_theme'
html_title = 'Deep Learning from the Foundations'
html_static_path = [str(Path(__file__).parent/'_static')]
html_css_files = ['course.css']
html_theme_options = {
    'repository_url': 'https://github.com/course-lib/course_lib',
    'path_to_docs': 'nbs',
    'use_repository_button': True,
    'show_navbar_depth': 1,
    'show_toc_level': 2,
    'home_page_in_toc': True,
}
html_show_sourcelink = False
