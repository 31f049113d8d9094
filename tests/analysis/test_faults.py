"""Fault injection: bad files, path traversal, interrupted and concurrent applies, hung endpoints,
killed processes. Each probe must end in one line (or a clean refusal), never a traceback, a
silent wrong result, a half-applied tree or a write outside the tfvars root."""

from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from analysis import cli, fsutil, report, tfvars_io
from analysis.errors import EXIT_FAILURE, EXIT_USAGE, AnalysisError
from analysis.inventory import load_inventory, resource_to_dict
from analysis.model import Resource
from analysis.report import _code, _md
from analysis.rollout.plan import SCHEMA_VERSION
from analysis.run import proposals
from analysis.sources.aws import TIMEOUT_ENV, Connector, RegionHung
from stacks import tfvars as stack_tfvars

ENV = "staging"
COMPUTE = "compute-us-east-1"
CACHE = "cache-us-east-1"
COMPUTE_CHANGE = {"compute_desired_capacity": 2, "compute_min_size": 2}
CACHE_CHANGE = {"cache_num_shards": 1}


def one_line(text: str) -> str:
    """The single line a failure printed (asserts there was exactly one and no traceback)."""
    lines = [line for line in text.splitlines() if line.strip()]
    assert "Traceback" not in text
    assert len(lines) == 1, text
    return lines[0]


