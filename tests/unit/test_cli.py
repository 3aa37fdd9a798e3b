"""The ``hark`` CLI through click's runner: exit codes, output shapes, bad input."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from hark.cli import cli, main


@pytest.fixture
def run():
    def invoke(*args: str, input: bytes | str | None = None, env: dict | None = None):
        return CliRunner().invoke(cli, list(args), input=input, env=env)

    return invoke


def test_rules_check_shipped_rulebook(run):
    result = run("rules", "check")
    assert result.exit_code == 0
    assert "rulebook.yaml: ok" in result.stdout


def test_rules_check_uses_hark_rules_setting(run, tmp_path):
    broken = tmp_path / "rules.yaml"
    broken.write_text("rules: [1, 2]\n")
    result = run("rules", "check", env={"HARK_RULES": str(broken)})
    assert result.exit_code == 2
    assert f"{broken}:1: -: priorities: required field 'priorities' is missing" in result.stdout


def test_rules_check_missing_file_names_it(run, tmp_path):
    missing = tmp_path / "nope.yaml"
    result = run("rules", "check", str(missing))
    assert result.exit_code == 2
    assert result.stdout.strip() == f"rulebook not found: {missing}"  # given, not HARK_RULES


HARK_RULES_HINT = "set HARK_RULES to a rulebook file or unset it for the shipped one"


@pytest.mark.parametrize(
    "args",
    [["rules", "check"], ["rules", "explain", "hi"], ["classify"]],
)
def test_a_missing_hark_rules_says_not_found_and_what_to_do(run, tmp_path, args):
    missing = tmp_path / "nope.yaml"
    env = {"HARK_RULES": str(missing), "HARK_REDIS_URL": None}
    result = run(*args, input="", env=env)
    assert result.exit_code == 2
    assert f"rulebook not found: {missing}; {HARK_RULES_HINT}" in result.output
    assert "cannot read rulebook" not in result.output


def test_explain_shows_priority_rules_weights_and_matched_text(run):
    result = run("rules", "explain", "Caro crashes on launch, every single time", "--channel", "x")
    assert result.exit_code == 0
    first = result.stdout.splitlines()[0]
    assert first.startswith("P0 (Critical)")
    assert "pages the on-call" in first
    assert "+1 P0" in result.stdout
    assert "crash-for-everyone" in result.stdout
    assert "matched 'crashes'" in result.stdout


def test_explain_json(run):
    result = run("rules", "explain", "how do I set the default backend?", "--json")
    triage = json.loads(result.stdout)
    assert (triage["priority"], triage["kind"]) == ("P3", "question")
    assert triage["pages"] is False


def test_explain_rejects_unknown_channel(run):
    result = run("rules", "explain", "hello", "--channel", "myspace")
    assert result.exit_code == 2
    assert "Invalid value for '--channel'" in result.output


def _corpus(tmp_path, rows):
    path = tmp_path / "corpus.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    return path


def test_rules_test_reports_matrix_and_exits_1_on_a_missed_p0(run, tmp_path):
    corpus = _corpus(
        tmp_path,
        [
            {"id": "a", "text": "Caro crashes on launch every time", "priority": "P0"},
            {"id": "b", "text": "I love it, thanks!", "priority": "P3"},
            {"id": "missed", "text": "the sky is blue", "priority": "P0"},
        ],
    )
    result = run("rules", "test", str(corpus))
    assert result.exit_code == 1
    assert "3 messages, exact priority accuracy 66.7%" in result.stdout
    assert "missed: expected P0, got P3  MISSED P0" in result.stdout
    report = json.loads(run("rules", "test", str(corpus), "--json").stdout)[str(corpus)]
    assert report["per_priority"]["P0"] == {"precision": 1.0, "recall": 0.5, "support": 2}
    assert report["missed_p0"] == ["missed"]
    assert report["confusion"]["P0"]["P3"] == 1


def test_rules_test_passes_when_no_p0_is_missed(run, tmp_path):
    corpus = _corpus(tmp_path, [{"text": "Caro crashes on launch every time", "priority": "P0"}])
    assert run("rules", "test", str(corpus)).exit_code == 0


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"not json", "corpus.jsonl:2: not valid JSON"),
        (b'{"text": "x", "priority": "P9"}', "corpus.jsonl:2: 'priority' must be one of"),
        (b'["a list"]', "corpus.jsonl:2: each line must be a JSON object"),
        (b"\xff\xfe", "corpus.jsonl:2: not UTF-8 text"),
        (b'{"text": "x", "priority": "P1", "channel": "X"}', "'channel' must be one of x,"),
    ],
)
def test_rules_test_names_the_bad_corpus_line(run, tmp_path, line, message):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_bytes(b'{"text": "fine", "priority": "P3"}\n' + line + b"\n")
    result = run("rules", "test", str(corpus))
    assert result.exit_code == 2
    assert message in result.stderr


def test_rules_test_refuses_an_empty_corpus(run, tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("\n")
    result = run("rules", "test", str(corpus))
    assert result.exit_code == 2 and "no labelled messages in it" in result.stderr


def _classify(run, lines: list[bytes]):
    result = run("classify", input=b"\n".join(lines) + b"\n")
    return result, [json.loads(line) for line in result.stdout.splitlines()]


def test_classify_adds_triage_and_keeps_the_input_fields(run):
    result, out = _classify(
        run,
        [
            json.dumps({"id": "x:1", "channel": "x", "text": "caro crashes on launch!"}).encode(),
            json.dumps({"text": "love it 🔥", "extra": [1, 2]}).encode(),
        ],
    )
    assert result.exit_code == 0
    assert out[0]["id"] == "x:1" and out[0]["priority"] == "P0"
    assert out[0]["rules"][0]["id"] == "crash-for-everyone"
    assert "crashes" in out[0]["rules"][0]["matched"]
    assert out[1]["extra"] == [1, 2] and out[1]["kind"] == "praise"
    assert set(out[1]) >= {"priority", "category", "kind", "score", "rules"}


def test_classify_bad_lines_yield_error_objects_and_the_run_goes_on(run):
    lines = [
        b'{"text": "first"}',
        b'{"text": "caf\xe9 crash"}',  # Latin-1, not UTF-8
        b"[1, 2, 3]",
        b'"just a string"',
        b"{not json",
        b'{"no_text": true, "id": "m-5"}',
        b'{"text": "x", "channel": "myspace"}',
        b"",  # blank lines are skipped, not refused
        b'{"text": "big", "n": ' + b"9" * 5000 + b"}",  # past Python's int conversion limit
        b'{"text": "not a number", "score": NaN}',
        b"[" * 100_000 + b"]" * 100_000,  # past the parser's nesting
        b'{"text": "last"}',
    ]
    result, out = _classify(run, lines)
    assert result.exit_code == 1
    assert [row.get("error", {}).get("code") for row in out] == [
        None,
        "invalid_utf8",
        "not_an_object",
        "not_an_object",
        "invalid_json",
        "missing_text",
        "invalid_channel",
        "invalid_json",
        "invalid_json",
        "invalid_json",
        None,
    ]
    assert "an integer of more than 4,300 digits" in out[7]["error"]["message"]
    assert "NaN is not a JSON number" in out[8]["error"]["message"]
    assert "nested too deeply" in out[9]["error"]["message"]
    assert out[1]["line"] == 2
    assert out[-1]["text"] == "last"
    assert "line 2: not UTF-8" in result.stderr
    assert "line 6: the object needs a 'text' string" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "text",
    ["", "🔥🔥🔥", "كارو يتعطل عند التشغيل", "x" * 1_000_000, "a\u202eb\u200bc", "\ud83d crash"],
    ids=["empty", "emoji-only", "right-to-left", "1MB", "bidi-zero-width", "lone-surrogate"],
)
def test_classify_unusual_text(run, text):
    line = json.dumps({"text": text}).encode()  # ASCII-escaped, as JSON allows
    result, out = _classify(run, [line])
    assert result.exit_code == 0
    assert out[0]["priority"] in {"P0", "P1", "P2", "P3"}
    assert out[0]["text"] == text  # echoed back unchanged, even invalid Unicode


def test_settings_masks_secrets(run):
    env = {"HARK_API_TOKEN": "s3cret-token-value", "HARK_RULES": "/etc/hark/rules.yaml"}
    result = run("settings", env=env)
    assert result.exit_code == 0
    assert "HARK_API_TOKEN=********" in result.stdout
    assert "s3cret-token-value" not in result.stdout
    assert "HARK_RULES=/etc/hark/rules.yaml" in result.stdout
    assert "HARK_PD_ROUTING_KEY=(not set)" in result.stdout


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:top@secret@127.0.0.1:6379/0", "redis://:********@127.0.0.1:6379/0"),
        ("redis://hark:pw@127.0.0.1/0?password=topsecret", "redis://hark:********@127.0.0.1/0"),
        (
            "redis://127.0.0.1/0?db=1&password=topsecret",
            "redis://127.0.0.1/0?db=1&password=********",
        ),
    ],
)
def test_settings_masks_passwords_anywhere_in_a_url(run, url, shown):
    result = run("settings", env={"HARK_REDIS_URL": url})
    assert result.exit_code == 0
    assert "secret" not in result.stdout and "pw@" not in result.stdout
    assert f"HARK_REDIS_URL={shown}" in result.stdout


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("HARK_IMAP_PORT", "x", "HARK_IMAP_PORT='x': Input should be a valid integer"),
        (
            "HARK_ESCALATE_AFTER_MINUTES",
            "nan",
            "HARK_ESCALATE_AFTER_MINUTES='nan': Input should be",
        ),
        ("HARK_ESCALATE_AFTER_MINUTES", "-5", "HARK_ESCALATE_AFTER_MINUTES='-5': Input should be"),
        ("HARK_LAUNCH_DAY", "maybe", "HARK_LAUNCH_DAY='maybe': Input should be a valid boolean"),
    ],
)
def test_a_malformed_setting_is_one_line_naming_it(variable, value, message, monkeypatch, capsys):
    monkeypatch.setenv(variable, value)
    monkeypatch.setattr("sys.argv", ["hark", "rules", "explain", "hello"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"Error: {message}") and "Traceback" not in err


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["web", "--port", "99999"], "99999 is not in the range 1<=x<=65535"),
        (["run", "--port", "0"], "0 is not in the range 1<=x<=65535"),
        (["poll", "--every", "nan"], "'nan' is not a finite number"),
        (["poll", "--every", "inf"], "inf is not in the range 5<=x<=86400"),
        (["replay", "--speed", "1e-300", "feed.jsonl"], "1e-300 is not in the range"),
        (["run", "--speed", "nan"], "'nan' is not a finite number"),
    ],
)
def test_numeric_options_out_of_range_are_usage_errors(run, arguments, message):
    result = run(*arguments)
    assert result.exit_code == 2 and message in result.output


def test_rules_check_takes_rules_like_every_rules_command(run):
    from hark.rulebook_files import shipped_rulebook_path

    path = shipped_rulebook_path()
    count = path.read_text(encoding="utf-8").count("\n  - id: ")
    result = run("rules", "check", "--rules", str(path))
    assert result.exit_code == 0 and f"ok, {count} rules" in result.output


def test_a_rulebook_that_is_not_a_file_is_refused_without_reading_it(run, tmp_path):
    import os

    fifo = tmp_path / "rules.fifo"
    os.mkfifo(fifo)  # reading it would wait for a writer forever
    for path in ("/dev/zero", str(fifo)):
        result = run("rules", "check", path)
        assert result.exit_code == 2
        assert f"{path}:1: -: -: cannot read rulebook: not a regular file" in result.output


def test_a_broken_hark_rules_is_named(run, tmp_path):
    result = run("rules", "explain", "hi", env={"HARK_RULES": str(tmp_path / "missing.yaml")})
    assert result.exit_code == 2
    assert f"rulebook not found: {tmp_path / 'missing.yaml'}; {HARK_RULES_HINT}" in result.output


def test_a_group_window_of_zero_means_one_incident_per_report(run):
    result = run("settings", env={"HARK_GROUP_WINDOW_MINUTES": "0"})
    assert result.exit_code == 0 and "HARK_GROUP_WINDOW_MINUTES=0.0" in result.output


def test_each_lazy_subcommand_is_listed_with_its_own_help_line():
    from hark.cli import SUBCOMMANDS, load_subcommand

    for name, entry in SUBCOMMANDS.items():
        command = load_subcommand(name)
        assert command.name == name
        assert entry.short_help == command.get_short_help_str(limit=1_000), name


def test_help_lists_every_command_without_importing_the_model(tmp_path):
    import subprocess
    import sys

    probe = (
        "import sys; from hark.cli import main; sys.argv = ['hark', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('sklearn' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    *help_lines, imported = done.stdout.splitlines()
    assert imported == "False"
    listed = {line.split()[0] for line in help_lines if line.startswith("  ") and line[2] != " "}
    assert {"classify", "model", "rules", "settings", "worker", "web", "run"} <= listed
