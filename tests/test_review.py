"""The review app over HTTP: the token gate, path safety, saving, re-checking, concurrency."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import planted_seed_records
from starlette.testclient import TestClient

from structurer.review.app import cookie_name, create_app, login_path
from structurer.review.corrections import read_corrections
from structurer.review.server import running
from structurer.review.session import ReviewSession

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "fixtures" / "shanghai-2024"
TOKEN = "t0ken-for-tests"
PLANTED = "5800000.00"  # form 1's 年度资金申请总额 is 5900000.00 = 0 + 0 + 5900000.00

pytestmark = pytest.mark.skipif(not (SEED / "gold.jsonl").exists(), reason="seed gold missing")


def planted_records(folder: Path) -> Path:
    return planted_seed_records(folder, PLANTED)


@pytest.fixture
def records(tmp_path: Path) -> Path:
    return planted_records(tmp_path)


@pytest.fixture
def session(records: Path) -> ReviewSession:
    return ReviewSession(records, SEED / "source.md", reviewer="tester")


@pytest.fixture
def client(session: ReviewSession) -> TestClient:
    c = TestClient(create_app(session, TOKEN), base_url="http://127.0.0.1:8765")
    c.cookies.set(cookie_name(TOKEN), TOKEN)
    return c


def anonymous(session: ReviewSession) -> TestClient:
    return TestClient(create_app(session, TOKEN), base_url="http://127.0.0.1:8765")


# --- the token gate ---


@pytest.mark.parametrize(
    ("method", "url"),
    [("GET", "/"), ("GET", "/form/1"), ("GET", "/static/review.js"), ("POST", "/form/1/edit")],
)
def test_requests_without_the_token_are_refused(session, method, url) -> None:
    c = anonymous(session)
    assert c.request(method, url, json={}).status_code == 403
    assert c.request(method, url + "?token=wrong", json={}).status_code == 403
    c.cookies.set(cookie_name(TOKEN), "wrong")
    assert c.request(method, url, json={}).status_code == 403
    assert read_corrections(session.log.path) == []


def test_the_printed_link_signs_in_once_and_sets_a_cookie_so_plain_links_work(session) -> None:
    server = create_app(session, TOKEN)
    c = TestClient(server, base_url="http://127.0.0.1:8765")
    link = login_path(TOKEN)
    assert TOKEN not in link  # the token never goes into a URL (nor the browser's history)
    r = c.get(link, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert "httponly" in r.headers["set-cookie"].lower()
    assert c.get("/form/3").status_code == 200
    assert anonymous(session).get("/", headers={"X-Review-Token": TOKEN}).status_code == 200
    again = TestClient(server)  # the copy in the browser's history opens nothing
    assert again.get(link, follow_redirects=False).status_code == 403
    assert again.get("/").status_code == 403


def test_a_sign_in_link_is_made_only_with_the_token(session) -> None:
    nonce, mac = login_path(TOKEN).removeprefix("/login/").split(".")
    for forged in (f"/login/{nonce}.{'0' * len(mac)}", f"/login/{nonce}", "/login/", f"/login/x.{mac}",
                   login_path("another-token"), f"/?token={TOKEN}"):  # fmt: skip
        r = anonymous(session).get(forged, follow_redirects=False)
        assert r.status_code == 403, forged
        assert "set-cookie" not in r.headers


def test_each_sign_in_offers_a_fresh_link(session) -> None:
    offered: list[str] = []
    c = TestClient(create_app(session, TOKEN, on_login=offered.append))
    assert c.get(login_path(TOKEN), follow_redirects=False).status_code == 303
    (fresh,) = offered
    other = TestClient(create_app(session, TOKEN))  # a second browser can still sign in
    assert other.get(fresh, follow_redirects=False).status_code == 303


def test_a_foreign_origin_cannot_write_even_with_the_cookie(client, session) -> None:
    r = client.post(
        "/form/1/review", json={"reviewed": True}, headers={"Origin": "http://evil.example"}
    )
    assert r.status_code == 403
    assert read_corrections(session.log.path) == []


# --- path safety ---


@pytest.mark.parametrize(
    "url",
    [
        "/form/0",
        "/form/14",
        "/form/-1",
        "/form/1.5",
        "/form/..%2F..%2Fetc%2Fpasswd",
        "/form/%2Fetc%2Fpasswd",
        "/form/1%2F..%2F..%2Fseed.jsonl",
        "/form/..%2F",
        "/static/..%2F..%2Fsession.py",
        "/static/%2Fetc%2Fpasswd",
        "/seed.jsonl",
    ],
)
def test_paths_that_leave_the_data_are_refused(client, url) -> None:
    r = client.get(url)
    assert r.status_code in (400, 403, 404)
    assert "root:" not in r.text and "import" not in r.text


def test_writes_to_a_form_outside_the_records_are_refused(client, session, records) -> None:
    for url in ("/form/..%2F1/edit", "/form/99/edit", "/form/0/review"):
        r = client.post(url, json={"path": "project_name", "new": "x"})
        assert r.status_code == 404
    for path in ("meta", "source", "__class__", "indicators[99].name", "../project_name"):
        r = client.post("/form/1/edit", json={"path": path, "new": "x"})
        assert r.status_code == 400, path
    assert read_corrections(session.log.path) == []


def test_raw_dot_segments_sent_to_the_real_server_are_refused(session) -> None:
    import http.client

    with running(session, TOKEN) as base:
        port = int(base.rsplit(":", 1)[1])
        for raw in ("/form/../../etc/passwd", "/static/../../corrections.py", "//etc/passwd"):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", raw, headers={"X-Review-Token": TOKEN})  # sent as is
            resp = conn.getresponse()
            body = resp.read().decode("utf-8", "replace")
            conn.close()
            assert resp.status in (400, 404), raw
            assert "root:" not in body and "import" not in body


# --- pages ---


def test_list_puts_errors_first_with_counts(client) -> None:
    page = client.get("/").text
    rows = page.split('<tr class="row ')[1:]
    assert rows[0].startswith("st-errors") and "孵化基地运营及创业孵化服务支出" in rows[0]
    assert rows[1].startswith("st-warnings")  # form 11: its genuinely missing target
    assert "<b>1</b> 有错误" in page and "共 13 张表" in page


def test_form_page_shows_source_cells_and_findings_on_their_fields(client) -> None:
    page = client.get("/form/1").text
    assert 'data-line="9" data-col="1" class="text">孵化基地运营及创业孵化服务支出</td>' in page
    # the record's project name points at that source cell (found by its text: gold has no cells)
    assert 'data-path="project_name" data-old="孵化基地运营及创业孵化服务支出"' in page
    field = page.split('data-path="project_name"')[1].split(">")[0]
    assert 'data-line="9" data-col="1"' in field
    annual = page.split('id="f-funding.annual_total"')[1].split("</div>")[0]
    assert "funding.annual_identity" in annual


# --- saving ---


def test_an_edit_writes_a_correction_keeps_the_records_and_rechecks(client, session, records):
    before = records.read_bytes()
    r = client.post(
        "/form/1/edit",
        json={"path": "funding.annual_total", "old": PLANTED, "new": "5,900,000.00"},
    )
    assert r.status_code == 200
    assert "funding.annual_identity" not in r.text  # the finding is gone from the new pane
    assert records.read_bytes() == before  # the records file is never rewritten
    (c,) = read_corrections(session.log.path)
    assert (c.op, c.path, c.old, c.new) == ("set", "funding.annual_total", PLANTED, "5900000.00")
    assert c.form.project_name == "孵化基地运营及创业孵化服务支出" and c.reviewer == "tester"
    assert c.time.endswith("+00:00")
    page = client.get("/form/1").text  # a reload shows the fix
    assert 'value="5900000.00"' in page and "funding.annual_identity" not in page
    assert '<span class="badge st-errors">' not in client.get("/").text


def test_a_save_over_a_newer_value_is_a_conflict_not_a_silent_overwrite(client, session) -> None:
    assert (
        client.post(
            "/form/1/edit", json={"path": "overall_goal", "old": "", "new": "甲"}
        ).status_code
        == 200
    )
    r = client.post("/form/1/edit", json={"path": "overall_goal", "old": "", "new": "乙"})
    assert r.status_code == 409
    assert [c.new for c in read_corrections(session.log.path)] == ["甲"]


def test_bad_values_are_refused_with_the_reason(client, session) -> None:
    r = client.post("/form/1/edit", json={"path": "funding.prior_carryover", "new": "一百"})
    assert r.status_code == 400 and "not an amount" in r.json()["error"]
    assert read_corrections(session.log.path) == []


def test_target_edit_reparses_and_indicator_ops_add_remove_move(client, session) -> None:
    r = client.post(
        "/form/1/edit", json={"path": "indicators[4].target", "old": "≥90.00(%)", "new": "≥ 95 %"}
    )
    assert r.status_code == 200 and "≥ 95 %" in r.text
    assert client.post("/form/1/indicators", json={"op": "add", "seen": 5}).status_code == 200
    client.post("/form/1/indicators", json={"op": "move", "index": 5, "to": 0, "seen": 6})
    client.post("/form/1/indicators", json={"op": "remove", "index": 1, "seen": 6})
    stale = client.post("/form/1/indicators", json={"op": "remove", "index": 0, "seen": 6})
    assert stale.status_code == 409  # the reviewer saw 6 indicators, there are 5 now
    inds = session.state(1).record.indicators
    assert [i.name for i in inds][:2] == [None, "设备质量达标率"]
    assert (inds[-1].op, inds[-1].value, inds[-1].unit) == ("≥", "95", "%")
    assert inds[0].level1 == "满意度指标"  # a new row starts with the levels above it


def test_mark_reviewed_changes_the_status(client, session) -> None:
    assert client.post("/form/3/review", json={"reviewed": True}).status_code == 200
    assert session.state(3).status == "reviewed"
    rows = client.get("/").text.split('<tr class="row ')[1:]
    assert rows[-1].startswith("st-reviewed") and "国际孵化器活动及工作" in rows[-1]
    client.post("/form/3/review", json={"reviewed": False})
    assert session.state(3).status == "clean"


def test_next_and_previous_flagged_skip_clean_forms(session) -> None:
    assert session.neighbours(1) == (11, 11)
    assert session.neighbours(5) == (1, 11)


# --- two reviewers at once, over a real server ---


def _post(url: str, body: dict) -> int:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "X-Review-Token": TOKEN},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_two_reviewers_saving_at_once_lose_nothing(records) -> None:
    session = ReviewSession(records, SEED / "source.md")
    other = ReviewSession(records, SEED / "source.md")  # a second server on the same log
    saves = [
        ("annual_goal", 1),
        ("overall_goal", 1),
        ("funding.project_total", 2),
        ("funding.project_fiscal", 2),
    ] * 3
    with running(session, TOKEN) as a, running(other, TOKEN) as b:
        start = threading.Barrier(len(saves))
        codes: list[int] = []

        def save(k: int, path: str, form: int) -> None:
            value = "5900000" if path.startswith("funding") else f"goal {k}"
            base = (a, b)[k % 2]
            start.wait()
            codes.append(_post(f"{base}/form/{form}/edit", {"path": path, "new": value}))

        threads = [threading.Thread(target=save, args=(k, *s)) for k, s in enumerate(saves)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert codes == [200] * len(saves)
    got = read_corrections(session.log.path)
    goals = {c.new for c in got if c.path.endswith("goal")}
    assert goals == {f"goal {k}" for k, (p, _) in enumerate(saves) if p.endswith("goal")}
    state1, state2 = session.state(1).record, session.state(2).record
    assert state1.annual_goal and state1.overall_goal  # both fields of form 1 kept
    assert state2.funding.project_total == state2.funding.project_fiscal == "5900000"


# --- issue 16: cookies per server, headers, redirects, odd tokens, restarts ---


def test_two_servers_in_one_browser_keep_their_own_cookie(records) -> None:
    """Cookies are not scoped by port: with one cookie name, opening the second server logged
    the browser out of the first."""
    import http.cookiejar

    first = ReviewSession(records, SEED / "source.md")
    second = ReviewSession(records, SEED / "source.md")
    jar = http.cookiejar.CookieJar()  # one cookie jar, like one browser (it ignores ports too)
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with running(first, "token-a") as a, running(second, "token-b") as b:
        assert browser.open(a + login_path("token-a"), timeout=10).status == 200
        assert browser.open(b + login_path("token-b"), timeout=10).status == 200
        assert browser.open(f"{a}/form/1", timeout=10).status == 200  # still signed in at a
        assert browser.open(f"{b}/form/1", timeout=10).status == 200
    assert len(jar) == 2


@pytest.mark.parametrize("token", ["令牌", "t0ken-for-tests\u00e9"])
def test_a_non_ascii_token_is_refused_not_a_server_error(session, token) -> None:
    import http.client

    assert anonymous(session).get("/", params={"token": token}).status_code == 403
    with running(session, TOKEN) as base:
        port = int(base.rsplit(":", 1)[1])
        for header in ("Cookie", "X-Review-Token"):
            value = f"{cookie_name(TOKEN)}={token}" if header == "Cookie" else token
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.putrequest("GET", "/")
            conn.putheader(header, value.encode("utf-8"))  # raw bytes, as a client may send
            conn.endheaders()
            resp = conn.getresponse()
            resp.read()
            conn.close()
            assert resp.status == 403, header


@pytest.mark.parametrize("url", ["/", "/form/1", "/static/review.js", "/nowhere", "/?token=x"])
def test_every_response_forbids_framing_sniffing_and_foreign_scripts(client, url) -> None:
    r = client.get(url)
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp


def test_the_token_redirect_never_leaves_the_site(session) -> None:
    import http.client

    with running(session, TOKEN) as base:
        port = int(base.rsplit(":", 1)[1])
        for raw in ("//evil.example" + login_path(TOKEN), "///evil.example" + login_path(TOKEN),
                    login_path(TOKEN) + "//evil.example/", login_path(TOKEN)):  # fmt: skip
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", raw)  # sent as is
            resp = conn.getresponse()
            resp.read()
            conn.close()
            location = resp.getheader("location") or ""
            assert resp.status != 303 or (location.startswith("/") and location[1:2] != "/"), raw


def test_a_restarted_server_gets_its_port_back_at_once() -> None:
    """The last run's connections linger in TIME_WAIT; without SO_REUSEADDR the port stayed
    taken for a minute after Ctrl+C."""
    import socket

    from structurer.review.server import bind

    listener = bind(0)
    port = listener.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    served, _ = listener.accept()
    served.close()  # the server closes first: its side of the connection waits in TIME_WAIT
    client.close()
    listener.close()
    bind(port).close()  # the same port, right away


# --- issue 20: labels, language ---


def _label_of(page: str, path: str) -> str:
    return page.split(f'<label for="f-{path}">')[1].split("</label>")[0]


def test_each_funding_field_is_labelled_by_its_own_column(client) -> None:
    """当年财政拨款 was labelled 其中：财政资金, the whole-project column's label printed on the
    same row (the vocabulary lists 财政资金 for both fields)."""
    from structurer.vocab import default_vocabulary

    vocab = default_vocabulary()
    page = client.get("/form/1").text
    for path in ("funding.current_appropriation", "funding.project_fiscal",
                 "funding.annual_other", "funding.project_other", "funding.annual_total"):  # fmt: skip
        assert _label_of(page, path) == vocab.printed(path), path


def test_the_page_is_chinese_by_default_and_english_on_request(session) -> None:
    zh = TestClient(create_app(session, TOKEN), headers={"X-Review-Token": TOKEN})
    en = TestClient(create_app(session, TOKEN, lang="en"), headers={"X-Review-Token": TOKEN})
    page = zh.get("/form/1").text
    assert '<html lang="zh-CN">' in page and "标记为已审核" in page and "mark reviewed" not in page
    assert "不等于各分项之和" in page  # the finding's message, from the message table
    page = en.get("/form/1").text
    assert '<html lang="en">' in page and "mark reviewed" in page and "≠ sum of its parts" in page
    assert "有错误" in zh.get("/").text and "errors" in en.get("/").text


def test_the_review_command_refuses_an_unknown_language(records) -> None:
    from typer.testing import CliRunner

    from structurer.cli import app

    args = ["review", str(records), "-s", str(SEED / "source.md"), "--lang", "fr"]
    result = CliRunner().invoke(app, [*args, "--no-browser", "--port", "0"])
    assert result.exit_code == 2 and "unknown language" in result.output
