"""The offline commands, run as a user would."""
from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from tests.factories import COMPLAINT_SV, by_time, cascade, chatter

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, stdin: bytes | None = None, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "streams.cli", *args], cwd=ROOT, input=stdin,
                          capture_output=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "VIRALITY_BRANDS": "sj=SJ,@SJ_AB", **env})


def write(path: Path, events) -> None:
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))


def test_detect_finds_the_viral_complaint_and_reports_rejects(tmp_path: Path) -> None:
    events = by_time(cascade("c", COMPLAINT_SV, "sv", 1200, brands=["sj"]) + chatter(10))
    src = tmp_path / "in.jsonl"
    write(src, list(reversed(events)))                      # detect orders by event time itself
    with open(src, "ab") as f:
        f.write(b"not json\n" + orjson.dumps({"id": "x", "kind": "share"}) + b"\n")
    out, rej = tmp_path / "alerts.jsonl", tmp_path / "rejects.jsonl"
    r = run("detect", "--input", str(src), "--output", str(out), "--rejects", str(rej))
    assert r.returncode == 0, r.stderr
    alerts = [orjson.loads(line) for line in out.read_text().splitlines()]
    assert [a["alert_id"] for a in alerts if a["state"] == "open"] == ["viral_complaint:c:1"]
    rejects = sorted((orjson.loads(line) for line in rej.read_text().splitlines()), key=lambda d: d["reason"])
    assert [d["reason"] for d in rejects] == ["malformed_json", "missing_field"]
    # the lines themselves, to fix and run again (only their numbers were written before)
    assert [(d["line"], d["value"], d["value_encoding"]) for d in rejects] == [
        (len(events) + 1, "not json", "utf-8"), (len(events) + 2, '{"id":"x","kind":"share"}', "utf-8")]
    assert b"2 rejected" in r.stderr and b"events in" in r.stderr


def test_classify_prints_the_contract_fields() -> None:
    lines = b"\n".join(orjson.dumps(x) for x in [
        {"id": 1, "text": "Tåget är försenat igen, ingen information, värdelöst!"},
        {"id": 2, "text": "Tusen takk for fantastisk service!", "lang": "nb"},
        {"id": 3, "text": ""}]) + b"\n"
    r = run("classify", "--input", "-", stdin=lines)
    assert r.returncode == 0, r.stderr
    rows = [orjson.loads(line) for line in r.stdout.decode().splitlines()]
    assert [row["id"] for row in rows] == [1, 2, 3]
    assert rows[0]["lang"] == "sv" and rows[0]["kind"] == "complaint" and rows[0]["sentiment"] < 0
    assert rows[1]["lang"] == "no" and rows[1]["label"] == "positive"
    for row in rows:
        assert set(row) >= {"id", "lang", "sentiment", "label", "complaint", "kind"}
        assert -1 <= row["sentiment"] <= 1 and 0 <= row["complaint"] <= 1


def test_classify_and_detect_hand_a_batching_analyzer_many_texts_per_call(tmp_path: Path) -> None:
    # tests.fakes.BatchOnlyAnalyzer fails on single texts: the commands must use analyze_many
    texts = [{"id": i, "text": t, "lang": lang} for i, (t, lang) in enumerate(
        [("Tåget är försenat igen, värdelöst!", "sv"), ("Tusen takk for hjelpen!", None), ("ok", "xx")] * 900)]
    texts_file = tmp_path / "texts.jsonl"   # a file: from a pipe, batches end where input pauses
    texts_file.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in texts) + b"not json\n")
    log = tmp_path / "batches.txt"
    plain = run("classify", "--input", str(texts_file))
    batched = run("classify", "--input", str(texts_file), VIRALITY_ANALYZER="tests.fakes:BatchOnlyAnalyzer",
                  VIRALITY_TEST_BATCH_LOG=str(log))
    assert batched.returncode == plain.returncode == 0, batched.stderr
    assert batched.stdout == plain.stdout and len(batched.stdout.splitlines()) == 2700
    assert [int(n) for n in log.read_text().split()] == [1000, 1000, 700]

    events = by_time(cascade("c", COMPLAINT_SV, "sv", 1200, brands=["sj"]) + chatter(10))
    src = tmp_path / "in.jsonl"
    write(src, events)
    outs = []
    for name, env in (("plain", {}), ("batched", {"VIRALITY_ANALYZER": "tests.fakes:BatchOnlyAnalyzer"})):
        out = tmp_path / f"{name}.jsonl"
        r = run("detect", "--input", str(src), "--output", str(out), **env)
        assert r.returncode == 0, r.stderr
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] and b"viral_complaint" in outs[0]


def test_forecast_uses_only_what_was_seen_by_each_time(tmp_path: Path) -> None:
    events = cascade("c", COMPLAINT_SV, "sv", 800)
    src = tmp_path / "in.jsonl"
    write(src, events)
    r = run("forecast", "--input", str(src), "--at", "300,600,3600")
    assert r.returncode == 0, r.stderr
    rows = [orjson.loads(line) for line in r.stdout.decode().splitlines()]
    assert [row["at"] for row in rows] == [300, 600, 3600]
    t0 = events[0]["created_at"]
    for row in rows:
        seen = sum(1 for e in events[1:] if (e["created_at"] - t0) / 1000 <= row["at"])
        assert row["shares_seen"] == seen and row["root_id"] == "c"
        assert row["low"] <= row["forecast"] <= row["high"] and row["forecast"] >= seen
    assert rows[0]["shares_seen"] < rows[2]["shares_seen"]


