"""Small builders shared by the tests."""
import io
import tarfile

import nbformat


def make_tgz(members: dict) -> bytes:
    "A .tgz in memory holding `members` (name -> bytes)."
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w:gz') as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def write_notebook(path, *sources):
    "A notebook at `path` with one code cell per string in `sources` (python3 kernel)."
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata['kernelspec'] = {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}
    nbformat.write(nb, path)
