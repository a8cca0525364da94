"""The deployment guides in docs/deploy/ as the tests read them.

A guide marks each block a test runs with an HTML comment on the line
before its fence, `<!-- file: NAME -->`; the test takes the block's text
from the guide itself, so what a reader copies is what was tested. Values
that must differ in a test (ports, paths, the application) are swapped
with `swap`, which fails if the guide no longer holds the text it swaps.
"""

import pathlib
import re
import shlex

GUIDES = pathlib.Path(__file__).resolve().parents[2] / "docs" / "deploy"


def block(guide, name):
    """The text of the fenced block marked `<!-- file: NAME -->` in GUIDE."""
    text = (GUIDES / guide).read_text()
    found = re.search(r"^<!-- file: %s -->\n```[^\n]*\n(.*?)^```$" % re.escape(name), text, re.M | re.S)
    assert found, f"{guide} has no block marked <!-- file: {name} -->"
    return found.group(1)


def swap(text, replacements):
    """`text` with each key replaced by its value; each key must occur."""
    for old, new in replacements.items():
        assert old in text, f"the guide no longer contains {old!r}"
        text = text.replace(old, new)
    return text


def command(line, rcorn, replacements):
    """A guide's `rcorn ...` command line as argv for the installed rcorn."""
    argv = shlex.split(swap(line.strip(), replacements))
    assert argv[0].endswith("rcorn"), argv
    return [rcorn, *argv[1:]]