def test_forecast_of_a_cascade_without_its_post_agrees_with_detect(tmp_path: Path) -> None:
    """A file without the cascade's post: forecast counted a made-up post that the stream's chain
    (and so detect) does not, and their figures differed (655.6 against 655.0)."""
    events = cascade("c", COMPLAINT_SV, "sv", 1200, brands=["sj"], reply_every=5)[1:]
    src = tmp_path / "in.jsonl"
    write(src, events)
    r = run("detect", "--input", str(src))
    assert r.returncode == 0, r.stderr
    alerts = [orjson.loads(line) for line in r.stdout.decode().splitlines()]
    alerts = [a for a in alerts if a["root_id"] == "c" and a["predicted_final_shares"] is not None]
    assert alerts
    t0 = events[0]["created_at"]                 # no post: the cascade starts at its first share
    at = [(a["detected_at_ms"] - t0) / 1000 for a in alerts]
    f = run("forecast", "--input", str(src), "--at", ",".join(map(str, at)))
    assert f.returncode == 0, f.stderr
    rows = {row["at"]: row for row in map(orjson.loads, f.stdout.decode().splitlines())}
    for a, t in zip(alerts, at):
        assert rows[t]["forecast"] == a["predicted_final_shares"] and rows[t]["shares_seen"] == a["shares"]
    few = tmp_path / "few.jsonl"
    write(few, events[:4])
    r = run("forecast", "--input", str(few), "--at", "3600")
    row = orjson.loads(r.stdout)
    assert row["forecast"] is None and "(4 of 5" in row["note"]


def test_bad_broker_setting_is_a_clear_error() -> None:
    r = subprocess.run([sys.executable, "-m", "streams.cli", "topics"], cwd=ROOT, capture_output=True, text=True,
                       timeout=60, env={"PATH": "/usr/bin:/bin", "VIRALITY_PARTITIONS": "x"})
    assert r.returncode == 2 and "VIRALITY_PARTITIONS" in r.stderr and "Traceback" not in r.stderr


