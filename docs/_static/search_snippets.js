// Search result snippets come from the text of each found page's main area; with this theme that area
// also holds the header buttons and a printable table of contents, so a snippet could read "System Settings
// Light Dark" or a list of headings. Drop them first.
(() => {
  const chrome = '.bd-header-article, .bd-sidebar-secondary, #jb-print-docs-body, .prev-next-footer, .bd-footer-article';
  const patch = () => {
    if (typeof Search === 'undefined' || Search.htmlToText.patched) return;
    const original = Search.htmlToText;
    Search.htmlToText = (htmlString, anchor) => {
      const page = new DOMParser().parseFromString(htmlString, 'text/html');
      page.querySelectorAll(chrome).forEach((el) => el.remove());
      return original(page.documentElement.outerHTML, anchor);
    };
    Search.htmlToText.patched = true;
  };
  patch();
  document.addEventListener('DOMContentLoaded', patch);
})();
