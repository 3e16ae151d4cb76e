"""The result cache: a warm run prints exactly what an uncached run prints, and anything the
output depends on (an input file, the settings, the baseline, the code) makes a new entry;
a damaged entry or an unusable directory costs time, never a wrong result or a failure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from test_check_helpers import ROOT, copy_chat, run

import analyzer.analysis as analysis
import analyzer.cache as cache_module
from analyzer.cache import Cache


@pytest.fixture
def chat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("SQLRIPPLE_NO_CACHE")
    monkeypatch.delenv("SQLRIPPLE_CACHE_DIR", raising=False)
    return copy_chat(tmp_path, monkeypatch)


@pytest.fixture
def analyses(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """The analyses actually run (a cache hit runs none)."""
    calls: list[tuple[str, ...]] = []
    real = analysis.analyze

    def counted(paths: Any, config: Any = None, jobs: int = 1) -> Any:
        calls.append(tuple(paths))
        return real(paths, config, jobs)

    monkeypatch.setattr(analysis, "analyze", counted)
    return calls


def entries(directory: Path) -> list[Path]:
    return sorted((directory / "check").iterdir()) if (directory / "check").is_dir() else []


@pytest.mark.parametrize("output_format", ["json", "text", "sarif"])
def test_a_warm_run_prints_the_bytes_of_an_uncached_one(
    chat: Path, analyses: list[tuple[str, ...]], output_format: str
) -> None:
    uncached = run("check", "chat", "--format", output_format, "--no-cache")
    cold = run("check", "chat", "--format", output_format)
    warm = run("check", "chat", "--format", output_format)
    assert uncached[0] == 1  # the chat fixture has warnings
    assert cold == uncached
    assert warm == uncached
    assert len(analyses) == 2  # the uncached run and the cold one
    assert len(entries(Path(".sqlripple_cache"))) == 1


def test_the_cache_directory_is_tagged_and_ignored_by_git(chat: Path) -> None:
    run("check", "chat")
    directory = Path(".sqlripple_cache")
    assert directory.joinpath(".gitignore").read_text().splitlines()[-1] == "*"
    tag = directory.joinpath("CACHEDIR.TAG").read_text()
    assert tag.startswith("Signature: 8a477f597d28d172789f06886806bc55\n")


def test_a_changed_file_is_analysed_again(chat: Path, analyses: list[tuple[str, ...]]) -> None:
    first = run("check", "chat", "--format", "json")
    triggers = chat / "04-triggers.sql"
    triggers.write_text(triggers.read_text() + "\n-- a comment changes nothing but bytes\n")
    second = run("check", "chat", "--format", "json")
    assert len(analyses) == 2
    assert second == first  # same findings: a comment at the end moves nothing
    (chat / "04-triggers.sql").write_text("")  # no triggers: only the FK cascade is left
    third = run("check", "chat", "--format", "json")
    assert len(analyses) == 3
    assert json.loads(third[1])["findings"] == []  # FK actions alone are not amplification
    assert third == run("check", "chat", "--format", "json", "--no-cache")
    assert len(entries(Path(".sqlripple_cache"))) == 3


def test_a_new_or_removed_file_is_a_new_run(chat: Path, analyses: list[tuple[str, ...]]) -> None:
    run("check", "chat")
    (chat / "07-more.sql").write_text("CREATE TABLE more (id int PRIMARY KEY);\n")
    summary = json.loads(run("check", "chat", "--format", "json")[1])["summary"]
    assert summary["files"] == 7
    (chat / "07-more.sql").unlink()
    run("check", "chat")
    assert len(analyses) == 2  # the third run is the first one again: a hit


@pytest.mark.parametrize(
    "args",
    [
        ("--select", "analytics-inflation"),
        ("--ignore", "RP1"),
        ("--fail-on", "never"),
        ("--format", "json"),
        ("--show-suppressed",),
    ],
)
def test_options_that_change_the_output_are_keyed(
    chat: Path, analyses: list[tuple[str, ...]], args: tuple[str, ...]
) -> None:
    plain = run("check", "chat")
    other = run("check", "chat", *args)
    assert len(analyses) == 2
    assert other == run("check", "chat", *args, "--no-cache")
    assert run("check", "chat") == plain
    assert len(analyses) == 3  # only the --no-cache run analysed again


def test_settings_file_and_baseline_content_are_keyed(
    chat: Path, analyses: list[tuple[str, ...]]
) -> None:
    assert run("check", "chat", "--write-baseline", "base.json")[0] == 0
    assert len(analyses) == 1  # --write-baseline is never served from the cache
    assert run("check", "chat", "--baseline", "base.json")[0] == 0
    Path("base.json").write_text('{"schema_version": 1, "tool": "sqlripple", "findings": []}')
    code, _, _ = run("check", "chat", "--baseline", "base.json")
    assert code == 1  # every finding is new again
    Path("sqlripple.toml").write_text('fail_on = "never"\n')
    assert run("check", "chat", "--baseline", "base.json")[0] == 0
    assert len(analyses) == 4


def test_the_environment_is_keyed(
    chat: Path, analyses: list[tuple[str, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    run("check", "chat")
    changed = (*cache_module.environment(), ("sqlglot", "99.0.0"))
    monkeypatch.setattr(cache_module, "environment", lambda: changed)
    run("check", "chat")
    assert len(analyses) == 2


def test_the_environment_names_what_results_depend_on() -> None:
    labels = [label for label, _ in cache_module.environment()]
    assert labels == ["layout", "python", "sqlripple", "sqlglot", "sqlglotc", "networkx", "code"]


def test_no_cache_and_the_settings_key_leave_no_directory(chat: Path) -> None:
    run("check", "chat", "--no-cache")
    assert not Path(".sqlripple_cache").exists()
    Path("sqlripple.toml").write_text("cache = false\n")
    run("check", "chat")
    assert not Path(".sqlripple_cache").exists()
    Path("sqlripple.toml").write_text('cache = "no"\n')
    assert run("check", "chat")[2] == (
        "sqlripple: sqlripple.toml: cache: must be true or false, not a string\n"
    )


def test_the_directory_can_be_chosen(chat: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run("check", "chat", "--cache-dir", "elsewhere/cache")
    assert len(entries(Path("elsewhere/cache"))) == 1
    monkeypatch.setenv("SQLRIPPLE_CACHE_DIR", "from-env")
    run("check", "chat")
    assert len(entries(Path("from-env"))) == 1
    assert not Path(".sqlripple_cache").exists()


def damage(entry: Path, how: str) -> None:
    data = entry.read_bytes()
    if how == "truncated":
        entry.write_bytes(data[: len(data) // 2])
    elif how == "empty":
        entry.write_bytes(b"")
    elif how == "flipped":  # still valid JSON, a different report: the digest catches it
        entry.write_bytes(data.replace(b"chat_messages", b"chat_massages", 1))
    else:
        entry.write_bytes(b"\x00garbage")
    assert entry.read_bytes() != data


@pytest.mark.parametrize("how", ["truncated", "empty", "flipped", "garbage"])
def test_a_damaged_entry_is_ignored_and_rewritten(
    chat: Path, analyses: list[tuple[str, ...]], how: str
) -> None:
    expected = run("check", "chat", "--format", "json")
    [entry] = entries(Path(".sqlripple_cache"))
    intact = entry.read_bytes()
    damage(entry, how)
    assert run("check", "chat", "--format", "json") == expected
    assert len(analyses) == 2
    assert entry.read_bytes() == intact
    assert run("check", "chat", "--format", "json") == expected
    assert len(analyses) == 2


def test_an_unwritable_directory_means_no_cache_and_one_diagnostic(
    chat: Path, analyses: list[tuple[str, ...]]
) -> None:
    Path("occupied").write_text("a file where the cache's parent should be\n")
    expected = run("check", "chat", "--format", "json", "--no-cache")
    code, out, err = run("check", "chat", "--format", "json", "--cache-dir", "occupied/cache")
    assert (code, out) == expected[:2]
    assert err == (
        "sqlripple: cache not written (occupied/cache: Not a directory); going on without\n"
    )
    assert len(analyses) == 2


def test_a_hit_writes_the_output_file_and_the_summary(chat: Path) -> None:
    cold = run("check", "chat", "--format", "sarif", "-o", "cold.sarif")
    warm = run("check", "chat", "--format", "sarif", "-o", "warm.sarif")
    assert warm == cold
    assert cold[2].startswith("11 findings (")
    assert Path("warm.sarif").read_bytes() == Path("cold.sarif").read_bytes()


def test_standard_input_is_never_cached(chat: Path) -> None:
    text = (chat / "02-tables.sql").read_text()
    from click.testing import CliRunner

    from analyzer.cli import cli

    result = CliRunner().invoke(cli, ["check", "-", "--format", "json"], input=text)
    assert json.loads(result.stdout)["summary"]["files"] == 1
    assert not Path(".sqlripple_cache").exists()


def test_concurrent_writers_never_expose_half_an_entry(tmp_path: Path) -> None:
    store = Cache(tmp_path / "shared")
    payloads = [bytes([65 + n]) * 200_000 for n in range(4)]
    seen: list[bytes | None] = []
    stop = threading.Event()

    def write(payload: bytes) -> None:
        for _ in range(25):
            store.put("check", "key", payload)

    def read() -> None:
        while not stop.is_set():
            seen.append(store.get("check", "key"))

    reader = threading.Thread(target=read)
    reader.start()
    writers = [threading.Thread(target=write, args=(p,)) for p in payloads]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    reader.join()
    assert store.problem is None
    assert {s for s in seen if s is not None} <= set(payloads)
    assert store.get("check", "key") in payloads
    assert [p.name for p in (tmp_path / "shared" / "check").iterdir()] == ["key"]


def test_two_processes_share_a_directory(chat: Path) -> None:
    command = [sys.executable, "-m", "analyzer", "check", "chat", "--format", "json"]
    env = {k: v for k, v in os.environ.items() if k != "SQLRIPPLE_NO_CACHE"}
    processes = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        for _ in range(3)
    ]
    results = [(p.wait(), *p.communicate()) for p in processes]
    assert [code for code, _, _ in results] == [1, 1, 1]
    assert [err for _, _, err in results] == [b"", b"", b""]
    assert len({out for _, out, _ in results}) == 1
    assert subprocess.run(command, capture_output=True, env=env).stdout == results[0][1]


def test_a_warm_run_imports_neither_sqlglot_nor_networkx(chat: Path) -> None:
    probe = (
        "import sys\n"
        "from analyzer.cli import main\n"
        "try:\n"
        "    main(['check', 'chat', '-o', 'out.txt'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in ('sqlglot', 'networkx', 'rich') if m in sys.modules))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "SQLRIPPLE_NO_CACHE"}
    env["PYTHONPATH"] = str(ROOT)
    cold = subprocess.run([sys.executable, "-c", probe], capture_output=True, env=env, text=True)
    warm = subprocess.run([sys.executable, "-c", probe], capture_output=True, env=env, text=True)
    assert cold.stdout.splitlines()[-1] == "['networkx', 'rich', 'sqlglot']"
    assert warm.stdout.splitlines()[-1] == "[]"


def test_the_least_recently_used_entries_are_pruned(tmp_path: Path) -> None:
    store = Cache(tmp_path)
    limit = cache_module.MAX_ENTRIES
    for n in range(limit):
        store.put("check", f"k{n:02d}", b"x")
        os.utime(tmp_path / "check" / f"k{n:02d}", (1000.0 + n, 1000.0 + n))
    leftover = tmp_path / "check" / ".k00.tmp"
    leftover.write_bytes(b"half an entry of a run that died")
    os.utime(leftover, (1000.0, 1000.0))
    assert store.get("check", "k00") == b"x"  # used: now the most recent
    store.put("check", "new", b"y")
    names = sorted(p.name for p in (tmp_path / "check").iterdir())
    assert len(names) == limit
    assert "k00" in names and "new" in names
    assert "k01" not in names  # the least recently used
    assert ".k00.tmp" not in names


def test_rule_plugins_are_keyed_by_their_installed_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    dist = site / "sqlripple_extra_rules-1.2.dist-info"
    dist.mkdir(parents=True)
    (dist / "entry_points.txt").write_text("[sqlripple.rules]\nextra = extra_rules\n")
    (dist / "RECORD").write_text("extra_rules/__init__.py,sha256=abc,120\n")
    other = site / "unrelated-1.0.dist-info"
    other.mkdir()
    (other / "entry_points.txt").write_text("[console_scripts]\nx = y:z\n")
    monkeypatch.syspath_prepend(str(site))
    cache_module._distributions.cache_clear()
    try:
        before = cache_module._plugin_code()
        assert [Path(entry[0]).name for entry in before] == [dist.name]
        (dist / "RECORD").write_text("extra_rules/__init__.py,sha256=def,121\n")
        assert cache_module._plugin_code() != before
    finally:
        cache_module._distributions.cache_clear()


def test_the_installed_libraries_are_found() -> None:
    found = dict(cache_module.environment())
    assert found["sqlglot"].startswith("sqlglot-")
    assert found["networkx"].startswith("networkx-")
    assert not found["sqlglot"].endswith(" absent")


def test_a_file_changed_during_the_run_is_not_stored(
    chat: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = analysis.analyze

    def edited_meanwhile(paths: Any, config: Any = None, jobs: int = 1) -> Any:
        result = real(paths, config, jobs)
        (chat / "06-seed.sql").write_text("-- saved by an editor while the run went on\n")
        return result

    monkeypatch.setattr(analysis, "analyze", edited_meanwhile)
    run("check", "chat")
    assert entries(Path(".sqlripple_cache")) == []
    monkeypatch.setattr(analysis, "analyze", real)
    run("check", "chat")
    assert len(entries(Path(".sqlripple_cache"))) == 1


def test_entries_follow_the_umask_like_any_file_the_user_creates(tmp_path: Path) -> None:
    previous = os.umask(0o027)
    cache_module._umask.cache_clear()
    try:
        Cache(tmp_path).put("check", "key", b"payload")
    finally:
        os.umask(previous)
        cache_module._umask.cache_clear()
    assert (tmp_path / "check" / "key").stat().st_mode & 0o777 == 0o640
    assert (tmp_path / ".gitignore").stat().st_mode & 0o777 == 0o640