def test_bad_paths_and_arguments_are_clear_errors_not_tracebacks(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    write(src, chatter(3))
    for args in (("detect", "--input", str(tmp_path)),                       # a directory
                 ("detect", "--input", str(src), "--output", str(tmp_path)),
                 ("detect", "--input", str(src), "--rejects", str(tmp_path)),
                 ("classify", "--input", str(tmp_path))):
        r = run(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert b"Traceback" not in r.stderr and b"Is a directory" in r.stderr, (args, r.stderr)
    for bad in ("0", "-1", "two"):
        r = run("detect", "--input", str(src), "--partitions", bad)
        assert r.returncode == 2 and b"--partitions" in r.stderr and b"Traceback" not in r.stderr
    for bad in ("-1", "nan", "fast"):                            # refused before Kafka is contacted
        for cmd in (("replay", str(src)), ("demo",)):
            r = run(*cmd, f"--speed={bad}")
            assert r.returncode == 2 and b"--speed" in r.stderr and b"Traceback" not in r.stderr, (cmd, bad)


def test_classify_names_lines_without_an_id() -> None:
    lines = b"\n".join(orjson.dumps(x) for x in [
        {"text": "Tack!"}, {"id": {"x": 1}, "text": "Tack!"}, {"id": "ok", "text": "Tack!"}]) + b"\n"
    r = run("classify", "--input", "-", stdin=lines)
    assert r.returncode == 0, r.stderr
    assert [orjson.loads(line)["id"] for line in r.stdout.decode().splitlines()] == ["ok"]
    assert b"line 1: missing_field: needs an 'id'" in r.stderr and b"line 2: wrong_type: needs an 'id'" in r.stderr


def test_tail_formats_alerts_and_refuses_what_is_not_one() -> None:
    import pytest

    from streams.cli import format_alert

    line = format_alert({"severity": "critical", "state": "escalated", "type": "viral_complaint",
                         "root_id": "c1", "brand": "sj", "reason": "fast", "root_text": "x" * 150})
    assert "ESCALATED" in line and "[sj]" in line and "..." in line
    for not_an_alert in (None, [], 5):
        with pytest.raises(TypeError):
            format_alert(not_an_alert)


def test_tail_formats_dead_letters_and_takes_the_topic_as_an_argument() -> None:
    from streams.cli import build_parser, format_record

    reject = {"reason": "wrong_type", "detail": "text must be a string", "topic": "posts", "partition": 2,
              "offset": 41, "timestamp_ms": 1, "key": "c1", "rejected_at_ms": 1_763_900_000_000,
              "value": '{"id": "x",\n "text": 5}', "value_encoding": "utf-8"}
    lines = format_record(reject).splitlines()
    assert lines[0].split()[1:] == ["2025-11-23T12:13:20.000Z", "REJECTED", "wrong_type", "posts[2]@41", "key='c1'"]
    assert lines[1].strip() == "text must be a string" and lines[2].strip() == '{"id": "x",  "text": 5}'
    raw = format_record({**reject, "value": "A" * 300, "value_encoding": "base64", "value_truncated": True})
    assert "(base64, truncated) " + "A" * 50 in raw and raw.endswith("...")
    # an alert that happens to carry a reason is still an alert
    assert "OPEN" in format_record({"state": "open", "type": "viral_complaint", "reason": "fast", "root_id": "c"})
    # an input event (tail posts) was shown as an empty alert, "? (en)" and a blank line
    event = format_record({"id": "r1", "kind": "reply", "root_id": "c", "created_at": 1_763_900_000_000,
                           "lang": "en", "text": "Still waiting\nfor my refund"})
    assert event.splitlines() == ["   2025-11-23T12:13:20.000Z  REPLY     r1 of c (en)", '      "Still waiting for my refund"']
    assert format_record([1, 2]) == "[1,2]"
    args = build_parser().parse_args(["tail", "posts.deadletter", "--from-beginning", "--max", "5"])
    assert (args.topic_name, args.from_beginning, args.max) == ("posts.deadletter", True, 5)


def test_detect_in_two_processes_gives_what_one_gives(tmp_path: Path) -> None:
    # one process analyses the texts ahead of the other; a text whose analysis fails is dead-lettered
    # as in one process (the main process tries it again and records why)
    events = by_time(cascade("c", COMPLAINT_SV, "sv", 1500, brands=["sj"]) + chatter(40))
    events.append({"id": "boom", "kind": "reply", "root_id": "c", "parent_id": "c", "text": "BOOM @SJ_AB",
                   "created_at": events[-1]["created_at"], "author": {"id": "b", "followers": 1}})
    src = tmp_path / "in.jsonl"
    write(src, events)
    with open(src, "ab") as f:
        f.write(b"not json\n")
    results = {}
    for jobs in ("1", "2"):
        out, rej, pids = tmp_path / f"a{jobs}.jsonl", tmp_path / f"r{jobs}.jsonl", tmp_path / f"p{jobs}.txt"
        r = run("detect", "--input", str(src), "--output", str(out), "--rejects", str(rej), "--jobs", jobs,
                VIRALITY_ANALYZER="tests.fakes:BoomAnalyzer", VIRALITY_TEST_PID_LOG=str(pids))
        assert r.returncode == 0, r.stderr
        assert f"{jobs} process(es)".encode() in r.stderr
        results[jobs] = (out.read_bytes(), rej.read_bytes(), len(set(pids.read_text().split())))
    assert results["1"][:2] == results["2"][:2]
    assert b"viral_complaint" in results["1"][0]
    reasons = sorted(orjson.loads(line)["reason"] for line in results["1"][1].splitlines())
    assert reasons == ["analysis_failed", "malformed_json"]
    assert results["1"][2] == 1 and results["2"][2] >= 2   # with 2, texts were analysed in another process


def test_detect_uses_a_second_process_only_where_it_pays(monkeypatch) -> None:
    from detectors.understanding import DefaultAnalyzer
    from streams import cli
    from streams.settings import Settings
    from tests.fakes import BatchOnlyAnalyzer, BoomAnalyzer

    def helpers(env):
        return Settings.from_env(env).text_helper_processes

    builtin = DefaultAnalyzer({})
    monkeypatch.setattr(cli.os, "cpu_count", lambda: 2)
    assert cli.detect_jobs(None, builtin, 200_000, helpers({})) == 2
    assert cli.detect_jobs(None, builtin, 5_000, helpers({})) == 1           # forking costs more than it saves
    plugged = {"VIRALITY_ANALYZER": "tests.fakes:BoomAnalyzer"}
    assert cli.detect_jobs(None, BoomAnalyzer({}), 200_000, helpers(plugged)) == 1  # a plugged-in model: only if asked
    assert cli.detect_jobs(None, BoomAnalyzer({}), 200_000,
                           helpers({**plugged, "VIRALITY_ANALYSIS_PROCESSES": "2"})) == 3  # asked: as the worker
    assert cli.detect_jobs(None, builtin, 200_000, helpers({"VIRALITY_ANALYSIS_PROCESSES": "0"})) == 1
    assert cli.detect_jobs(3, BoomAnalyzer({}), 10, 0) == 3
    assert cli.detect_jobs(2, BatchOnlyAnalyzer({}), 200_000, 1) == 1  # batches go to one model
    monkeypatch.setattr(cli.os, "cpu_count", lambda: 1)
    assert cli.detect_jobs(None, builtin, 200_000, helpers({})) == 1


def test_forecast_skips_duplicates_and_says_when_it_has_too_few_events(tmp_path: Path) -> None:
    events = cascade("c", COMPLAINT_SV, "sv", 60)
    src = tmp_path / "in.jsonl"
    # every share written three times (a producer that retries), and a line that is not JSON
    write(src, events[:1] + [e for e in events[1:] for _ in range(3)])
    with open(src, "ab") as f:
        f.write(b"not json\n")
    t0 = events[0]["created_at"]
    first = (events[1]["created_at"] - t0) / 1000
    fourth = (events[4]["created_at"] - t0) / 1000
    last = (events[-1]["created_at"] - t0) / 1000
    r = run("forecast", "--input", str(src), "--at", f"{first},{fourth},{last}")
    assert r.returncode == 0, r.stderr
    rows = [orjson.loads(line) for line in r.stdout.decode().splitlines()]
    assert [row["shares_seen"] for row in rows] == [1, 4, 60]          # not 3, 12, 180
    assert rows[0]["forecast"] is None and "too few events" in rows[0]["note"]
    assert rows[1]["forecast"] is not None and rows[1]["low"] >= 5    # post + 4 shares: from 5 on
    assert r.stderr.count(b": duplicate: ") == 120 and b"line 182: malformed_json" in r.stderr
    assert b"121 lines rejected" in r.stderr
    # the same cascade without the repeats gives the same forecasts
    clean = tmp_path / "clean.jsonl"
    write(clean, events)
    again = run("forecast", "--input", str(clean), "--at", f"{first},{fourth},{last}")
    assert again.stdout == r.stdout


def test_forecast_times_are_checked_and_a_file_with_no_event_fails(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    write(src, cascade("c", COMPLAINT_SV, "sv", 10))
    for bad in ("abc", ",", "-5", "nan", "inf", "1e20"):
        r = run("forecast", "--input", str(src), f"--at={bad}")
        assert r.returncode == 2 and b"--at" in r.stderr and b"Traceback" not in r.stderr, (bad, r.stderr)
    r = run("forecast", "--input", str(src), "--at", "600,300,300")
    assert [orjson.loads(line)["at"] for line in r.stdout.decode().splitlines()] == [300, 600]
    csv = tmp_path / "x.csv"
    csv.write_text("id,text\n1,hello\n")
    for cmd in ("forecast", "detect", "classify"):
        r = run(cmd, "--input", str(csv))
        assert r.returncode == 1 and b"no valid line" in r.stderr, (cmd, r.stderr)


def test_a_byte_order_mark_does_not_cost_the_first_line(tmp_path: Path) -> None:
    src = tmp_path / "bom.jsonl"
    src.write_bytes(b"\xef\xbb\xbf" + orjson.dumps({"id": "a", "text": "Tack!"}) + b"\r\n"
                    + orjson.dumps({"id": "b", "text": "Tack!"}) + b"\r\n")
    r = run("classify", "--input", str(src))
    assert r.returncode == 0 and r.stderr == b"classify: 2 texts classified, 0 lines rejected\n", r.stderr
    assert [orjson.loads(line)["id"] for line in r.stdout.decode().splitlines()] == ["a", "b"]
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    r = run("classify", "--input", str(empty))                # (it printed nothing at all)
    assert r.returncode == 0 and r.stderr == b"classify: 0 texts classified, 0 lines rejected\n", r.stderr


def test_classify_applies_the_event_limits() -> None:
    lines = b"\n".join(orjson.dumps(x) for x in [
        {"id": "", "text": "Tack!"}, {"id": "long", "text": "a" * 10_001}, {"id": "ok", "text": "a" * 10_000}])
    r = run("classify", "--input", "-", stdin=lines + b"\n")
    assert r.returncode == 0, r.stderr
    assert [orjson.loads(line)["id"] for line in r.stdout.decode().splitlines()] == ["ok"]
    # each with its reason, as the other commands say it (the limit's had none)
    assert b"line 1: missing_field: needs an 'id'" in r.stderr
    assert b"line 2: text_too_long: 'text' has 10,001 characters" in r.stderr


def test_a_reader_that_stops_early_is_not_an_error(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    write(src, [{"id": i, "text": "Tåget är försenat igen"} for i in range(20_000)])  # ~2 MB of output
    p = subprocess.Popen([sys.executable, "-m", "streams.cli", "classify", "--input", str(src)], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={"PATH": "/usr/bin:/bin"})
    assert orjson.loads(p.stdout.readline())["id"] == 0
    p.stdout.close()                                        # as `| head -1` does
    err = p.stderr.read()
    assert p.wait(timeout=120) == 0 and b"Broken pipe" not in err and b"Traceback" not in err, err


def test_an_analyzer_that_cannot_be_loaded_is_a_clear_error(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    write(src, [{"id": 1, "text": "Tack!"}])
    for spec, words in (("nope", b"must look like"), ("nope.mod:X", b"cannot import 'nope.mod'"),
                        ("tests.fakes:Nope", b"has no 'Nope'")):
        r = run("classify", "--input", str(src), VIRALITY_ANALYZER=spec)
        assert r.returncode == 2 and words in r.stderr and b"Traceback" not in r.stderr, (spec, r.stderr)


def test_detect_empties_no_earlier_output_when_a_path_is_wrong(tmp_path: Path) -> None:
    out, rej = tmp_path / "alerts.jsonl", tmp_path / "rejects.jsonl"
    out.write_text("earlier alerts\n")
    src = tmp_path / "in.jsonl"
    write(src, chatter(3))
    for args in (("--input", str(tmp_path / "missing.jsonl"), "--output", str(out)),
                 ("--input", str(src), "--output", str(out), "--rejects", str(tmp_path / "no" / "r.jsonl"))):
        r = run("detect", *args)
        assert r.returncode == 2 and b"No such file" in r.stderr, r.stderr
        assert out.read_text() == "earlier alerts\n"
    with open(src, "ab") as f:
        f.write(b"{broken\n")
    r = run("detect", "--input", str(src), "--output", str(out), "--rejects", str(rej))
    assert r.returncode == 0 and out.read_text() == ""                 # replaced once all is well
    last = len(src.read_bytes().splitlines())
    assert [orjson.loads(line)["line"] for line in rej.read_text().splitlines()] == [last]


def test_detect_refuses_to_write_over_its_input_and_writes_to_dev_null(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    write(src, by_time(cascade("sj1", COMPLAINT_SV, "sv", 600, brands=["sj"])))
    before = src.read_bytes()
    for args in (("--output", str(src)), ("--output", str(tmp_path / "a.jsonl"), "--rejects", str(tmp_path / "." / "in.jsonl")),
                 ("--output", str(tmp_path / "new.jsonl"), "--rejects", str(tmp_path / "new.jsonl"))):
        r = run("detect", "--input", str(src), *args)
        assert r.returncode == 2 and b"is the same file as" in r.stderr, (args, r.stderr)
        assert src.read_bytes() == before        # (it was emptied, and detect said "0 events", exit 0)
    # the input redirected from the same file
    with open(src, "rb") as stdin:
        r = subprocess.run([sys.executable, "-m", "streams.cli", "detect", "--input", "-", "--output", str(src)],
                           cwd=ROOT, stdin=stdin, capture_output=True, timeout=120, env={"PATH": "/usr/bin:/bin"})
    assert r.returncode == 2 and b"is the same file as --input -" in r.stderr, r.stderr
    assert src.read_bytes() == before
    # /dev/null is no regular file: written to, not truncated ("[Errno 22] Invalid argument" before)
    r = run("detect", "--input", str(src), "--output", "/dev/null", "--rejects", "/dev/null")
    assert r.returncode == 0, r.stderr
    assert b"601 events" in r.stderr   # the post and its 600 shares


def test_replay_names_invalid_lines_and_refuses_a_file_without_a_valid_one(tmp_path: Path) -> None:
    src = tmp_path / "wrong.jsonl"
    src.write_bytes(b'{"id": "x"}\n' + b"not json\n" * 24)
    # nothing listens at port 1: the file is refused before any connection
    r = run("replay", str(src), VIRALITY_BROKER="kafka://127.0.0.1:1")
    assert r.returncode == 1, r.stderr
    lines = r.stderr.decode().splitlines()
    assert lines[0] == "replay: line 1: missing_field: 'kind' is required", lines
    assert lines[1].startswith("replay: line 2: malformed_json: "), lines
    assert sum(line.startswith("replay: line ") for line in lines) == 20
    assert "replay: ... 5 more invalid lines not shown" in lines
    assert "no valid line in" in lines[-1] and "25 rejected" in lines[-1]
    assert b"Connect" not in r.stderr


def test_tail_without_a_broker_is_one_clear_error() -> None:
    r = run("tail", "--max", "1", VIRALITY_BROKER="kafka://127.0.0.1:1")     # nothing listens there
    assert r.returncode == 2 and b"no Kafka broker answers at 127.0.0.1:1" in r.stderr, r.stderr
    assert b"Unclosed" not in r.stderr and b"Traceback" not in r.stderr, r.stderr


def _readline_within(stream, seconds: float) -> bytes:
    """One line from ``stream``, or b"" if none came within ``seconds`` (the reader waits, not the test)."""
    import select
    ready, _, _ = select.select([stream], [], [], seconds)
    return stream.readline() if ready else b""


def classify_from_a_pipe() -> subprocess.Popen:
    """``virality classify --input -`` with its three streams as pipes, and Ctrl-C as in a terminal
    (under a shell's ``&``, as CI runs, SIGINT comes ignored, and Python then leaves it so)."""
    return subprocess.Popen([sys.executable, "-m", "streams.cli", "classify", "--input", "-"], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={"PATH": "/usr/bin:/bin"},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def test_classify_from_a_pipe_answers_each_line_as_it_comes() -> None:
    # `tail -f posts.jsonl | virality classify --input -`: an answer must not wait for the next
    # 1,000 lines (or the end of the input) when nothing more has arrived
    p = classify_from_a_pipe()
    try:
        p.stdin.write(b'{"id": "a", "text": "T\xc3\xa5get \xc3\xa4r f\xc3\xb6rsenat igen, v\xc3\xa4rdel\xc3\xb6st!"}\n')
        p.stdin.flush()
        first = _readline_within(p.stdout, 60)
        assert first and orjson.loads(first)["id"] == "a", first
        p.stdin.write(b"not json\n\n")                       # a rejected line, then a blank one
        p.stdin.write(b'{"id": "b", "text": "Tusen takk for hjelpen!"}\n{"id": "c", "text": "ok"}')
        p.stdin.flush()
        second = _readline_within(p.stdout, 60)
        assert second and orjson.loads(second)["id"] == "b", second
        p.stdin.close()                                      # "c" has no newline: read at the end
        rest, err = p.stdout.read(), p.stderr.read()
        assert p.wait(timeout=60) == 0
    finally:
        p.kill()
    assert [orjson.loads(line)["id"] for line in rest.splitlines()] == ["c"]
    assert b"line 2: " in err and b"2 texts classified" not in err and b"3 texts classified, 1 lines rejected" in err, err


def test_pipe_lines_give_the_file_lines_however_the_input_is_cut(tmp_path: Path) -> None:
    import os
    import random
    import threading

    from streams.cli import _pipe_lines, read_jsonl

    rnd = random.Random(7)
    data = b"\xef\xbb\xbf" + b"".join(rnd.choice([b"", b"  ", b'{"id": %d, "text": "x"}' % i, b"y" * 70_000]) + b"\n"
                                      for i in range(300)) + b'{"id": "last"}'
    src = tmp_path / "in.jsonl"
    src.write_bytes(data)
    expected = list(read_jsonl(str(src)))
    for seed in range(3):
        r, w = os.pipe()
        cuts = random.Random(seed)

        def feed() -> None:
            i = 0
            while i < len(data):
                n = cuts.choice([1, 7, 100, 4096, 100_000])
                os.write(w, data[i:i + n])
                i += n
            os.close(w)
        t = threading.Thread(target=feed)
        t.start()
        idle = [False]
        got = [(n, line) for n, line in _pipe_lines(r, idle) if line]
        t.join()
        os.close(r)
        assert got == expected and idle[0]


def test_classify_skips_events_without_text_and_names_what_is_wrong() -> None:
    """The README pipes the event stream into classify: its shares have no text, and each was
    reported as a rejected line ('needs a string 'text''; --strict failed on them). Plain text and
    JSON that is not an object get the reasons the other commands give."""
    lines = b"\n".join([
        orjson.dumps({"id": "p1", "kind": "post", "text": "Tack SJ, helt fantastiskt!"}),
        orjson.dumps({"id": "s1", "kind": "share", "root_id": "p1"}),
        orjson.dumps({"id": "s2", "kind": "share", "root_id": "p1", "text": None}),   # (the schema allows null)
        b"not json", b"[1, 2]", orjson.dumps({"id": "q", "text": 5})]) + b"\n"
    r = run("classify", "--input", "-", "--strict", stdin=lines)
    assert [orjson.loads(line)["id"] for line in r.stdout.decode().splitlines()] == ["p1"]
    err = r.stderr.decode()
    assert "line 4: malformed_json: not JSON: 'not json'" in err
    assert "line 5: not_an_object: a line is a JSON object with 'id' and 'text', got list" in err
    assert "line 6: wrong_type: 'text' must be a string, got int" in err
    assert "line 2" not in err and "line 3" not in err
    assert "1 texts classified, 3 lines rejected, 2 without text skipped" in err
    assert r.returncode == 1                                 # --strict: for the 3 rejected, not the shares
    shares_only = run("classify", "--input", "-", "--strict", stdin=lines.split(b"\n", 1)[1].split(b"not json")[0])
    assert shares_only.returncode == 0 and shares_only.stdout == b"", shares_only.stderr


def test_detect_counts_each_line_once_and_writes_rejects_to_stdout(tmp_path: Path) -> None:
    """A duplicate was counted as an event and as a reject (7 + 9 for 15 lines in a review), and
    '--rejects -' created a file named '-'."""
    post = {"id": "p", "kind": "post", "created_at": 1_767_261_600_000, "author": {"id": "a"}, "text": "Tack!"}
    share = {"id": "s", "kind": "share", "root_id": "p", "created_at": 1_767_261_601_000, "author": {"id": "b"}}
    src = tmp_path / "in.jsonl"
    write(src, [post, share, share])
    with open(src, "ab") as f:
        f.write(b"not json\n")
    r = subprocess.run([sys.executable, "-m", "streams.cli", "detect", "--input", str(src), "--output",
                        str(tmp_path / "alerts.jsonl"), "--rejects", "-"], cwd=tmp_path, capture_output=True,
                       env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}, timeout=120)
    assert r.returncode == 0, r.stderr
    assert b"detect: 2 events in" in r.stderr and b"2 rejected" in r.stderr, r.stderr
    assert sorted(orjson.loads(line)["reason"] for line in r.stdout.splitlines()) == ["duplicate", "malformed_json"]
    assert not (tmp_path / "-").exists()
    both = run("detect", "--input", str(src), "--rejects", "-")
    assert both.returncode == 2 and b"both name standard output" in both.stderr


def test_times_that_look_like_epoch_seconds_are_pointed_out(tmp_path: Path) -> None:
    """'created_at' numbers are epoch milliseconds: a file in seconds put 30 minutes of shares
    within 1.8 seconds of 1970, and forecast said nothing of it."""
    t0 = 1_767_261_600   # seconds
    events = [{"id": "p", "kind": "post", "created_at": t0, "author": {"id": "a"}, "text": "Tack!"}]
    events += [{"id": f"s{i}", "kind": "share", "root_id": "p", "created_at": t0 + 60 * i, "author": {"id": "b"}}
               for i in range(1, 31)]
    src = tmp_path / "secs.jsonl"
    write(src, events)
    r = run("forecast", "--input", str(src), "--at", "300")
    assert r.returncode == 0 and b"31 of 31 events are dated before 1973" in r.stderr, r.stderr
    assert b"multiply them by 1000" in r.stderr
    r = run("detect", "--input", str(src), "--output", str(tmp_path / "a.jsonl"))
    assert b"31 of 31 events are dated before 1973" in r.stderr, r.stderr
    for e in events:
        e["created_at"] *= 1000
    write(src, events)
    assert b"before 1973" not in run("forecast", "--input", str(src), "--at", "300").stderr


def test_worker_help_lists_every_setting() -> None:
    """The worker takes its settings from the environment; its --help showed no option at all."""
    from streams.settings import Settings

    r = run("worker", "--help")
    assert r.returncode == 0
    text = r.stdout.decode()
    names = {f"VIRALITY_{f.upper()}" for f in Settings.__dataclass_fields__}
    listed = {n for n in names if n in text}
    assert len(listed) >= 0.8 * len(names), sorted(names - listed)
    assert "VIRALITY_BROKER" in text and "VIRALITY_KAFKA_PASSWORD_FILE" in text


def test_waiting_for_a_broker_says_so_before_giving_up() -> None:
    """replay and topics sat silent for the whole 30 s before 'no Kafka broker answers'."""
    import asyncio
    import contextlib
    import io

    from aiokafka.errors import KafkaConnectionError

    from streams.settings import Settings
    from streams.topics import WAIT_NOTICE_S, ensure_topics

    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(KafkaConnectionError, match="no Kafka broker answers"):
        asyncio.run(ensure_topics(Settings.from_env({"VIRALITY_BROKER": "kafka://127.0.0.1:1"}),
                                  timeout=WAIT_NOTICE_S + 2))
    assert "no Kafka broker answers at 127.0.0.1:1 yet; trying for 5 s" in err.getvalue(), err.getvalue()


def test_worker_refuses_a_bad_analyzer_or_metrics_host_before_it_waits_for_kafka(tmp_path) -> None:
    """Before, the worker first waited 30 s for an unreachable broker (or created topics on a
    reachable one) and only then said that its analyzer could not be imported."""
    import time as _time

    for env, words in (({"VIRALITY_ANALYZER": "nosuch.module:X", "VIRALITY_METRICS_PORT": "0"}, "nosuch.module"),
                       ({"VIRALITY_METRICS_HOST": "nohost.invalid"}, "VIRALITY_METRICS_HOST='nohost.invalid' is not an address"),
                       # resolves, but is no address of this host (it said "another worker on this host?")
                       ({"VIRALITY_METRICS_HOST": "192.0.2.1"}, "VIRALITY_METRICS_HOST='192.0.2.1' is not an address")):
        t0 = _time.monotonic()
        r = run("worker", VIRALITY_BROKER="kafka://127.0.0.1:1", VIRALITY_DATA_DIR=str(tmp_path), **env)
        err = r.stderr.decode()
        assert r.returncode == 2 and words in err, err[-2000:]
        assert "Kafka" not in err and _time.monotonic() - t0 < 20, err[-2000:]


def test_a_rejected_line_over_128_kb_is_kept_as_its_start_in_base64() -> None:
    """As the dead-letter topic keeps it: a cut through a character is no UTF-8 text."""
    import base64

    from streams.cli import _reject_value
    from streams.deadletter import DEADLETTER_VALUE_BYTES as REJECT_VALUE_BYTES

    raw = ("å" * REJECT_VALUE_BYTES).encode()        # 2 bytes a character: the cut is inside the text
    kept = _reject_value(raw)
    assert (kept["value_encoding"], kept["value_truncated"], kept["value_bytes"]) == ("base64", True, len(raw))
    assert base64.b64decode(kept["value"]) == raw[:REJECT_VALUE_BYTES]


def test_detect_and_forecast_reject_events_from_the_future_as_the_worker_does(tmp_path: Path) -> None:
    """One share dated 2999 (a valid timestamp) after a viral cascade: detect took it, and its time
    resolved the alert as cooled down in 2999, which the worker, rejecting it, never does."""
    import time as _time

    events = by_time(cascade("c", COMPLAINT_SV, "sv", 400))
    ahead = {"id": "zz", "kind": "share", "root_id": "c", "created_at": "2999-12-31T00:00:00Z",
             "author": {"id": "u"}}
    soon = {"id": "zy", "kind": "share", "root_id": "c", "created_at": int(_time.time() * 1000) + 60_000,
            "author": {"id": "v"}}   # a minute ahead of this clock: within the worker's slack
    src, out, rej = tmp_path / "in.jsonl", tmp_path / "alerts.jsonl", tmp_path / "rejects.jsonl"
    write(src, events + [soon, ahead])
    r = run("detect", "--input", str(src), "--output", str(out), "--rejects", str(rej))
    assert r.returncode == 0, r.stderr
    rejects = [orjson.loads(line) for line in rej.read_text().splitlines()]
    assert [(d["reason"], d["line"]) for d in rejects] == [("from_the_future", len(events) + 2)]
    assert "after this command's clock" in rejects[0]["detail"]
    alerts = [orjson.loads(line) for line in out.read_text().splitlines()]
    assert alerts and not any(a["detected_at"].startswith("2999") for a in alerts)
    f = run("forecast", "--input", str(src), "--at", "60,600")
    assert f.returncode == 0, f.stderr
    assert f"line {len(events) + 2}: from_the_future: ".encode() in f.stderr
    assert b"1 lines rejected" in f.stderr


def test_a_line_too_long_to_hold_is_skipped_as_too_large_by_every_reader(tmp_path: Path) -> None:
    """A file with a 3 MB line (read whole, 300 MB of it took 675 MB in detect): rejected by its
    number and length, and the lines around it are read as usual, from a file and from a pipe."""
    events = by_time(cascade("c", COMPLAINT_SV, "sv", 30))
    long_line = b'{"id": "x", "text": "' + b"a" * 3_000_000 + b'"}'
    src = tmp_path / "in.jsonl"
    src.write_bytes(orjson.dumps(events[0]) + b"\n" + long_line + b"\n"
                    + b"".join(orjson.dumps(e) + b"\n" for e in events[1:]) + long_line)   # the last without \n
    n_lines = len(events) + 2
    r = run("detect", "--input", str(src), "--output", str(tmp_path / "a.jsonl"), "--rejects", "-")
    assert r.returncode == 0, r.stderr
    rejects = [orjson.loads(line) for line in r.stdout.splitlines()]
    assert [(d["line"], d["reason"]) for d in rejects] == [(2, "too_large"), (n_lines, "too_large")]
    assert f"{len(long_line):,} bytes".encode() in r.stdout
    f = run("forecast", "--input", str(src), "--at", "259200")
    said = f": too_large: the line has {len(long_line):,} bytes".encode()
    assert f.returncode == 0 and f.stderr.count(said) == 2, f.stderr
    assert orjson.loads(f.stdout.splitlines()[0])["shares_seen"] == len(events) - 1
    texts = tmp_path / "texts.jsonl"
    texts.write_bytes(b'{"id": 1, "text": "SJ ar sent igen"}\n' + long_line + b'\n{"id": 2, "text": "tack"}\n')
    for c in (run("classify", "--input", str(texts)), run("classify", "--input", "-", stdin=texts.read_bytes())):
        assert c.returncode == 0, c.stderr
        assert [orjson.loads(line)["id"] for line in c.stdout.splitlines()] == [1, 2]
        assert b"line 2" + said in c.stderr


@pytest.mark.parametrize("sig, code, said", [(signal.SIGTERM, 143, b"stopped (SIGTERM)"),
                                             (signal.SIGINT, 130, b"stopped (Ctrl-C)")])
def test_an_offline_command_stopped_by_a_signal_says_so(sig, code, said) -> None:
    """SIGTERM (kill, timeout, systemd) ended a command by Python's default action: exit -15, no
    word, and its ``finally`` blocks (text helpers, replay's count) never ran. Ctrl-C ended it
    with 130 and no word either."""
    p = classify_from_a_pipe()
    try:
        p.stdin.write(b'{"id": "a", "text": "Tusen takk for hjelpen!"}\n')
        p.stdin.flush()
        assert orjson.loads(_readline_within(p.stdout, 60))["id"] == "a"  # running, waiting for more
        p.send_signal(sig)
        assert p.wait(timeout=30) == code
        err = p.stderr.read()
    finally:
        p.kill()
    assert said in err and b"Traceback" not in err, err


def test_a_worker_stopped_while_it_starts_up_says_so_and_exits_0(tmp_path: Path) -> None:
    """A stop before Faust's worker handles signals (here: while it waits for an unreachable broker
    to create its topics) killed the worker by the signal with no word (exit -15)."""
    import socket
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = subprocess.Popen([sys.executable, "-m", "streams.cli", "worker"], cwd=ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env={"PATH": "/usr/bin:/bin", "VIRALITY_BROKER": "kafka://127.0.0.1:1",
                                                      "VIRALITY_DATA_DIR": str(tmp_path),
                                                      "VIRALITY_METRICS_PORT": str(port)})
    try:
        deadline = time.monotonic() + 60
        while True:   # its metrics are served just before it waits for the broker
            assert time.monotonic() < deadline and p.poll() is None, p.stderr.read()
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        time.sleep(0.5)
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=10) == 0
        err = p.stderr.read()
    finally:
        p.kill()
    assert b"worker: stopped by SIGTERM during start-up, before it read anything" in err, err
    assert b"Traceback" not in err and b"leaked semaphore" not in err, err


class PidAnalyzer:
    """Answers each text with the id of the process that analysed it (in ``brands``), after
    ``delay`` seconds, plus ``helper_delay`` in any process but ``main``; ``EXIT`` in a text ends a
    helper on the spot (as a kill would)."""

    def __init__(self, main: int, helper_delay: float = 0.0, delay: float = 0.0) -> None:
        self.main, self.helper_delay, self.delay = main, helper_delay, delay

    def analyze(self, text: str, lang_hint: str | None = None):
        from detectors.understanding import TextAnalysis

        if os.getpid() != self.main:
            if "EXIT" in text:
                os._exit(3)
            time.sleep(self.helper_delay)
        time.sleep(self.delay)
        return TextAnalysis(lang_hint or "und", 0.0, "neutral", float(len(text)), "other", (str(os.getpid()),))


def text_events(n: int, every: int = 3) -> list:
    """``n`` events, every ``every``-th one with a text of its own (the rest are shares)."""
    from detectors.events import Event

    return [Event(f"e{i}", "reply" if i % every == 0 else "share", "c", None, i, "u", None, None,
                  f"text {i}" if i % every == 0 else None, "en", (), None) for i in range(n)]


def strip_pids(batches) -> list:
    return [[a and a._replace(brands=()) for a in b] for b in batches]


@pytest.mark.parametrize("processes", [1, 2])
def test_texts_analysed_in_other_processes_are_the_ones_analysed_alone(processes) -> None:
    from detectors.chain import BATCH_EVENTS
    from detectors.understanding import analyze_each
    from streams import cli

    events = text_events(7 * BATCH_EVENTS + 321)
    analyzer = PidAnalyzer(os.getpid())
    alone = [analyze_each(analyzer, cli._batch_items(events, k)) for k in range(8)]
    got = list(cli.analyses_in_processes(analyzer, events, processes))
    assert strip_pids(got) == strip_pids(alone) and len(got) == 8
    assert len(got[-1]) == 321 and got[0][1] is None and got[0][3].complaint == len("text 3")
    helpers = {a.brands[0] for b in got for a in b if a} - {str(os.getpid())}
    assert helpers, "no batch was analysed by a helper"
    assert not multiprocessing.active_children()


def test_the_caller_analyses_batches_itself_while_a_slow_helper_works() -> None:
    # the helpers are slower than the caller here: the caller takes batches too, and no batch is
    # analysed twice or left out
    from detectors.chain import BATCH_EVENTS
    from streams import cli

    events = text_events(12 * BATCH_EVENTS, every=100)
    got = list(cli.analyses_in_processes(PidAnalyzer(os.getpid(), helper_delay=0.002), events, 1))
    by = [{a.brands[0] for a in b if a} for b in got]
    assert all(len(s) == 1 for s in by)   # each batch by one process
    mine = sum(s == {str(os.getpid())} for s in by)
    assert 0 < mine < 12, by


@pytest.mark.parametrize("processes", [1, 2])
def test_a_helper_that_dies_costs_no_analysis(processes) -> None:
    from detectors.chain import BATCH_EVENTS
    from detectors.understanding import analyze_each
    from streams import cli

    events = text_events(6 * BATCH_EVENTS)
    events[3].text = "EXIT now"   # batch 0 is always a helper's: it dies on it
    analyzer = PidAnalyzer(os.getpid(), helper_delay=0.0005)
    got = list(cli.analyses_in_processes(analyzer, events, processes))
    alone = [analyze_each(analyzer, cli._batch_items(events, k)) for k in range(6)]
    assert strip_pids(got) == strip_pids(alone)
    assert got[0][3].brands == (str(os.getpid()),)   # the batch the helper held: analysed here
    assert not multiprocessing.active_children()


def test_a_caller_that_stops_reading_stops_the_helpers() -> None:
    from detectors.chain import BATCH_EVENTS
    from streams import cli

    analyses = cli.analyses_in_processes(PidAnalyzer(os.getpid(), delay=0.001),
                                         text_events(50 * BATCH_EVENTS), 2)
    next(analyses)
    assert len(multiprocessing.active_children()) == 2
    analyses.close()
    assert not multiprocessing.active_children()


def children_of(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry))
    return out


def running(pid: int) -> bool:
    """Alive and not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_the_helpers_of_a_killed_detect_end_soon(tmp_path: Path) -> None:
    # Each helper holds no read end of any result pipe, so its next send fails once the main
    # process is gone; with one held (inherited at the fork), helpers waited on a full pipe for ever
    src = tmp_path / "in.jsonl"
    write(src, [{"id": f"p{i}", "kind": "post", "created_at": 1_763_000_000_000 + i * 1000,
                 "author": {"id": "a"}, "text": f"Tåget är sent igen {i}"} for i in range(30_000)])
    env = {"PATH": "/usr/bin:/bin", "VIRALITY_ANALYZER": "tests.fakes:PacedAnalyzer"}
    main = subprocess.Popen([sys.executable, "-m", "streams.cli", "detect", "--input", str(src), "--output",
                             str(tmp_path / "out.jsonl"), "--jobs", "3"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(helpers := children_of(main.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(helpers) == 2, "detect did not start its two helpers"
        time.sleep(1.5)   # the helpers are in the middle of their batches
    finally:
        main.kill()
        main.wait()
    deadline = time.monotonic() + 10
    while any(running(p) for p in helpers) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [p for p in helpers if running(p)]
    for p in left:
        os.kill(p, signal.SIGKILL)
    assert not left, "helpers outlived their detect by 10 s"


def test_a_normal_end_prints_no_traceback_from_helpers(tmp_path: Path) -> None:
    # helpers stopped at the end while still starting ran the main process's SIGTERM handler
    # (13 of 30 runs printed a traceback): signals wait until a helper has its own handlers
    src = tmp_path / "in.jsonl"
    write(src, [{"id": f"s{i}", "kind": "share", "root_id": "c", "created_at": 1_763_000_000_000 + i,
                 "author": {"id": "a"}} for i in range(3)])
    for _ in range(8):
        r = run("detect", "--input", str(src), "--output", str(tmp_path / "out.jsonl"), "--jobs", "5")
        assert r.returncode == 0 and b"Traceback" not in r.stderr, r.stderr.decode()


def test_a_helper_that_dies_holding_the_counter_costs_no_analysis(monkeypatch) -> None:
    from detectors.chain import BATCH_EVENTS
    from detectors.understanding import analyze_each
    from streams import cli

    main, real, calls = os.getpid(), cli._claim, [0]

    def claim(claimed, n_batches, only=None, holder=None, timeout=None):
        if os.getpid() != main:
            calls[0] += 1   # (each helper has its own copy of the list)
            if calls[0] == 2 and holder[1] == 0:   # helper 0, at its second batch:
                claimed.get_lock().acquire()
                os._exit(3)   # dies with the lock taken; the other helper then waits for it for ever
        return real(claimed, n_batches, only, holder, timeout)

    monkeypatch.setattr(cli, "_claim", claim)
    events = text_events(8 * BATCH_EVENTS)
    analyzer = PidAnalyzer(main, delay=0.0002)

    def watchdog(*_):
        raise TimeoutError("analyses_in_processes hung")

    old = signal.signal(signal.SIGALRM, watchdog)
    signal.alarm(60)
    try:
        got = list(cli.analyses_in_processes(analyzer, events, 2))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    alone = [analyze_each(analyzer, cli._batch_items(events, k)) for k in range(8)]
    assert strip_pids(got) == strip_pids(alone)
    assert not multiprocessing.active_children()
