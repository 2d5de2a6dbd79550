"""README.md and docs/: the set-up commands first, a short README, links that resolve, no history of the work."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PROCESS_WORDS = re.compile(
    r"\b(session|ticket|issue \d|lent|found and fixed|acceptance|we were told|goal)\b", re.IGNORECASE
)


def test_the_readme_opens_with_the_two_set_up_commands_and_stays_short():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert lines[3].startswith("bash scripts/setup.sh && .venv/bin/iamrec demo ")
    assert lines[4].startswith("bash scripts/setup.sh && .venv/bin/python -m pytest -q ")
    assert len(lines) <= 200


def test_every_relative_link_of_the_readme_and_the_docs_resolves():
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if not target.startswith(("http://", "https://", "mailto:")):
                assert (page.parent / target).exists(), f"{page.name}: broken link {target}"


def test_the_pages_describe_the_project_not_the_history_of_its_making():
    for page in [*PAGES, ROOT / "CONTRIBUTING.md", ROOT / "benchmarks" / "README.md"]:
        if page.is_file():
            found = PROCESS_WORDS.findall(page.read_text())
            assert not found, f"{page.name}: {sorted(set(found))}"


def test_the_model_page_lists_every_registered_schedule_and_the_default():
    from iamrec.configuration_iamrec import DEFAULT_SCHEDULE, SCHEDULES

    section = (ROOT / "docs" / "model.md").read_text().split("## Schedules", 1)[1].split("\n## ", 1)[0]
    assert [name for name in SCHEDULES if f"`{name}`" not in section] == []
    assert f"a model uses `{DEFAULT_SCHEDULE}` (`DEFAULT_SCHEDULE`)" in section
