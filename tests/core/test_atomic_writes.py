"""Files are placed by vidrestore.io.safety only: no hand-made temporary-then-rename anywhere else."""

from __future__ import annotations

import re
from pathlib import Path

import vidrestore

ROOT = Path(vidrestore.__file__).resolve().parent
HAND_MADE = re.compile(r"os\.replace\(|os\.rename\(|\.rename\(|mkstemp\(|NamedTemporaryFile\(delete=False|\.part\b")

#: Left for the engineer who owns the file (issue 21): a test helper that places a whole model folder.
ALLOWED = {
    "restore/diffusion/tiny.py": "restore part: the tiny-model folder is placed by hand (os.replace of a folder)",
}


def test_only_the_safety_module_renames_files_into_place() -> None:
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel == "io/safety.py" or rel in ALLOWED:
            continue
        lines = [n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if HAND_MADE.search(line) and not line.lstrip().startswith("#")]
        if lines:
            found[rel] = lines
    assert found == {}, f"route these writes through vidrestore.io.safety: {found}"


def test_the_allowed_exceptions_still_exist() -> None:
    for rel in ALLOWED:
        assert HAND_MADE.search((ROOT / rel).read_text(encoding="utf-8")), f"remove {rel} from ALLOWED"
