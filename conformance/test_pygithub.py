"""PyGithub==2.10.0 against ferry's /api/v3 (github.md §4 "PyGithub", §7 "PyGithub").

Every HTTP exchange PyGithub makes is recorded (test name, method, URL, status, headers, body) to
$CONF_OUT_DIR/<backend>-pygithub-exchanges.jsonl; validate_recorded.mjs then checks each response
against GitHub's OpenAPI description.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import random
import string
import subprocess
import sys
import time
import traceback
import urllib.request

import github
from github import Auth, Github
from github.GithubException import (
    BadAttributeException,
    BadCredentialsException,
    GithubException,
    UnknownObjectException,
)
from github.Requester import Requester

SUITE = "pygithub"
BACKEND = os.environ.get("CONF_BACKEND", "local")
FERRY_URL = os.environ["FERRY_URL"].rstrip("/")
API = f"{FERRY_URL}/api/v3"
ADMIN_TOKEN = os.environ["FERRY_ADMIN_TOKEN"]
GIT_REPO = os.environ["CONF_GIT_REPO"]
OUT_DIR = os.environ.get("CONF_OUT_DIR", ".")
REPO = "o/py"
REPO_API = f"{API}/repos/{REPO}"

_PYGITHUB = importlib.metadata.version("PyGithub")
assert _PYGITHUB == "2.10.0", f"PyGithub 2.10.0 expected, found {_PYGITHUB}"

# ------------------------------------------------------------------ recording
_current = "(setup)"
_record = open(os.path.join(OUT_DIR, f"{BACKEND}-pygithub-exchanges.jsonl"), "w", encoding="utf-8")
_orig_log = Requester._Requester__log  # type: ignore[attr-defined]


def _log(self, verb, url, requestHeaders, input, status, responseHeaders, output):  # noqa: A002
    _record.write(
        json.dumps(
            {
                "test": _current,
                "method": verb,
                "url": url,
                "status": status,
                "headers": {k.lower(): v for k, v in dict(responseHeaders).items()},
                "body": output if isinstance(output, str) else None,
            }
        )
        + "\n"
    )
    _record.flush()
    return _orig_log(self, verb, url, requestHeaders, input, status, responseHeaders, output)


Requester._Requester__log = _log  # type: ignore[attr-defined]


# ------------------------------------------------------------------ harness
class Fail(Exception):
    pass


def eq(actual, expected, what=""):
    if actual != expected:
        raise Fail(f"{what + ': ' if what else ''}expected {expected!r}, got {actual!r}")


def ok(cond, what="assertion failed"):
    if not cond:
        raise Fail(what)


def raises(exc_type, fn, what=""):
    try:
        r = fn()
    except exc_type as e:
        return e
    except Exception as e:  # noqa: BLE001
        raise Fail(f"{what + ': ' if what else ''}expected {exc_type.__name__}, got {type(e).__name__}: {e}") from e
    raise Fail(f"{what + ': ' if what else ''}expected {exc_type.__name__}, got a result: {r!r}")


TESTS = []


def test(name):
    def deco(fn):
        TESTS.append((name, fn))
        return fn

    return deco


def rand():
    return "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(6))


def git_sha(ref):
    return subprocess.check_output(["git", "-C", GIT_REPO, "rev-parse", f"{ref}^{{commit}}"], text=True).strip()


def admin(method, path, body):
    req = urllib.request.Request(
        f"{FERRY_URL}{path}",
        method=method,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"token {ADMIN_TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"null")


def client(token, **kw):
    return Github(
        base_url=API,
        auth=Auth.Token(token),
        retry=None,
        seconds_between_requests=0,
        seconds_between_writes=0,
        **kw,
    )


# ------------------------------------------------------------------ setup
SHA = {}
try:
    admin("POST", "/api/v1/repos", {"full_name": REPO, "git_url": GIT_REPO, "default_branch": "main"})
    TOKEN = admin("POST", "/api/v1/tokens", {"name": "conformance-pygithub", "scopes": ["write"]})["token"]
    for ref in ["main", "topic", "v1"]:
        SHA[ref] = git_sha(ref)
    g = client(TOKEN)
    g2 = client(TOKEN, per_page=2)
    repo = g.get_repo(REPO)
    repo2 = g2.get_repo(REPO)
except Exception:  # noqa: BLE001
    print(f"FAIL [{SUITE}/{BACKEND}] setup")
    print("     " + traceback.format_exc().replace("\n", "\n     "))
    print(f"== {SUITE} ({BACKEND}): 0 passed, 1 failed, 0 skipped")
    with open(os.path.join(OUT_DIR, f"{BACKEND}-{SUITE}.counts"), "w") as f:
        f.write("0 1 0\n")
    sys.exit(1)


def latest_state(dep):
    sts = list(dep.get_statuses())
    return sts[0].state if sts else None


def ids(xs):
    return [x.id for x in xs]


# ------------------------------------------------------------------ repository, auth
@test("get_repo: repository and its API url")
def _():
    r = g.get_repo(REPO)
    eq(r.full_name, REPO)
    eq(r.url, REPO_API, "url (PyGithub builds later URLs from it)")
    eq(r.default_branch, "main")
    eq(r.owner.login, "o")
    eq(r.deployments_url, f"{REPO_API}/deployments")


@test("get_repo(lazy=True) works too")
def _():
    r = client(TOKEN, lazy=True).get_repo(REPO)
    lst = r.get_deployments(environment=f"nothing-{rand()}")
    eq(lst.totalCount, 0)


@test("unknown repository → UnknownObjectException")
def _():
    e = raises(UnknownObjectException, lambda: g.get_repo("o/no-such-repo"))
    eq(e.status, 404)


@test("bad token → BadCredentialsException")
def _():
    bad = client("definitely-not-a-token")
    e = raises(BadCredentialsException, lambda: bad.get_repo(REPO))
    eq(e.status, 401)


# ------------------------------------------------------------------ create
@test("create_deployment: dict payload, required_contexts=[]")
def _():
    payload = {"deploy": "web", "replicas": 3, "flags": {"migrate": True}}
    d = repo.create_deployment(ref="main", payload=payload, required_contexts=[], environment="py-create", description="from PyGithub")
    eq(d.payload, payload, "payload")
    eq(d.ref, "main")
    eq(d.sha, SHA["main"])
    eq(d.task, "deploy")
    eq(d.environment, "py-create")
    eq(d.original_environment, "py-create")
    eq(d.description, "from PyGithub")
    eq(d.production_environment, False)
    eq(d.transient_environment, False)
    eq(d.url, f"{REPO_API}/deployments/{d.id}")
    eq(d.statuses_url, f"{REPO_API}/deployments/{d.id}/statuses")
    eq(d.repository_url, REPO_API)
    ok(d.creator is not None and d.creator.login, "creator")
    ok(d.created_at is not None and d.created_at.tzinfo is not None, "created_at parses as an aware datetime")
    again = repo.get_deployment(d.id)
    eq(again.id, d.id)
    eq(again.payload, payload)


@test("create_deployment: all arguments")
def _():
    d = repo.create_deployment(
        ref="refs/heads/topic",
        task="deploy:migrations",
        auto_merge=False,
        required_contexts=[],
        payload={},
        environment="production",
        description="",
        transient_environment=False,
        production_environment=True,
    )
    eq(d.sha, SHA["topic"])
    eq(d.task, "deploy:migrations")
    eq(d.environment, "production")
    eq(d.production_environment, True)
    eq(d.payload, {})


@test("string payload (raw requester call): echoed as a string; PyGithub's object raises BadAttributeException")
def _():
    headers, data = repo._requester.requestJsonAndCheck(
        "POST",
        f"{repo.url}/deployments",
        input={"ref": "main", "payload": "plain string payload", "required_contexts": [], "environment": "py-str"},
    )
    eq(data["payload"], "plain string payload", "POST response payload")
    _, got = repo._requester.requestJsonAndCheck("GET", f"{repo.url}/deployments/{data['id']}")
    eq(got["payload"], "plain string payload", "GET payload")
    d = repo.get_deployment(data["id"])
    raises(BadAttributeException, lambda: d.payload, "reading .payload")


@test("unknown ref → GithubException 422 'No ref found for: <ref>'")
def _():
    e = raises(GithubException, lambda: repo.create_deployment(ref="py-no-such-ref", required_contexts=[]))
    eq(e.status, 422)
    eq(e.data.get("message"), "No ref found for: py-no-such-ref")


@test("get_deployment: unknown id → UnknownObjectException")
def _():
    e = raises(UnknownObjectException, lambda: repo.get_deployment(987654321))
    eq(e.status, 404)


# ------------------------------------------------------------------ statuses
@test("statuses: queued → pending → in_progress → success life cycle")
def _():
    d = repo.create_deployment(ref="main", required_contexts=[], environment=f"py-life-{rand()}")
    made = []
    for state, desc in [("queued", "queued"), ("pending", "waiting"), ("in_progress", "rolling out"), ("success", "done")]:
        s = d.create_status(state, target_url=f"https://ci.example.com/{state}", description=desc, environment_url="https://app.example.com")
        eq(s.state, state)
        eq(s.description, desc)
        eq(s.target_url, f"https://ci.example.com/{state}")
        eq(s.log_url, f"https://ci.example.com/{state}", "log_url = target_url when only target_url is given")
        eq(s.environment_url, "https://app.example.com")
        eq(s.environment, d.environment, "environment inherited")
        eq(s.deployment_url, d.url)
        eq(s.repository_url, REPO_API)
        eq(s.url, f"{d.url}/statuses/{s.id}")
        made.append(s)
    listed = list(d.get_statuses())
    eq(ids(listed), ids(made)[::-1], "get_statuses newest first")
    eq(listed[0].state, "success")


@test("statuses: error, failure, inactive are accepted")
def _():
    d = repo.create_deployment(ref="main", required_contexts=[], environment=f"py-st-{rand()}")
    for state in ["error", "failure", "inactive"]:
        eq(d.create_status(state).state, state)


@test("get_status: returns the status; unknown id → UnknownObjectException")
def _():
    d = repo.create_deployment(ref="main", required_contexts=[], environment=f"py-gs-{rand()}")
    s = d.create_status("in_progress", description="deploying")
    got = d.get_status(s.id)
    eq(got.id, s.id)
    eq(got.state, "in_progress")
    eq(got.description, "deploying")
    eq(got.url, s.url)
    eq(got.created_at, s.created_at)
    e = raises(UnknownObjectException, lambda: d.get_status(987654321))
    eq(e.status, 404)


@test("create_status: another environment updates deployment.environment, keeps original_environment (D2)")
def _():
    env = f"py-envA-{rand()}"
    d = repo.create_deployment(ref="main", required_contexts=[], environment=env)
    s = d.create_status("success", environment="py-envB")
    eq(s.environment, "py-envB")
    again = repo.get_deployment(d.id)
    eq(again.environment, "py-envB")
    eq(again.original_environment, env)


@test("create_status: description over 140 characters → 422 (D7)")
def _():
    d = repo.create_deployment(ref="main", required_contexts=[], environment=f"py-d7-{rand()}")
    e = raises(GithubException, lambda: d.create_status("pending", description="z" * 141))
    eq(e.status, 422)
    eq(d.get_statuses().totalCount, 0, "nothing stored")


@test("create_status: bad state → 422")
def _():
    d = repo.create_deployment(ref="main", required_contexts=[], environment=f"py-bad-{rand()}")
    e = raises(GithubException, lambda: d.create_status("done"))
    eq(e.status, 422)


@test("statuses: pagination with per_page=2, totalCount, reversed")
def _():
    d = repo2.create_deployment(ref="main", required_contexts=[], environment=f"py-sp-{rand()}", transient_environment=True)
    made = [d.create_status(s) for s in ["queued", "pending", "in_progress", "in_progress", "success"]]
    eq(d.get_statuses().totalCount, 5, "totalCount")
    eq(ids(d.get_statuses()), ids(made)[::-1], "all pages, newest first")
    eq(ids(d.get_statuses().reversed), ids(made), "reversed")
    eq(len(d.get_statuses().get_page(0)), 2, "server honours per_page=2")


# ------------------------------------------------------------------ auto_inactive
@test("auto_inactive: earlier success in the same non-production environment → inactive; production and transient spared")
def _():
    env = f"py-ai-{rand()}"
    transient = repo.create_deployment(ref="main", required_contexts=[], environment=env, transient_environment=True)
    prod = repo.create_deployment(ref="main", required_contexts=[], environment=env, production_environment=True)
    plain = repo.create_deployment(ref="main", required_contexts=[], environment=env)
    other_env = repo.create_deployment(ref="main", required_contexts=[], environment=f"{env}-other")
    for dep in (transient, prod, plain, other_env):
        dep.create_status("success")
    eq(latest_state(transient), "success", "transient, before plain's success")
    eq(latest_state(prod), "success", "production, before plain's success")
    newer = repo.create_deployment(ref="main", required_contexts=[], environment=env)
    newer.create_status("in_progress")
    eq(latest_state(plain), "success", "in_progress does not inactivate")
    newer.create_status("success")
    sts = list(plain.get_statuses())
    eq(sts[0].state, "inactive", "plain deployment inactivated by the newer success")
    eq(sts[0].environment, env)
    eq(latest_state(transient), "success", "transient spared")
    eq(latest_state(prod), "success", "production_environment spared")
    eq(latest_state(other_env), "success", "another environment untouched")
    eq(latest_state(newer), "success", "the new deployment stays success")


@test("auto_inactive: the 'production' environment is spared; auto_inactive=False opts out")
def _():
    p1 = repo.create_deployment(ref="main", required_contexts=[], environment="production")
    p1.create_status("success")
    p2 = repo.create_deployment(ref="main", required_contexts=[], environment="production")
    p2.create_status("success")
    eq(latest_state(p1), "success", "production deployment spared (D3)")
    env = f"py-noai-{rand()}"
    a = repo.create_deployment(ref="main", required_contexts=[], environment=env)
    a.create_status("success")
    b = repo.create_deployment(ref="main", required_contexts=[], environment=env)
    b.create_status("success", auto_inactive=False)
    eq(latest_state(a), "success", "auto_inactive=False")
    c = repo.create_deployment(ref="main", required_contexts=[], environment=env)
    c.create_status("success", auto_inactive=True)
    eq(latest_state(a), "inactive")
    eq(latest_state(b), "inactive")


@test("auto_inactive: only deployments whose latest status is success, created before")
def _():
    env = f"py-ai2-{rand()}"
    failed = repo.create_deployment(ref="main", required_contexts=[], environment=env)
    failed.create_status("failure")
    a = repo.create_deployment(ref="main", required_contexts=[], environment=env)
    later = repo.create_deployment(ref="main", required_contexts=[], environment=env)
    later.create_status("success")
    a.create_status("success")  # a was created before `later`: `later` is not touched
    eq(latest_state(failed), "failure", "non-success latest status untouched")
    eq(latest_state(later), "success", "a deployment created after is not inactivated")
    eq(latest_state(a), "success")


# ------------------------------------------------------------------ list filters and pagination
FILTER = {}


@test("filters: seed 12 deployments (topic, v1, full sha)")
def _():
    a = [
        repo.create_deployment(ref="topic", task="py-task-a" if i % 2 == 0 else "py-task-b", environment="py-filter", required_contexts=[])
        for i in range(6)
    ]
    b = [repo.create_deployment(ref="v1", task="py-task-a", environment="py-filter-2", required_contexts=[]) for _ in range(5)]
    c = repo.create_deployment(ref=SHA["v1"], task="py-task-b", environment="py-filter-2", required_contexts=[])
    eq(c.sha, SHA["v1"])
    ok(all(x.sha == SHA["v1"] for x in b), "v1 resolves to its commit")
    FILTER.update(a=a, b=b, c=c)


def check_list(make, expected, what):
    """make() returns a fresh PaginatedList. Fresh ones, because PyGithub 2.10.0's totalCount and
    reversed re-request the first URL without the filter parameters once a list has been
    iterated (its __nextParams are reset after the first page): a client quirk, not ferry's."""
    want = sorted(ids(expected), reverse=True)
    eq(ids(make()), want, f"{what}: items newest first")
    eq(make().totalCount, len(want), f"{what}: totalCount")
    eq(ids(make().reversed), want[::-1], f"{what}: reversed")
    if len(want) > 2:
        eq(len(make().get_page(0)), 2, f"{what}: per_page=2 honoured")
        eq(ids(make().get_page(1)), want[2:4], f"{what}: get_page(1)")


