"""``hark report`` tells its times on the team's clock: the active rulebook's business-hours
zone, as the pages do."""

from __future__ import annotations

from click.testing import CliRunner

from hark.cli import cli
from hark.rulebook_files import shipped_rulebook_path


def test_report_times_are_in_the_rulebooks_zone(redis_url, tmp_path):
    shipped = shipped_rulebook_path()
    text = shipped.read_text(encoding="utf-8")
    assert "America/New_York" in text
    paris = tmp_path / "rulebook.yaml"
    paris.write_text(text.replace("America/New_York", "Europe/Paris"), encoding="utf-8")

    env = {"HARK_REDIS_URL": redis_url, "HARK_RULES": str(paris)}
    result = CliRunner().invoke(cli, ["report"], env=env)
    assert result.exit_code == 0, result.output
    covers = next(line for line in result.stdout.splitlines() if line.startswith("_Covers"))
    assert " CET " in covers or " CEST " in covers, covers
    assert "EST" not in result.stdout


def test_report_with_a_broken_rulebook_says_so(redis_url, tmp_path):
    broken = tmp_path / "rulebook.yaml"
    broken.write_text("rules: [1]\n", encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["report"], env={"HARK_REDIS_URL": redis_url, "HARK_RULES": str(broken)}
    )
    assert result.exit_code == 2
    assert str(broken) in result.stderr
