"""Unit tests for bench/tuning/plan.py: the settings files, the budget and the report of the tuning
benchmark (the benchmark itself runs real servers: bench/tuning/run.sh)."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PLAN = ROOT / "bench" / "tuning" / "plan.py"
NAMES = ("infra", "chat", "slides", "suite", "mail", "sheet")
MIB = 1024 ** 2


def plan(*args: str, stdin: str | None = None) -> str:
    result = subprocess.run([sys.executable, str(PLAN), *args], input=stdin, capture_output=True, text=True,
                            check=True)
    return result.stdout


def test_budget_is_the_memory_less_the_os_reserve():
    assert int(plan("budget", "12288")) == (12288 - 1536) * MIB
    assert int(plan("budget", "4096")) == (4096 - 512) * MIB


@pytest.mark.parametrize("config, shared_buffers, fits", [("ours", "448MB", True), ("standalone", "3GB", False)])
def test_conf_writes_six_files_and_their_committed_memory(tmp_path, config, shared_buffers, fits):
    lines = plan("conf", config, str(tmp_path), "12288", "2", "15").split()
    committed = dict(zip(lines[::2], map(int, lines[1::2])))
    assert set(committed) == set(NAMES)
    for name in NAMES:
        assert "shared_buffers = '%s'\n" % shared_buffers in (tmp_path / (name + ".conf")).read_text()
    assert (sum(committed.values()) <= (12288 - 1536) * MIB) is fits


def test_defaults_are_an_empty_settings_file(tmp_path):
    assert plan("conf", "defaults", str(tmp_path), "12288", "2", "15") == ""
    text = (tmp_path / "chat.conf").read_text()
    assert text.startswith("#") and "=" not in text


def test_estimate_of_live_default_values():
    # 128MB + 4MB wal_buffers + (100 + 8) x (4MB x 3 + 1MB) + 64MB + 3 x 64MB (autovacuum_work_mem -1)
    line = ("chat shared_buffers=128MB wal_buffers=4MB work_mem=4MB maintenance_work_mem=64MB "
            "autovacuum_work_mem=-1 max_connections=100 max_parallel_workers=8 autovacuum_max_workers=3 "
            "hash_mem_multiplier=2\n")
    assert plan("estimate", stdin=line).split() == ["chat", str((128 + 4 + 108 * 13 + 64 + 192) * MIB)]


def _work(tmp_path: pathlib.Path, ours_tps: float) -> pathlib.Path:
    runs, rounds, hits = [], [], []
    for rnd in ("1", "2", "3"):
        for config, tps in (("defaults", 1000.0), ("standalone", 1100.0), ("ours", ours_tps)):
            runs += ["%s\t%s\t%s\t%s\t%s" % (config, rnd, name, tps, 4.0) for name in NAMES]
            rounds.append("%s\t%s\t900\t95\t105\t4000\t0" % (config, rnd))
            hits.append("%s\t%s\t%s" % (config, rnd, "99.9" if config != "defaults" else "60.0"))
    (tmp_path / "runs.tsv").write_text("\n".join(runs) + "\n")
    (tmp_path / "rounds.tsv").write_text("\n".join(rounds) + "\n")
    (tmp_path / "hits.tsv").write_text("\n".join(hits) + "\n")
    return tmp_path


@pytest.mark.parametrize("ours_tps, verdict", [(1250.0, "1.25x the host TPS; target >= 1.20x: met"),
                                               (1100.0, "1.10x the host TPS; target >= 1.20x: NOT met")])
def test_report_ratio_and_verdict(tmp_path, ours_tps, verdict):
    out = plan("report", str(_work(tmp_path, ours_tps)), "12288", "2", "15", str(10752 * MIB))
    assert "**(c) vs (a): %s.**" % verdict in out
    assert "| (a) PostgreSQL defaults | 6000 | 6000-6000 |" in out
    assert "| 900 | 4000 | 0 | 60.0 | 95-105 |" in out
    assert "one memory cgroup limited to 10752 MiB" in out


def test_report_marks_a_failed_instance(tmp_path):
    work = _work(tmp_path, 1250.0)
    with open(work / "runs.tsv", "a", encoding="utf-8") as handle:
        handle.write("standalone\t4\tchat\tfailed\t-\tdid not start: out of memory\n")
    out = plan("report", str(work), "12288", "2", "15", "0")
    assert "round 4: chat did not start: out of memory" in out
    assert "no memory limit" in out
