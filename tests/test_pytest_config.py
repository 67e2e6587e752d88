"""The test command's configuration: skipped tests say why in the summary."""
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_skip_reasons_are_shown():
    "`pytest` prints each skip's reason (-rs), e.g. the docs browser test where Chromium is absent."
    addopts = tomllib.loads((ROOT/'pyproject.toml').read_text())['tool']['pytest']['ini_options']['addopts'].split()
    assert any(opt.startswith('-r') and 's' in opt[2:] for opt in addopts), addopts