@test("filter environment (3 pages at per_page=2)")
def _():
    check_list(lambda: repo2.get_deployments(environment="py-filter"), FILTER["a"], "environment")


@test("filter ref (3 pages)")
def _():
    check_list(lambda: repo2.get_deployments(ref="topic"), FILTER["a"], "ref=topic")
    check_list(lambda: repo2.get_deployments(ref="v1"), FILTER["b"], "ref=v1 (exact: not the full-sha deployment)")


@test("filter sha (3 pages, any ref spelling)")
def _():
    check_list(lambda: repo2.get_deployments(sha=SHA["v1"]), FILTER["b"] + [FILTER["c"]], "sha")


@test("filter task (4 pages)")
def _():
    want = [x for i, x in enumerate(FILTER["a"]) if i % 2 == 0] + FILTER["b"]
    check_list(lambda: repo2.get_deployments(task="py-task-a"), want, "task")


@test("filters combined")
def _():
    check_list(lambda: repo2.get_deployments(ref="topic", task="py-task-a", environment="py-filter"), FILTER["a"][0::2], "ref+task+environment")
    check_list(lambda: repo2.get_deployments(task="py-task-b", environment="py-filter-2"), [FILTER["c"]], "task+environment")
    check_list(lambda: repo2.get_deployments(sha=SHA["topic"], environment="py-filter-2"), [], "no match")


