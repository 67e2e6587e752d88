"""Small builders shared by the tests."""
import io
import tarfile


def make_tgz(members: dict) -> bytes:
    "A .tgz in memory holding `members` (name -> bytes)."
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w:gz') as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()
