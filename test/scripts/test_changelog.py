"""Tests of scripts/changelog.py: metadata.txt's changelog is made from CHANGELOG.md and in step with it."""
import changelog

SAMPLE = """# Changelog

## [Unreleased]

- Not yet released.

## [0.2.0] - 2027-01-15

Volcanic interferograms.

### Added

- A two-headed CNN (`insardefo:volcano`), see
  [the seed](https://example.org).

### Fixed

- *Cancel* in the wizard.

## [0.1.0] - 2026-12-02

- First release.

[0.2.0]: https://example.org/compare/v0.1.0...v0.2.0
"""


def test_released_versions_become_plain_lines_newest_first():
    assert changelog.metadata_changelog(SAMPLE) == [
        "0.2.0 (2027-01-15): Volcanic interferograms.",
        "Added:",
        "- A two-headed CNN (insardefo:volcano), see the seed.",
        "Fixed:",
        "- Cancel in the wizard.",
        "0.1.0 (2026-12-02)",
        "- First release.",
    ]


def test_the_changelog_value_is_replaced_and_the_other_keys_kept():
    metadata = "[general]\nname=X\nchangelog=\n    old line\n    another\nicon=icon.svg\n"
    updated = changelog.with_changelog(metadata, ["0.1.0 (2026-12-02)", "- First release."])
    assert updated == "[general]\nname=X\nchangelog=\n    0.1.0 (2026-12-02)\n    - First release.\nicon=icon.svg\n"


def test_metadata_txt_is_in_step_with_changelog_md():
    assert changelog.main(["--check"]) == 0, "run python3 scripts/changelog.py"
