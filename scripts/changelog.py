"""Write metadata.txt's changelog (what the QGIS plugin manager shows) from CHANGELOG.md.

CHANGELOG.md is the one record (Keep a Changelog form). Each released version becomes
"VERSION (DATE): summary" followed by its kinds of change ("Added:", "Fixed:", ...) and their
entries, one line each, as plain text: Markdown links, code marks and emphasis are dropped, and so
are the link definitions. "Unreleased" is left out.

    python3 scripts/changelog.py           # rewrite the changelog in metadata.txt
    python3 scripts/changelog.py --check   # exit 1 when metadata.txt is out of step
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHANGELOG = os.path.join(ROOT, "CHANGELOG.md")
METADATA = os.path.join(ROOT, "metadata.txt")
VERSION_HEADING = re.compile(r"^## \[(?P<version>[^\]]+)\](?: - (?P<date>\d{4}-\d{2}-\d{2}))?\s*$")
INDENT = "    "


def plain(text):
    """Markdown inline text as plain text: [label](url) -> label, `code` -> code, *x* -> x."""
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)
    return re.sub(r"[`*]", "", text)


def releases(markdown):
    """[(version, date, summary, [line, ...])] of the released versions, newest first.

    The lines are "Added:"-style kinds of change and "- entry" lines, in plain text.
    """
    found, current, paragraph = [], None, []
    for line in markdown.splitlines():
        heading = VERSION_HEADING.match(line)
        if heading:
            current, paragraph = None, []
            if heading["version"].lower() != "unreleased":
                current = [heading["version"], heading["date"], "", []]
                found.append(current)
        elif current is None or line.startswith(("[", "# ")):
            continue
        elif line.startswith("### "):
            current[3].append(f"{line[4:].strip()}:")
        elif line.startswith("- "):
            current[3].append(f"- {line[2:].strip()}")
        elif line.startswith("  ") and current[3]:
            current[3][-1] += " " + line.strip()
        elif line.strip() and not current[3]:
            paragraph.append(line.strip())
            current[2] = " ".join(paragraph)
        elif not line.strip():
            paragraph = []
    return [(version, date, plain(summary), [plain(line) for line in lines])
            for version, date, summary, lines in found]


def metadata_changelog(markdown):
    """The lines of metadata.txt's changelog value (without the indent) for CHANGELOG.md's text."""
    lines = []
    for version, date, summary, entries in releases(markdown):
        lines.append(f"{version} ({date})" + (f": {summary}" if summary else ""))
        lines += entries
    return lines


def with_changelog(metadata, lines):
    """metadata.txt's text with its changelog value replaced by ``lines``."""
    block = "changelog=\n" + "".join(f"{INDENT}{line}\n" for line in lines)
    pattern = re.compile(r"^changelog=.*?(?=^\S|\Z)", re.M | re.S)
    if not pattern.search(metadata):
        return metadata.rstrip("\n") + "\n" + block
    return pattern.sub(lambda _: block, metadata, count=1)


def main(argv):
    with open(CHANGELOG, encoding="utf-8") as handle:
        lines = metadata_changelog(handle.read())
    with open(METADATA, encoding="utf-8") as handle:
        metadata = handle.read()
    wanted = with_changelog(metadata, lines)
    if "--check" in argv:
        if wanted != metadata:
            print("metadata.txt's changelog is out of step with CHANGELOG.md: run python3 scripts/changelog.py")
            return 1
        return 0
    with open(METADATA, "w", encoding="utf-8") as handle:
        handle.write(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