@test("unfiltered list: newest first across pages; totalCount")
def _():
    got = ids(repo2.get_deployments())
    eq(got, sorted(got, reverse=True), "newest first")
    eq(repo2.get_deployments().totalCount, len(got), "totalCount")
    eq(len(set(got)), len(got), "no duplicates across pages")


# ------------------------------------------------------------------ run
def main():
    global _current
    passed = failed = 0
    failures = []
    t0 = time.time()
    for name, fn in TESTS:
        _current = name
        start = time.time()
        try:
            fn()
        except Exception as e:  # noqa: BLE001
            failed += 1
            failures.append(name)
            print(f"FAIL [{SUITE}/{BACKEND}] {name} ({(time.time() - start) * 1000:.0f} ms)")
            detail = str(e) if isinstance(e, Fail) else traceback.format_exc()
            print("     " + detail.strip().replace("\n", "\n     "))
        else:
            passed += 1
            print(f"ok   [{SUITE}/{BACKEND}] {name} ({(time.time() - start) * 1000:.0f} ms)")
        sys.stdout.flush()
    _current = "(teardown)"
    _record.close()
    print(f"== {SUITE} ({BACKEND}): {passed} passed, {failed} failed, 0 skipped in {time.time() - t0:.1f} s")
    if failures:
        print(f"== {SUITE} ({BACKEND}) failures: {' | '.join(failures)}")
    with open(os.path.join(OUT_DIR, f"{BACKEND}-{SUITE}.counts"), "w") as f:
        f.write(f"{passed} {failed} 0\n")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