def run_cli(capsys, *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    return code, capsys.readouterr().err


# --- tfvars files with each defect ---------------------------------------------------------------
@pytest.fixture
def tree(tmp_path):
    """A tfvars root holding two committed override files."""
    root = tmp_path / "tfvars"
    (root / ENV).mkdir(parents=True)
    for stack in (COMPUTE, CACHE):
        (root / ENV / f"{stack}.auto.tfvars.json").write_text("{}\n")
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` (hidden ones included, the lock file not) -> its bytes."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != tfvars_io.LOCK_FILE
    }


@pytest.mark.parametrize(
    "content, says",
    [
        (b'{"compute_min_size": NaN}', "NaN"),
        (b'{"compute_min_size": Infinity}', "Infinity"),
        (b'{"compute_min_size": -Infinity}', "Infinity"),
        (b'{"compute_min_size": 1e400}', "overflows"),
        (b'{"compute_min_size": ' + b"9" * 5000 + b"}", "corrupt tfvars JSON"),
        (b'{"compute_instance_type": "\xff\xfe"}', "corrupt tfvars JSON"),
        (b'{"compute_min_size": 2', "corrupt tfvars JSON"),
        (b"[" * 100_000, "corrupt tfvars JSON"),
    ],
)
def test_corrupt_tfvars_is_one_line_naming_the_file(tree, content, says):
    path = tree / ENV / f"{COMPUTE}.auto.tfvars.json"
    path.write_bytes(content)
    before = snapshot(tree)
    with pytest.raises(AnalysisError) as e:
        tfvars_io.apply_all({path: COMPUTE_CHANGE})
    assert str(path) in str(e.value) and says in str(e.value) and "\n" not in str(e.value)
    assert snapshot(tree) == before


def test_oversized_tfvars_is_refused_without_reading_it_all(tree):
    path = tree / ENV / f"{COMPUTE}.auto.tfvars.json"
    with open(path, "wb") as f:
        f.truncate(200 << 20)  # 200 MB, sparse: the probe of the issue
    with pytest.raises(AnalysisError, match=f"{path}: larger than"):
        tfvars_io.read(path)


def test_duplicate_keys_are_refused(tree):
    path = tree / ENV / f"{COMPUTE}.auto.tfvars.json"
    path.write_text('{"compute_min_size": 2, "compute_min_size": 9}')
    with pytest.raises(AnalysisError, match="duplicate key 'compute_min_size'"):
        tfvars_io.read(path)


def test_synth_reads_overrides_as_strictly(tree):
    path = tree / ENV / f"{COMPUTE}.auto.tfvars.json"
    for content, says in (
        (b'{"compute_min_size": NaN}', "NaN"),
        (b'{"compute_min_size": 2, "compute_min_size": 9}', "duplicate key"),
        (b"\xff", "invalid JSON"),
    ):
        path.write_bytes(content)
        with pytest.raises(stack_tfvars.TfvarsError, match=says) as e:
            stack_tfvars.load_overrides(path, "compute", ENV)
        assert "\n" not in str(e.value)
    with open(path, "wb") as f:
        f.truncate(200 << 20)
    with pytest.raises(stack_tfvars.TfvarsError, match="larger than"):
        stack_tfvars.load_overrides(path, "compute", ENV)


def test_directory_in_place_of_a_tfvars_file_is_named(tree):
    path = tree / ENV / f"{COMPUTE}.auto.tfvars.json"
    path.unlink()
    path.mkdir()
    with pytest.raises(AnalysisError, match=f"cannot read {path}"):
        tfvars_io.apply_all({path: COMPUTE_CHANGE, tree / ENV / f"{CACHE}.auto.tfvars.json": CACHE_CHANGE})
    assert not (tree / ENV / tfvars_io.PREVIOUS_DIR / f"{CACHE}.auto.tfvars.json").exists()


# --- an apply is all or nothing -----------------------------------------------------------------
def test_apply_failing_mid_rename_puts_every_file_back(tree, monkeypatch):
    files = {
        tree / ENV / f"{COMPUTE}.auto.tfvars.json": COMPUTE_CHANGE,
        tree / ENV / f"{CACHE}.auto.tfvars.json": CACHE_CHANGE,
    }
    before = snapshot(tree)
    real_replace, calls = os.replace, []

    def failing_replace(src, dst):
        calls.append(dst)
        if len(calls) == 3:  # two renamed (a previous copy and a file), then the disk says no
            raise OSError(28, "No space left on device", str(dst))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(AnalysisError) as e:
        tfvars_io.apply_all(files)
    assert "No space left on device" in str(e.value) and str(e.value).endswith("nothing changed")
    monkeypatch.setattr(os, "replace", real_replace)
    assert snapshot(tree) == before  # files, previous copies and no temporary left behind


def test_unwritable_file_is_found_before_anything_is_written(tree):
    """A directory where a .previous copy must go: the check refuses before the first write."""
    blocker = tree / ENV / tfvars_io.PREVIOUS_DIR / f"{CACHE}.auto.tfvars.json"
    blocker.mkdir(parents=True)
    before = snapshot(tree)
    files = {
        tree / ENV / f"{COMPUTE}.auto.tfvars.json": COMPUTE_CHANGE,
        tree / ENV / f"{CACHE}.auto.tfvars.json": CACHE_CHANGE,
    }
    with pytest.raises(AnalysisError, match=f"cannot write {blocker}: .* not a regular file; nothing changed"):
        tfvars_io.apply_all(files)
    assert snapshot(tree) == before


@pytest.fixture
def immutable():
    """Mark files immutable (chattr +i: even root cannot write them); undone at teardown."""
    marked: list[Path] = []

    def mark(path: Path) -> None:
        if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
            pytest.skip("chattr +i is not available here (needs root and an ext4-like file system)")
        marked.append(path)

    yield mark
    for path in marked:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_an_immutable_file_in_the_middle_changes_nothing(tree, immutable):
    data = tree / ENV / "data-us-east-1.auto.tfvars.json"
    data.write_text("{}\n")
    immutable(tree / ENV / f"{CACHE}.auto.tfvars.json")  # sorted between compute and data
    before = snapshot(tree)
    files = {
        tree / ENV / f"{COMPUTE}.auto.tfvars.json": COMPUTE_CHANGE,
        tree / ENV / f"{CACHE}.auto.tfvars.json": CACHE_CHANGE,
        data: {"data_instance_class": "db.r6g.large"},
    }
    with pytest.raises(
        AnalysisError, match=f"cannot write {tree / ENV / CACHE}.*Operation not permitted.*nothing changed"
    ):
        tfvars_io.apply_all(files)
    assert snapshot(tree) == before


def test_a_second_apply_is_refused_while_one_holds_the_tree(tree):
    path = tree / ENV / f"{COMPUTE}.auto.tfvars.json"
    before = snapshot(tree)
    with fsutil.locked(tree / ENV / tfvars_io.PREVIOUS_DIR / tfvars_io.LOCK_FILE, "first run"):
        with pytest.raises(AnalysisError, match=rf"locked by another run \(pid {os.getpid()}.*nothing changed"):
            tfvars_io.apply_all({path: COMPUTE_CHANGE})
    assert snapshot(tree) == before
    assert tfvars_io.apply_all({path: COMPUTE_CHANGE})[0].changed  # the lock is gone with its holder


def test_concurrent_applies_from_two_processes_never_interleave(tree):
    """Two real processes apply different changes at once: one wins whole, the other is refused
    whole, and .previous/ holds the committed state, not the other run's proposal."""
    code = (
        "import sys; from pathlib import Path; from analysis import tfvars_io\n"
        "from analysis.errors import AnalysisError\n"
        "root = Path(sys.argv[1]); value = int(sys.argv[2])\n"
        "files = {root / f'{s}.auto.tfvars.json': {'compute_min_size': value} if s.startswith('compute') "
        "else {'cache_num_shards': value} for s in ('compute-us-east-1', 'cache-us-east-1')}\n"
        "try:\n    tfvars_io.apply_all(files); print('applied')\n"
        "except AnalysisError as e:\n    print(e)\n"
    )
    committed = snapshot(tree)
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(tree / ENV), str(v)], stdout=subprocess.PIPE, text=True)
        for v in (2, 3)
    ]
    outs = [p.communicate(timeout=60)[0].strip() for p in procs]
    winners = [v for v, out in zip((2, 3), outs) if out == "applied"]
    assert winners, outs
    assert all(out == "applied" or "locked by another run" in out for out in outs)
    final = json.loads((tree / ENV / f"{COMPUTE}.auto.tfvars.json").read_text())["compute_min_size"]
    assert final in winners  # when both won they ran one after the other, in either order
    assert json.loads((tree / ENV / f"{CACHE}.auto.tfvars.json").read_text())["cache_num_shards"] == final
    if len(winners) == 1:  # not serialised one after the other: .previous is the committed state
        for stack in (COMPUTE, CACHE):
            name = f"{stack}.auto.tfvars.json"
            assert (tree / ENV / tfvars_io.PREVIOUS_DIR / name).read_bytes() == committed[f"{ENV}/{name}"]


def test_apply_removes_temporaries_an_interrupted_run_left(tree):
    stale = [
        tree / ENV / f".{COMPUTE}.auto.tfvars.json.abc123.tmp",
        tree / ENV / tfvars_io.PREVIOUS_DIR / f".{CACHE}.auto.tfvars.json.def456.tmp",
    ]
    for p in stale:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text('{"half": ')
    tfvars_io.apply_all({tree / ENV / f"{COMPUTE}.auto.tfvars.json": COMPUTE_CHANGE})
    assert not any(p.exists() for p in stale)
    assert not list(tree.rglob("*.tmp"))


def test_guard_restore_is_one_transaction(tree, monkeypatch):
    files = {
        tree / ENV / f"{COMPUTE}.auto.tfvars.json": COMPUTE_CHANGE,
        tree / ENV / f"{CACHE}.auto.tfvars.json": CACHE_CHANGE,
    }
    tfvars_io.apply_all(files)
    applied = snapshot(tree)
    real_replace = os.replace

    def fail_second(src, dst):
        if str(dst).endswith(f"{CACHE}.auto.tfvars.json"):
            raise OSError(5, "Input/output error", str(dst))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", fail_second)
    with pytest.raises(AnalysisError, match="nothing changed"):
        tfvars_io.restore_all(files)
    monkeypatch.setattr(os, "replace", real_replace)
    assert snapshot(tree) == applied
    assert all(w.changed for w in tfvars_io.restore_all(files))
    assert all(json.loads(p.read_text()) == {} for p in files)


def test_report_directory_is_replaced_whole_and_other_state_kept(tmp_path):
    out = tmp_path / "reports" / ENV
    report.write(out, {"report.md": "first\n", f"tfvars/{ENV}/{COMPUTE}.auto.tfvars.json": "{}\n"})
    (out / "rollout" / "us-east-1").mkdir(parents=True)
    (out / "rollout" / "us-east-1" / "db.json").write_text('{"phase": "created"}\n')
    report.write(out, {"report.md": "second\n"})
    assert (out / "report.md").read_text() == "second\n"
    assert not (out / "tfvars").exists()  # the earlier run's proposal does not survive
    assert (out / "rollout" / "us-east-1" / "db.json").read_text() == '{"phase": "created"}\n'
    assert sorted(p.name for p in tmp_path.joinpath("reports").iterdir()) == [f".{ENV}.lock", ENV]  # no staging dir


def test_a_report_swap_killed_half_way_is_recovered(tmp_path):
    out = tmp_path / ENV
    report.write(out, {"report.md": "first\n"})
    out.rename(tmp_path / f".{ENV}.old.x1")  # killed between the two renames: only the old one exists
    (tmp_path / f".{ENV}.new.x1").mkdir()
    report.write(out, {"report.md": "second\n"})
    assert (out / "report.md").read_text() == "second\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [f".{ENV}.lock", ENV]


# --- nothing escapes the tfvars tree -----------------------------------------------------------
@pytest.mark.parametrize(
    "stack", ["../../outside/compute-us-east-1", "compute-us-east-1/../../x", "/etc/compute-us-east-1", "web-us-east-1"]
)
def test_stack_names_outside_the_contract_are_refused(tmp_path, stack):
    record = {
        "status": "emitted",
        "stack": stack,
        "rollout": "in-place",
        "changes": [{"tfvars_key": "compute_min_size", "proposed": 1}],
    }
    with pytest.raises(AnalysisError, match="refusing to write"):
        proposals([record], tmp_path / "tfvars", ENV)
    assert list(tmp_path.iterdir()) == []


def test_rollout_refuses_a_traversing_recommendation(tmp_path, capsys):
    outside = tmp_path / "outside"
    for stack, tfvars_file in (
        ("../../outside/compute-us-east-1", "tfvars/staging/../../outside/compute-us-east-1.auto.tfvars.json"),
        (COMPUTE, "../outside/compute-us-east-1.auto.tfvars.json"),
    ):
        rec = {
            "kind": "asg",
            "region": "us-east-1",
            "resource_id": "web",
            "status": "emitted",
            "stack": stack,
            "tfvars_file": tfvars_file,
            "rollout": "in-place",
            "risk": "low",
            "confidence": 0.9,
            "reason": "",
            "changes": [{"field": "min_size", "tfvars_key": "compute_min_size", "current": 3, "proposed": 2}],
        }
        recs = tmp_path / "recommendations.json"
        recs.write_text(json.dumps({"schema_version": SCHEMA_VERSION, "environment": ENV, "recommendations": [rec]}))
        code, err = run_cli(capsys, "rollout", "--recommendations", str(recs), "--root", str(tmp_path))
        assert code == EXIT_FAILURE, err
        assert "refusing" in one_line(err)
    assert not outside.exists() and not (tmp_path / "tfvars").exists()


@pytest.mark.parametrize("region, rid", [("us-east-1", "../../db"), ("../x", "db"), ("us-east-1", "db/x")])
def test_rollout_state_stays_in_its_directory(tmp_path, region, rid):
    from analysis.rollout.bluegreen import state_path

    with pytest.raises(AnalysisError, match="refusing rollout state"):
        state_path(tmp_path, region, rid)
    assert state_path(tmp_path, "us-east-1", "rightsize-staging-data-primary").parent == tmp_path / "us-east-1"


# --- inventories with each defect --------------------------------------------------------------
def good_resource(**over) -> dict:
    r = Resource(
        "asg",
        "us-east-1",
        "web",
        None,
        {"Tier": "compute"},
        {"instance_type": "c5.large", "desired_capacity": 2},
        COMPUTE,
    )
    return {**resource_to_dict(r), **over}


def inventory(tmp_path, resources, version=1) -> Path:
    path = tmp_path / "m.inventory.json"
    path.write_text(json.dumps({"version": version, "resources": resources}))
    return path


def test_a_valid_inventory_loads(tmp_path):
    assert [r.resource_id for r in load_inventory(inventory(tmp_path, [good_resource()]))] == ["web"]


@pytest.mark.parametrize(
    "resources, version, says",
    [
        ([good_resource(kind="ec2")], 1, "unknown kind 'ec2'"),
        ([good_resource(config={"desired_capacity": 2})], 1, "missing field 'instance_type'"),
        (
            [good_resource(config={"instance_type": "c5.large", "desired_capacity": "2"})],
            1,
            "desired_capacity: expected int",
        ),
        ([good_resource(config={"instance_type": "c5.large", "desired_capacity": True})], 1, "expected int, got bool"),
        ([good_resource(tags=[{"Key": "Tier", "Value": "compute"}])], 1, "tags: expected dict, got list"),
        ([good_resource(tags={"Tier": 3})], 1, "tags.Tier: expected a string"),
        ([good_resource(), good_resource()], 1, r"resources\[1\]: duplicate of resources\[0\]"),
        ([good_resource()], 999, "version 999"),
        ([good_resource(stack="../../outside/compute-us-east-1")], 1, "not a stack name"),
        ([good_resource(region="mars-1")], 1, "not a region name"),
        ([{k: v for k, v in good_resource().items() if k != "config"}], 1, "missing field 'config'"),
        ([good_resource(extra=1)], 1, "unknown field"),
        ([good_resource(account=123)], 1, "account: expected str"),
        ("all", 1, "resources: expected a list"),
    ],
)
def test_defective_inventory_is_one_line(tmp_path, resources, version, says):
    with pytest.raises(AnalysisError, match=says) as e:
        load_inventory(inventory(tmp_path, resources, version))
    assert "\n" not in str(e.value) and "m.inventory.json" in str(e.value)


@pytest.mark.parametrize(
    "raw", [b"\xff\xfe{}", b'{"version": NaN, "resources": []}', b'{"version": 1, "version": 2}', b"[]", b"{"]
)
def test_unreadable_inventory_is_one_line(tmp_path, raw):
    path = tmp_path / "m.inventory.json"
    path.write_bytes(raw)
    with pytest.raises(AnalysisError, match="not a valid inventory"):
        load_inventory(path)


def test_defective_inventory_through_the_cli(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = inventory(tmp_path, [good_resource(kind="ec2")])
    snap = tmp_path / "m.parquet"
    snap.write_bytes(b"")
    code, err = run_cli(
        capsys, "run", "--target", "aws", "--inventory", str(path), "--metrics-snapshot", str(snap), "--output", "out"
    )
    assert code == EXIT_FAILURE and "unknown kind 'ec2'" in one_line(err)


# --- output directories that cannot be written -------------------------------------------------
def test_output_checks_use_a_real_file(capsys, tmp_path, monkeypatch):
    assert fsutil.check_writable_dir("/proc/x") is not None  # os.access says yes to root here
    assert fsutil.check_writable_dir(tmp_path / "new" / "dir") is None
    code, err = run_cli(capsys, "run", "--output", "/proc/x")
    assert code == EXIT_USAGE and "--output /proc/x" in one_line(err)
    code, err = run_cli(capsys, "run", "--apply", "--output", str(tmp_path / "r"), "--tfvars-root", "/proc/x")
    assert code == EXIT_USAGE and "--apply" in one_line(err)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    code, err = run_cli(capsys, "collect", "--output", "/proc/x/m.parquet", "--endpoint-url", "http://127.0.0.1:9")
    assert code == EXIT_USAGE and "--output /proc/x/m.parquet" in one_line(err)


# --- report.md escapes what comes from tags and AWS ----------------------------------------------
def test_markdown_values_stay_text():
    assert _md("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert _md("[x](javascript:alert(1)) | *b*\n## h") == r"\[x\](javascript:alert(1)) \| \*b\* ## h"
    assert _code("a`b") == "``a`b``" and _code("`x") == "`` `x ``" and _code("a\nb") == "`a b`"


# --- a hung endpoint fails fast ----------------------------------------------------------------
STS_REPLY = b"""<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
<GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/t</Arn><UserId>AID</UserId>
<Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId>
</ResponseMetadata></GetCallerIdentityResponse>"""


@pytest.fixture
def hung_endpoint():
    """A local endpoint that answers STS GetCallerIdentity (unless told to hang it too) and never
    answers anything else; released at teardown."""
    release = threading.Event()
    state = {"sts": True}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if state["sts"] and b"Action=GetCallerIdentity" in body:
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(STS_REPLY)))
                self.end_headers()
                self.wfile.write(STS_REPLY)
                return
            release.wait(60)

        do_GET = do_POST

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", state
    release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def fake_credentials(monkeypatch):
    for k, v in (("AWS_ACCESS_KEY_ID", "x"), ("AWS_SECRET_ACCESS_KEY", "x"), (TIMEOUT_ENV, "1")):
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.mark.parametrize("sts_answers", [True, False])
def test_hung_regions_are_named_within_the_budget(hung_endpoint, fake_credentials, sts_answers):
    from analysis.inventory import discover

    url, state = hung_endpoint
    state["sts"] = sts_answers
    regions = ["us-east-1", "us-west-2", "eu-west-1"]
    started = time.monotonic()
    inv = discover(Connector(endpoint_url=url), regions)
    elapsed = time.monotonic() - started
    assert inv.unreachable_regions == regions and not inv.anything
    assert elapsed < 15, elapsed  # 1 s timeouts, budget 2, regions in parallel: ~2-4 s
    for region, line in zip(regions, inv.messages):
        assert line.startswith(f"{region}: region unreachable, skipped")
        if sts_answers:  # the call that hung is named with its service and region
            assert f"in {region} did not answer within 1 s" in line


def test_a_hung_region_stops_every_later_call_at_once(hung_endpoint, fake_credentials):
    url, _ = hung_endpoint
    conn = Connector(endpoint_url=url)
    ec2 = conn.client("ec2", "us-east-1")
    with pytest.raises(RegionHung, match="ec2 DescribeInstances in us-east-1"):
        ec2.describe_instances()
    started = time.monotonic()
    with pytest.raises(RegionHung):
        conn.client("rds", "us-east-1").describe_db_instances()
    assert time.monotonic() - started < 0.5
    assert conn.client("sts", "us-west-2").get_caller_identity()["Account"] == "123456789012"


def test_collect_against_a_hung_endpoint_is_one_error(hung_endpoint, fake_credentials, capsys, tmp_path):
    url, _ = hung_endpoint
    started = time.monotonic()
    code, err = run_cli(
        capsys, "collect", "--endpoint-url", url, "--regions", "us-east-1", "--output", str(tmp_path / "m.parquet")
    )
    assert time.monotonic() - started < 30
    assert code == EXIT_FAILURE
    assert "Traceback" not in err and "did not answer within 1 s" in err and "us-east-1" in err
    assert not (tmp_path / "m.parquet").exists()


def test_a_bad_timeout_setting_is_a_usage_error(monkeypatch):
    from analysis.errors import UsageError

    monkeypatch.setenv(TIMEOUT_ENV, "soon")
    with pytest.raises(UsageError, match=TIMEOUT_ENV):
        Connector().config("ec2")


# --- killed processes --------------------------------------------------------------------------
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_moto_server_dies_with_its_parent(how):
    code = (
        "import time; from analysis.sim import motoserver\n"
        "with motoserver.running() as url:\n    print(url, flush=True); time.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        url = parent.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=5).read()
        parent.send_signal(how)
        parent.wait(10)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=1).read()
            except OSError:
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"moto server at {url} outlived its parent ({how.name})")
    finally:
        parent.kill()
