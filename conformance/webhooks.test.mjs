// Webhooks in (GitHub → ferry, POST /webhooks/github) and out (ferry → signed subscriptions,
// /api/v1/webhooks), github.md §5, §6 and the §7 webhook scenarios.
//
// Inbound: payloads come from @octokit/webhooks-examples@7.6.1 (api.github.com/index.json), pointed
// at ferry repository o/hooks and signed with @octokit/webhooks-methods@6.0.0 `sign` over the exact
// bytes sent. o/hooks mirrors a git repository this suite makes itself (its .ferry.yml drives the
// auto-deploy rules). Outbound: an @octokit/webhooks@14.2.0 createNodeMiddleware receiver in this
// process (it rejects bad signatures, so an event reaching its handlers is a verified one), with
// every deployment / deployment_status body validated by ajv's 2020-12 build against
// @octokit/openapi-webhooks@12.1.0.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { sign, verify } from '@octokit/webhooks-methods';
import { test, run, assert, setupFailed } from './lib/harness.mjs';
import {
  CONNECT_URL, adminRaw, setupRepo, octokitFor, rand,
} from './lib/ferry.mjs';
import {
  EXAMPLES_INDEX, examplesOf, exampleOf, retarget, validateWebhook, startReceiver, poll, sleep,
} from './lib/hooks.mjs';

const SUITE = 'webhooks';
const HOOKS = 'o/hooks'; // inbound: the suite's own git repository with .ferry.yml
const OUT = 'o/hooks-out'; // outbound: the subscriptions' repository
const OTHER = 'o/hooks-other'; // outbound: a repository the first subscription does not cover
const INBOUND = `${CONNECT_URL}/webhooks/github`;
const FIRST_SECRET = 's3cret';
const SECOND_SECRET = `other-${randomBytes(6).toString('hex')}`;
let SECRET = FIRST_SECRET; // the repository's current secret (changed by the PATCH test)
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ZERO_SHA = '0'.repeat(40);
const REPLAYED = ['pull_request', 'push', 'status', 'check_run', 'check_suite', 'deployment_status', 'ping', 'deployment', 'workflow_run'];

const FERRY_YML = `envs:
  - name: preview
    required_contexts: ["ci/test"]
    auto_deploy: { merge: '^main$', wait_for_ci: true }
  - name: staging
    auto_deploy: { push: '^release' }
  - name: production
    auto_deploy: { tag: '^v' }
`;

// ---------------------------------------------------------------- the suite's git repository
// main: c1 (.ferry.yml) - c2; off main, one commit each: main2 (a second merge commit, whose CI
// fails), pr-1 and pr-2 (the merged PRs' heads), release-1, feature-x (matches no rule) and
// tagbase, which carries the lightweight tag v2.
function makeHooksRepo() {
  const out = process.env.CONF_OUT_DIR;
  // Under the driver's work directory when there is one (kept on failure, removed on success).
  const dir = fs.mkdtempSync(path.join(out ? path.dirname(out) : os.tmpdir(), 'hooks-git-'));
  const env = { ...process.env, GIT_AUTHOR_DATE: '2024-06-01T12:00:00Z', GIT_COMMITTER_DATE: '2024-06-01T12:00:00Z' };
  const g = (...args) => execFileSync('git', ['-C', dir, '-c', 'user.name=conformance', '-c', 'user.email=conformance@example.com',
    '-c', 'commit.gpgsign=false', '-c', 'tag.gpgsign=false', '-c', 'init.defaultBranch=main', '-c', 'core.hooksPath=/dev/null', ...args],
  { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  const commit = (file, text, msg) => {
    fs.writeFileSync(path.join(dir, file), text);
    g('add', '-A');
    g('commit', '-q', '-m', msg);
  };
  g('init', '-q', '-b', 'main', '.');
  fs.writeFileSync(path.join(dir, '.ferry.yml'), FERRY_YML);
  commit('app.txt', 'one\n', 'hooks: one, with .ferry.yml');
  commit('app.txt', 'two\n', 'hooks: two');
  for (const b of ['main2', 'pr-1', 'pr-2', 'release-1', 'feature-x', 'tagbase']) {
    g('checkout', '-q', '-b', b, 'main');
    commit(`${b}.txt`, `${b}\n`, `hooks: branch ${b}`);
  }
  g('tag', 'v2', 'tagbase');
  g('checkout', '-q', 'main');
  const sha = {};
  for (const r of ['main', 'main2', 'pr-1', 'pr-2', 'release-1', 'feature-x', 'v2']) sha[r] = g('rev-parse', `${r}^{commit}`);
  return { dir, sha };
}

// ---------------------------------------------------------------- setup
let repo; let token; let ok; let receiver; let outRepoId;
try {
  repo = makeHooksRepo();
  token = await setupRepo(OUT);
  await setupRepo(OTHER);
  ok = octokitFor(token);
  outRepoId = (await ok.rest.repos.get({ owner: 'o', repo: 'hooks-out' })).data.id;
  receiver = await startReceiver();
  receiver.addRoute('/hook', 'whsec');
  receiver.addRoute('/flaky', 'whsec2', { flaky: true });
  receiver.addRoute('/all', 'whsec3');
} catch (e) {
  setupFailed(SUITE, e);
}

// ---------------------------------------------------------------- inbound helpers
/**
 * POSTs one delivery to /webhooks/github. `signature`: undefined = sign with `secret`, null = no
 * X-Hub-Signature-256, a string = that header. `body` replaces the encoded payload.
 */
async function deliver(event, payload, {
  secret = SECRET, form = false, guid = randomUUID(), signature, body, headers = {},
} = {}) {
  const json = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const raw = body ?? (form ? new URLSearchParams({ payload: json }).toString() : json);
  const h = {
    'user-agent': 'GitHub-Hookshot/abc',
    'x-github-event': event,
    'x-github-delivery': guid,
    'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json',
    ...headers,
  };
  const sig = signature === undefined ? await sign(secret, raw) : signature;
  if (sig !== null) h['x-hub-signature-256'] = sig;
  const res = await fetch(INBOUND, { method: 'POST', headers: h, body: raw });
  const text = await res.text();
  let data;
  try { data = JSON.parse(text); } catch { data = undefined; }
  return { status: res.status, data, text, guid };
}

function expectCode(r, codes, what) {
  const want = Array.isArray(codes) ? codes : [codes];
  if (!want.includes(r.status)) assert.fail(`${what}: expected HTTP ${want.join(' or ')}, got ${r.status} ${r.text.slice(0, 300)}`);
}

async function inboundDeliveries() {
  const r = await adminRaw('GET', '/api/v1/webhooks/github/deliveries');
  assert.equal(r.status, 200, `GET /api/v1/webhooks/github/deliveries (${r.text.slice(0, 200)})`);
  assert.ok(Array.isArray(r.data), `deliveries: a JSON array expected, got ${r.text.slice(0, 200)}`);
  return r.data;
}

const H = { owner: 'o', repo: 'hooks' };
async function deploymentsIn(environment) {
  return ok.paginate(ok.rest.repos.listDeployments, { ...H, environment, per_page: 100 });
}
async function deploymentsOf(sha) {
  return ok.paginate(ok.rest.repos.listDeployments, { ...H, sha, per_page: 100 });
}
/** Waits until `environment` has a deployment of `sha` (≤ 15 s); returns them all. */
async function awaitDeployment(environment, sha) {
  await poll(async () => (await deploymentsIn(environment)).some((d) => d.sha === sha), { timeout: 15000, interval: 300 });
  return (await deploymentsIn(environment)).filter((d) => d.sha === sha);
}
/** Asserts that no deployment of `sha` shows up within `ms`. */
async function assertNoDeployment(sha, what, ms = 2000) {
  const seen = await poll(async () => (await deploymentsOf(sha)).length > 0, { timeout: ms, interval: 400 });
  if (seen) assert.fail(`${what}: unexpected deployment(s) ${JSON.stringify((await deploymentsOf(sha)).map((d) => ({ id: d.id, environment: d.environment, sha: d.sha })))}`);
}

const hex40 = () => randomBytes(20).toString('hex');

/** pull_request closed + merged into main, derived from the `closed` example (§5). */
function mergedPr(mergeSha, headSha, headRef, number) {
  const p = retarget(exampleOf('pull_request', (e) => e.action === 'closed'), HOOKS);
  const pr = p.pull_request;
  p.number = number;
  pr.number = number;
  pr.state = 'closed';
  pr.merged = true;
  pr.merged_at = pr.closed_at;
  pr.merged_by = structuredClone(pr.user);
  pr.merge_commit_sha = mergeSha;
  pr.base.ref = 'main';
  pr.head.sha = headSha;
  pr.head.ref = headRef;
  return p;
}

/** A commit status event derived from the `status` example. */
function statusEvent(sha, state, context = 'ci/test') {
  const p = retarget(exampleOf('status'), HOOKS);
  p.sha = sha;
  p.name = HOOKS;
  p.context = context;
  p.state = state;
  p.description = `CI ${state}`;
  p.target_url = 'https://ci.example.com/builds/1';
  if (p.commit && typeof p.commit === 'object') p.commit.sha = sha;
  return p;
}

/** A push event derived from the push examples. */
function pushEvent(ref, after, { before = hex40(), created = false, deleted = false } = {}) {
  const p = retarget(exampleOf('push', (e) => (deleted ? e.deleted : e.head_commit)), HOOKS);
  p.ref = ref;
  p.before = before;
  p.after = after;
  p.created = created;
  p.deleted = deleted;
  p.base_ref = null;
  if (deleted) {
    p.head_commit = null;
    p.commits = [];
  } else if (p.head_commit) {
    p.head_commit.id = after;
  }
  return p;
}

const pingExample = () => retarget(exampleOf('ping', (e) => e.repository), HOOKS);

// ================================================================ harness sanity (no ferry)
test('signature test vector (§5): @octokit/webhooks-methods sign and verify', async () => {
  const want = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
  assert.equal(await sign("It's a Secret to Everybody", 'Hello, World!'), want, 'sign');
  assert.ok(await verify("It's a Secret to Everybody", 'Hello, World!', want), 'verify');
  assert.ok(!(await verify('another secret', 'Hello, World!', want)), 'verify with another secret');
});

test('examples: every replayed event has examples; the derived merged PR validates against webhook-pull-request-closed', async () => {
  for (const e of REPLAYED) assert.ok(examplesOf(e).length > 0, `no ${e} examples in ${EXAMPLES_INDEX.length} events`);
  const p = mergedPr(repo.sha.main, repo.sha['pr-1'], 'pr-1', 101);
  assert.deepEqual(validateWebhook('webhook-pull-request-closed', p), [], 'merged pull_request');
  assert.equal(p.repository.full_name, HOOKS);
});

// ================================================================ inbound: configuration
test('POST /api/v1/repos with github.webhook_secret → 201, webhook_secret_set, the secret never echoed', async () => {
  const r = await adminRaw('POST', '/api/v1/repos', {
    full_name: HOOKS, git_url: repo.dir, default_branch: 'main', github: { webhook_secret: FIRST_SECRET },
  });
  assert.equal(r.status, 201, `POST /api/v1/repos (${r.text.slice(0, 300)})`);
  assert.ok(!r.text.includes(FIRST_SECRET), `the secret appears in the response: ${r.text}`);
  assert.equal(r.data?.github?.webhook_secret_set, true, 'github.webhook_secret_set');
  const g = await adminRaw('GET', '/api/v1/repos/o/hooks');
  assert.equal(g.status, 200, 'GET /api/v1/repos/o/hooks');
  assert.ok(!g.text.includes(FIRST_SECRET), `the secret appears in GET: ${g.text}`);
  assert.equal(g.data?.github?.webhook_secret_set, true, 'GET: github.webhook_secret_set');
  const l = await adminRaw('GET', '/api/v1/repos');
  assert.ok(!l.text.includes(FIRST_SECRET), 'the secret appears in GET /api/v1/repos');
});

test('ping signed with the repository secret → 200, as JSON and as form', async () => {
  expectCode(await deliver('ping', pingExample()), 200, 'ping (JSON)');
  expectCode(await deliver('ping', pingExample(), { form: true }), 200, 'ping (form)');
});

test('PATCH github.webhook_secret → 200, not echoed; the old secret → 401, the new one → 200', async () => {
  const r = await adminRaw('PATCH', '/api/v1/repos/o/hooks', { github: { webhook_secret: SECOND_SECRET } });
  assert.equal(r.status, 200, `PATCH /api/v1/repos/o/hooks (${r.text.slice(0, 300)})`);
  assert.ok(!r.text.includes(SECOND_SECRET), `the new secret appears in the response: ${r.text}`);
  assert.equal(r.data?.github?.webhook_secret_set, true, 'github.webhook_secret_set');
  SECRET = SECOND_SECRET;
  expectCode(await deliver('ping', pingExample(), { secret: FIRST_SECRET }), 401, 'ping signed with the old secret');
  expectCode(await deliver('ping', pingExample()), 200, 'ping signed with the new secret');
  expectCode(await deliver('ping', pingExample(), { form: true }), 200, 'ping signed with the new secret (form)');
});

test('bad, missing, tampered and sha1-only signatures → 401, no side effect, nothing recorded', async () => {
  const p = pushEvent('refs/heads/release-1', repo.sha['release-1']);
  const json = JSON.stringify(p);
  const sha1 = `sha1=${createHmac('sha1', SECRET).update(json).digest('hex')}`;
  const tries = [
    ['signed with another secret', { secret: 'not-the-secret' }],
    ['signed with another secret (form)', { secret: 'not-the-secret', form: true }],
    ['no X-Hub-Signature-256', { signature: null }],
    ['no X-Hub-Signature-256 (form)', { signature: null, form: true }],
    ['signature of another body', { signature: await sign(SECRET, `${json} `) }],
    ['all-zero signature', { signature: `sha256=${'0'.repeat(64)}` }],
    ['empty sha256=', { signature: 'sha256=' }],
    ['bare hex without sha256=', { signature: (await sign(SECRET, json)).slice('sha256='.length) }],
    ['only the legacy sha1 X-Hub-Signature', { signature: null, headers: { 'x-hub-signature': sha1 } }],
  ];
  const guids = [];
  const problems = [];
  for (const [what, opts] of tries) {
    const r = await deliver('push', p, opts);
    guids.push(r.guid);
    if (r.status !== 401) problems.push(`${what}: expected 401, got ${r.status} ${r.text.slice(0, 200)}`);
  }
  assert.deepEqual(problems, [], 'answers');
  const recorded = (await inboundDeliveries()).filter((d) => guids.includes(d.guid));
  assert.deepEqual(recorded, [], 'rejected deliveries listed in /api/v1/webhooks/github/deliveries');
  await assertNoDeployment(repo.sha['release-1'], 'after rejected pushes of release-1', 1500);
});

test('malformed JSON with a valid signature → 400, as JSON and as form', async () => {
  // The payload cannot be parsed, so ferry cannot look the repository up: a valid signature here
  // means one made with a secret ferry knows (the contract: 400, not 401).
  const broken = '{"action":"opened","repository":{"full_name":"o/hooks"';
  expectCode(await deliver('pull_request', null, { body: broken }), 400, 'truncated JSON');
  const form = new URLSearchParams({ payload: broken }).toString();
  expectCode(await deliver('pull_request', null, { body: form, form: true }), 400, 'form with truncated JSON');
});

test('a payload without a field ferry reads (push without "after") → 400 (§5)', async () => {
  const p = pushEvent('refs/heads/release-1', repo.sha['release-1']);
  delete p.after;
  expectCode(await deliver('push', p), 400, 'push without after');
  await assertNoDeployment(repo.sha['release-1'], 'after a push without after', 1000);
});

// ================================================================ inbound: auto-deploys
let ciStatus; // {guid, payload} of the status event that released the preview deployment

test('merged PR into main, preview waits for ci/test → 202 outcome "waiting", no deployment yet', async () => {
  const r = await deliver('pull_request', mergedPr(repo.sha.main, repo.sha['pr-1'], 'pr-1', 101));
  expectCode(r, 202, 'merged pull_request');
  assert.equal(r.data?.outcome, 'waiting', `outcome (${r.text.slice(0, 300)})`);
  await assertNoDeployment(repo.sha.main, 'before ci/test reported', 1000);
});

test('status success for ci/test on the merge commit → exactly one preview deployment of it', async () => {
  const payload = statusEvent(repo.sha.main, 'success');
  const r = await deliver('status', payload);
  expectCode(r, 202, 'status success');
  ciStatus = { guid: r.guid, payload };
  const found = await awaitDeployment('preview', repo.sha.main);
  assert.equal(found.length, 1, `preview deployments of ${repo.sha.main}: ${JSON.stringify(found.map((d) => d.id))}`);
  await sleep(500);
  assert.equal((await deploymentsIn('preview')).filter((d) => d.sha === repo.sha.main).length, 1, 'still one after 0.5 s');
  assert.equal((await deploymentsOf(repo.sha.main)).length, 1, 'no deployment of it in another environment');
});

test('the status redelivered (same X-GitHub-Delivery) → outcome "duplicate", listed once, no second deployment', async () => {
  assert.ok(ciStatus, 'no status delivery (an earlier test failed)');
  const r = await deliver('status', ciStatus.payload, { guid: ciStatus.guid });
  expectCode(r, [200, 202], 'redelivery');
  assert.equal(r.data?.outcome, 'duplicate', `outcome (${r.text.slice(0, 300)})`);
  const listed = (await inboundDeliveries()).filter((d) => d.guid === ciStatus.guid);
  assert.equal(listed.length, 1, `entries for ${ciStatus.guid}`);
  await sleep(1000);
  assert.equal((await deploymentsOf(repo.sha.main)).length, 1, 'deployments of the merge commit');
});

test('a fresh status success for the same commit and context → no second deployment', async () => {
  expectCode(await deliver('status', statusEvent(repo.sha.main, 'success')), 202, 'status success again');
  expectCode(await deliver('status', statusEvent(repo.sha.main, 'success'), { form: true }), 202, 'status success again (form)');
  await sleep(1500);
  assert.equal((await deploymentsOf(repo.sha.main)).length, 1, 'deployments of the merge commit');
});

test('merged PR whose ci/test fails → no preview deployment', async () => {
  expectCode(await deliver('pull_request', mergedPr(repo.sha.main2, repo.sha['pr-2'], 'pr-2', 102)), 202, 'merged pull_request');
  expectCode(await deliver('status', statusEvent(repo.sha.main2, 'failure')), 202, 'status failure');
  await assertNoDeployment(repo.sha.main2, 'after ci/test failed', 3000);
});

let pushRelease; // {guid, payload}

test('push to release-1 → one staging deployment of its head', async () => {
  const payload = pushEvent('refs/heads/release-1', repo.sha['release-1']);
  const r = await deliver('push', payload);
  expectCode(r, 202, 'push release-1');
  pushRelease = { guid: r.guid, payload };
  const found = await awaitDeployment('staging', repo.sha['release-1']);
  assert.equal(found.length, 1, 'staging deployments of release-1');
  assert.equal((await deploymentsOf(repo.sha['release-1'])).length, 1, 'no deployment of it in another environment');
});

test('the push redelivered (same X-GitHub-Delivery) → outcome "duplicate", still one staging deployment', async () => {
  assert.ok(pushRelease, 'no push delivery (an earlier test failed)');
  const r = await deliver('push', pushRelease.payload, { guid: pushRelease.guid, form: true });
  expectCode(r, [200, 202], 'redelivery');
  assert.equal(r.data?.outcome, 'duplicate', `outcome (${r.text.slice(0, 300)})`);
  await sleep(1000);
  assert.equal((await deploymentsOf(repo.sha['release-1'])).length, 1, 'deployments of release-1');
});

test('push of tag v2 (form-encoded) → one production deployment of it', async () => {
  expectCode(await deliver('push', pushEvent('refs/tags/v2', repo.sha.v2, { before: ZERO_SHA, created: true }), { form: true }), 202, 'push v2');
  const found = await awaitDeployment('production', repo.sha.v2);
  assert.equal(found.length, 1, 'production deployments of v2');
  assert.equal((await deploymentsOf(repo.sha.v2)).length, 1, 'no deployment of it in another environment');
});

test('push with deleted=true (branch and tag) → 202, no deployment', async () => {
  const before = (await deploymentsIn('staging')).length + (await deploymentsIn('production')).length;
  const delBranch = pushEvent('refs/heads/release-1', ZERO_SHA, { before: repo.sha['release-1'], deleted: true });
  expectCode(await deliver('push', delBranch), 202, 'deleted release-1');
  const delTag = pushEvent('refs/tags/v2', ZERO_SHA, { before: repo.sha.v2, deleted: true });
  expectCode(await deliver('push', delTag, { form: true }), 202, 'deleted v2');
  await sleep(1500);
  const after = (await deploymentsIn('staging')).length + (await deploymentsIn('production')).length;
  assert.equal(after, before, 'staging + production deployments');
  assert.equal((await deploymentsOf(ZERO_SHA)).length, 0, 'deployments of the zero sha');
});

test('push to a branch no rule matches (feature-x) → 202, no deployment', async () => {
  expectCode(await deliver('push', pushEvent('refs/heads/feature-x', repo.sha['feature-x'])), 202, 'push feature-x');
  await assertNoDeployment(repo.sha['feature-x'], 'push of feature-x', 2000);
});

test('GET /api/v1/webhooks/github/deliveries: newest first, one entry each, the documented fields; no token → 401', async () => {
  const a = await deliver('ping', pingExample());
  expectCode(a, 200, 'first ping');
  const b = await deliver('check_run', retarget(exampleOf('check_run'), HOOKS));
  expectCode(b, 202, 'check_run');
  const list = await inboundDeliveries();
  const ia = list.findIndex((d) => d.guid === a.guid);
  const ib = list.findIndex((d) => d.guid === b.guid);
  assert.ok(ia >= 0 && ib >= 0, `both deliveries listed (ping at ${ia}, check_run at ${ib})`);
  assert.ok(ib < ia, `newest first: check_run (${ib}) before ping (${ia})`);
  assert.equal(list.filter((d) => d.guid === a.guid).length, 1, 'one entry for the ping');
  for (const [d, event, action] of [[list[ia], 'ping', null], [list[ib], 'check_run', exampleOf('check_run').action]]) {
    for (const k of ['guid', 'event', 'action', 'repository', 'outcome', 'detail', 'received_at']) assert.ok(k in d, `${event} entry has ${k}: ${JSON.stringify(d)}`);
    assert.equal(d.event, event, 'event');
    assert.equal(d.action, action, `${event} action`);
    assert.equal(d.repository, HOOKS, `${event} repository`);
    assert.ok(['processed', 'ignored', 'duplicate', 'waiting', 'failed'].includes(d.outcome), `${event} outcome ${d.outcome}`);
    assert.ok(typeof d.received_at === 'string' && !Number.isNaN(Date.parse(d.received_at)), `${event} received_at ${d.received_at}`);
  }
  const anon = await adminRaw('GET', '/api/v1/webhooks/github/deliveries', undefined, { token: null });
  assert.equal(anon.status, 401, 'no token');
});

// ================================================================ inbound: every example
let deploymentsBeforeReplays = null;

for (const [i, event] of REPLAYED.entries()) {
  const want = event === 'ping' ? 200 : 202;
  test(`replay every ${event} example, as JSON and as form → ${want}; bad or missing signature → 401`, async () => {
    if (i === 0) deploymentsBeforeReplays = (await ok.paginate(ok.rest.repos.listDeployments, { ...H, per_page: 100 })).length;
    const problems = [];
    const examples = examplesOf(event);
    let n = 0;
    for (const [k, ex] of examples.entries()) {
      const p = retarget(ex, HOOKS);
      // An example without `repository` (the organization-hook ping) names no repository whose
      // secret ferry could use: without FERRY_GITHUB_WEBHOOK_SECRET (which the driver does not
      // set) ferry answers 401 — expected; 200/202 is accepted too.
      const codes = p.repository ? [want] : [want, 401];
      for (const form of [false, true]) {
        const r = await deliver(event, p, { form });
        n += 1;
        if (!codes.includes(r.status)) problems.push(`${event} example #${k} (${p.action ?? 'no action'}) as ${form ? 'form' : 'JSON'}: expected ${codes.join(' or ')}, got ${r.status} ${r.text.slice(0, 200)}`);
      }
    }
    const withRepo = examples.map((x) => retarget(x, HOOKS)).find((x) => x.repository);
    assert.ok(withRepo, `no ${event} example with a repository`);
    for (const form of [false, true]) {
      const how = form ? 'form' : 'JSON';
      const bad = await deliver(event, withRepo, { form, secret: 'not-the-secret' });
      if (bad.status !== 401) problems.push(`${event} wrongly signed (${how}): expected 401, got ${bad.status} ${bad.text.slice(0, 200)}`);
      const unsigned = await deliver(event, withRepo, { form, signature: null });
      if (unsigned.status !== 401) problems.push(`${event} unsigned (${how}): expected 401, got ${unsigned.status} ${unsigned.text.slice(0, 200)}`);
    }
    assert.deepEqual(problems, [], `${problems.length} of ${n + 4} deliveries answered wrongly`);
  });
}

test('the example replays created no deployment', async () => {
  assert.ok(deploymentsBeforeReplays !== null, 'no count before the replays (an earlier test failed)');
  await sleep(1000);
  const now = (await ok.paginate(ok.rest.repos.listDeployments, { ...H, per_page: 100 })).length;
  assert.equal(now, deploymentsBeforeReplays, 'deployments of o/hooks');
});

// ================================================================ outbound: subscriptions
const subs = {}; // name → the 201 body
const SUB_KEYS = ['id', 'url', 'events', 'repositories', 'active', 'created_at', 'updated_at'];
const sorted = (a) => [...a].sort();

function checkSubscription(s, what) {
  for (const k of SUB_KEYS) assert.ok(s && k in s, `${what}: no "${k}" in ${JSON.stringify(s)}`);
  assert.ok(Number.isInteger(s.id) && s.id > 0, `${what}: id ${s.id}`);
  assert.ok(Array.isArray(s.events) && Array.isArray(s.repositories), `${what}: events and repositories are arrays`);
  for (const k of ['created_at', 'updated_at']) assert.ok(typeof s[k] === 'string' && !Number.isNaN(Date.parse(s[k])), `${what}: ${k} ${s[k]}`);
}

function noSecret(r, what) {
  for (const s of ['whsec', 'whsec2', 'whsec3']) assert.ok(!r.text.includes(s), `${what}: the secret ${s} appears in ${r.text.slice(0, 300)}`);
}

/** Received and verified events on `path` for deployment `id`, in arrival order. */
const eventsFor = (p, id) => receiver.verified.filter((v) => v.path === p && v.name !== 'ping' && v.payload?.deployment?.id === id);
const requestsFor = (p, guid) => receiver.requests.filter((q) => q.path === p && q.headers['x-github-delivery'] === guid);

async function deploy(repoName, environment) {
  const r = { owner: 'o', repo: repoName };
  const d = (await ok.rest.repos.createDeployment({ ...r, ref: 'main', environment, required_contexts: [], auto_merge: false })).data;
  return {
    d,
    status: async (state) => (await ok.rest.repos.createDeploymentStatus({ ...r, deployment_id: d.id, state })).data,
  };
}

/** Header checks of one delivery to a subscription (§6). */
async function checkDeliveryHeaders(q, { event, hookId, secret, targetId }) {
  const h = q.headers;
  const where = `${event} delivery ${h['x-github-delivery']}`;
  assert.equal(q.method, 'POST', `${where}: method`);
  assert.match(h['content-type'], /^application\/json(\s*;|$)/, `${where}: Content-Type`);
  assert.match(h['user-agent'], /^GitHub-Hookshot\/\S+/, `${where}: User-Agent`);
  assert.equal(h['x-github-event'], event, `${where}: X-GitHub-Event`);
  assert.match(h['x-github-delivery'], UUID, `${where}: X-GitHub-Delivery`);
  assert.equal(h['x-github-hook-id'], String(hookId), `${where}: X-GitHub-Hook-ID`);
  assert.equal(h['x-hub-signature-256'], await sign(secret, q.raw), `${where}: X-Hub-Signature-256 over the bytes sent`);
  if (targetId !== undefined) {
    assert.equal(h['x-github-hook-installation-target-type'], 'repository', `${where}: X-GitHub-Hook-Installation-Target-Type`);
    assert.equal(h['x-github-hook-installation-target-id'], String(targetId), `${where}: X-GitHub-Hook-Installation-Target-ID`);
  }
}

test('POST /api/v1/webhooks → 201 with the subscription, never the secret', async () => {
  const body = { url: receiver.url('/hook'), secret: 'whsec', events: ['deployment', 'deployment_status'], repositories: [OUT] };
  const r = await adminRaw('POST', '/api/v1/webhooks', body);
  assert.equal(r.status, 201, `POST /api/v1/webhooks (${r.text.slice(0, 300)})`);
  noSecret(r, 'POST');
  checkSubscription(r.data, 'POST');
  assert.equal(r.data.url, body.url, 'url');
  assert.deepEqual(sorted(r.data.events), ['deployment', 'deployment_status'], 'events');
  assert.deepEqual(r.data.repositories, [OUT], 'repositories');
  assert.equal(r.data.active, true, 'active');
  subs.hook = r.data;
});

test('POST /api/v1/webhooks with a URL that is not http(s) → 422 {"error":{code,message}}', async () => {
  for (const url of ['ftp://x', 'not a url']) {
    const r = await adminRaw('POST', '/api/v1/webhooks', { url, secret: 'whsec', events: ['deployment'] });
    assert.equal(r.status, 422, `url ${JSON.stringify(url)} (${r.text.slice(0, 300)})`);
    assert.ok(r.data && typeof r.data.error === 'object' && r.data.error, `error object for ${url}: ${r.text.slice(0, 300)}`);
    assert.ok(typeof r.data.error.code === 'string' && r.data.error.code !== '', `error.code for ${url}`);
    assert.ok(typeof r.data.error.message === 'string' && r.data.error.message !== '', `error.message for ${url}`);
    noSecret(r, `422 for ${url}`);
  }
  const l = await adminRaw('GET', '/api/v1/webhooks');
  assert.ok(Array.isArray(l.data) && !l.data.some((s) => s.url === 'ftp://x' || s.url === 'not a url'), 'a rejected subscription is listed');
});

test('GET /api/v1/webhooks and /api/v1/webhooks/{id}: the subscription, never the secret; no token → 401', async () => {
  assert.ok(subs.hook, 'no subscription (an earlier test failed)');
  const l = await adminRaw('GET', '/api/v1/webhooks');
  assert.equal(l.status, 200, 'GET /api/v1/webhooks');
  noSecret(l, 'GET list');
  assert.ok(Array.isArray(l.data), 'a JSON array');
  const mine = l.data.find((s) => s.id === subs.hook.id);
  assert.ok(mine, `subscription ${subs.hook.id} listed`);
  checkSubscription(mine, 'GET list');
  const g = await adminRaw('GET', `/api/v1/webhooks/${subs.hook.id}`);
  assert.equal(g.status, 200, 'GET /api/v1/webhooks/{id}');
  noSecret(g, 'GET one');
  checkSubscription(g.data, 'GET one');
  for (const k of ['id', 'url', 'events', 'repositories', 'active', 'created_at']) assert.deepEqual(g.data[k], subs.hook[k], k);
  const anon = await adminRaw('GET', '/api/v1/webhooks', undefined, { token: null });
  assert.equal(anon.status, 401, 'no token');
});

test('ping on creation: signed, GitHub-Hookshot, X-GitHub-Hook-ID; the body validates against webhook-ping', async () => {
  assert.ok(subs.hook, 'no subscription (an earlier test failed)');
  const ping = await poll(() => receiver.verified.find((v) => v.path === '/hook' && v.name === 'ping'), { timeout: 15000 });
  assert.ok(ping, `no verified ping on /hook within 15 s (requests: ${JSON.stringify(receiver.requests.filter((q) => q.path === '/hook').map((q) => [q.headers['x-github-event'], q.status]))}; errors: ${JSON.stringify(receiver.errors)})`);
  const q = requestsFor('/hook', ping.id)[0];
  await checkDeliveryHeaders(q, { event: 'ping', hookId: subs.hook.id, secret: 'whsec' });
  const p = ping.payload;
  assert.ok(typeof p.zen === 'string' && p.zen !== '', 'zen');
  assert.equal(p.hook_id, subs.hook.id, 'hook_id');
  assert.equal(p.hook?.id, subs.hook.id, 'hook.id');
  assert.equal(p.hook?.active, true, 'hook.active');
  assert.equal(p.hook?.config?.url, subs.hook.url, 'hook.config.url');
  assert.equal(p.hook?.config?.content_type, 'json', 'hook.config.content_type');
  assert.deepEqual(sorted(p.hook?.events ?? []), ['deployment', 'deployment_status'], 'hook.events');
  assert.ok(!JSON.stringify(p).includes('whsec'), 'the secret appears in the ping body');
  assert.deepEqual(validateWebhook('webhook-ping', p), [], 'webhook-ping');
});

let first; // {d, guids: {deployment, in_progress, success}}

test('deployment, then statuses in_progress and success → deployment, deployment_status ×2, in that order, schema-valid', async () => {
  assert.ok(subs.hook, 'no subscription (an earlier test failed)');
  const { d, status } = await deploy('hooks-out', `out-${rand()}`);
  await status('in_progress');
  await status('success');
  const got = await poll(() => (eventsFor('/hook', d.id).length >= 3 ? eventsFor('/hook', d.id) : null), { timeout: 15000 });
  const seen = eventsFor('/hook', d.id).map((v) => `${v.name}/${v.payload.action}/${v.payload.deployment_status?.state ?? '-'}`);
  assert.ok(got, `3 events for deployment ${d.id} within 15 s; got ${JSON.stringify(seen)}; errors: ${JSON.stringify(receiver.errors)}`);
  // Later tests look at these deliveries even when this one fails on order or content.
  const find = (name, state) => got.find((v) => v.name === name && (state === undefined || v.payload.deployment_status?.state === state))?.id;
  const guids = { deployment: find('deployment'), in_progress: find('deployment_status', 'in_progress'), success: find('deployment_status', 'success') };
  if (Object.values(guids).every(Boolean)) first = { d, guids };
  assert.deepEqual(seen, ['deployment/created/-', 'deployment_status/created/in_progress', 'deployment_status/created/success'], 'events in order');
  const problems = [];
  for (const v of got) {
    const p = v.payload;
    const schema = v.name === 'deployment' ? 'webhook-deployment-created' : 'webhook-deployment-status-created';
    problems.push(...validateWebhook(schema, p).map((m) => `${v.name} ${p.deployment_status?.state ?? ''}: ${m}`));
    if (p.repository?.full_name !== OUT) problems.push(`${v.name}: repository.full_name ${p.repository?.full_name}`);
    if (p.repository?.id !== outRepoId) problems.push(`${v.name}: repository.id ${p.repository?.id}, /api/v3 says ${outRepoId}`);
    if (p.deployment?.sha !== d.sha) problems.push(`${v.name}: deployment.sha ${p.deployment?.sha}, expected ${d.sha}`);
    if (p.deployment?.environment !== d.environment) problems.push(`${v.name}: deployment.environment ${p.deployment?.environment}`);
    if (p.deployment?.url !== d.url) problems.push(`${v.name}: deployment.url ${p.deployment?.url}, /api/v3 says ${d.url}`);
    if (!p.sender || typeof p.sender.login !== 'string') problems.push(`${v.name}: no sender`);
    if ('installation' in p) problems.push(`${v.name}: has "installation"`);
  }
  assert.deepEqual(problems, [], 'payloads');
});

test('deliveries carry User-Agent, X-GitHub-Event/-Delivery/-Hook-ID, the installation target and a valid signature', async () => {
  assert.ok(first, 'no deliveries (an earlier test failed)');
  for (const [k, guid] of Object.entries(first.guids)) {
    const qs = requestsFor('/hook', guid);
    assert.equal(qs.length, 1, `requests with X-GitHub-Delivery ${guid} (${k})`);
    await checkDeliveryHeaders(qs[0], { event: k === 'deployment' ? 'deployment' : 'deployment_status', hookId: subs.hook.id, secret: 'whsec', targetId: outRepoId });
  }
  const all = Object.values(first.guids);
  assert.equal(new Set(all).size, 3, 'three distinct X-GitHub-Delivery values');
});

test('GET /api/v1/webhooks/{id}/deliveries: newest first, delivered, attempts 1, last_status_code 200; one delivery has its log', async () => {
  assert.ok(first, 'no deliveries (an earlier test failed)');
  const guids = Object.values(first.guids);
  const path_ = `/api/v1/webhooks/${subs.hook.id}/deliveries`;
  let list;
  await poll(async () => {
    const r = await adminRaw('GET', path_);
    list = r.data;
    return r.status === 200 && Array.isArray(list) && guids.every((g) => list.some((x) => x.guid === g && x.state === 'delivered'));
  }, { timeout: 10000, interval: 300 });
  assert.ok(Array.isArray(list), `GET ${path_}: a JSON array expected`);
  noSecret({ text: JSON.stringify(list) }, 'deliveries');
  for (const [k, g] of Object.entries(first.guids)) {
    const x = list.find((y) => y.guid === g);
    assert.ok(x, `delivery ${g} (${k}) listed`);
    for (const f of ['id', 'guid', 'event', 'state', 'attempts', 'last_status_code', 'created_at', 'delivered_at']) assert.ok(f in x, `${k}: no "${f}" in ${JSON.stringify(x)}`);
    assert.equal(x.event, k === 'deployment' ? 'deployment' : 'deployment_status', `${k}: event`);
    assert.equal(x.state, 'delivered', `${k}: state`);
    assert.equal(x.attempts, 1, `${k}: attempts`);
    assert.equal(x.last_status_code, 200, `${k}: last_status_code`);
    assert.ok(typeof x.delivered_at === 'string', `${k}: delivered_at`);
  }
  const pos = guids.map((g) => list.findIndex((y) => y.guid === g));
  assert.ok(pos[0] > pos[1] && pos[1] > pos[2], `newest first: positions of deployment, in_progress, success = ${pos}`);
  const ping = list.find((y) => y.event === 'ping');
  assert.ok(ping, 'the ping delivery is listed');
  const dep = list.find((y) => y.guid === first.guids.deployment);
  const one = await adminRaw('GET', `${path_}/${dep.id}`);
  assert.equal(one.status, 200, `GET ${path_}/${dep.id}`);
  for (const f of ['id', 'guid', 'event', 'state', 'attempts', 'last_status_code', 'created_at', 'delivered_at', 'log']) assert.ok(f in one.data, `one: no "${f}"`);
  assert.equal(one.data.guid, first.guids.deployment, 'one: guid');
  assert.ok(Array.isArray(one.data.log) && one.data.log.length === 1, `one: log of one attempt, got ${JSON.stringify(one.data.log)}`);
  const [a] = one.data.log;
  for (const f of ['at', 'status_code', 'duration_ms', 'error']) assert.ok(f in a, `log entry: no "${f}" in ${JSON.stringify(a)}`);
  assert.equal(a.status_code, 200, 'log[0].status_code');
  assert.ok(Number.isFinite(a.duration_ms) && a.duration_ms >= 0, `log[0].duration_ms ${a.duration_ms}`);
  assert.equal(a.error, null, 'log[0].error');
  const missing = await adminRaw('GET', `${path_}/999999999`);
  assert.equal(missing.status, 404, 'an unknown delivery id');
});

test('POST …/deliveries/{id}/redeliver → 202; the receiver gets the same X-GitHub-Delivery again', async () => {
  assert.ok(first, 'no deliveries (an earlier test failed)');
  const list = (await adminRaw('GET', `/api/v1/webhooks/${subs.hook.id}/deliveries`)).data;
  const dep = list.find((y) => y.guid === first.guids.deployment);
  assert.ok(dep, 'the deployment delivery is listed');
  const r = await adminRaw('POST', `/api/v1/webhooks/${subs.hook.id}/deliveries/${dep.id}/redeliver`);
  assert.equal(r.status, 202, `redeliver (${r.text.slice(0, 300)})`);
  const again = await poll(() => (receiver.verified.filter((v) => v.path === '/hook' && v.id === first.guids.deployment).length >= 2), { timeout: 15000 });
  assert.ok(again, `the receiver did not get ${first.guids.deployment} a second time within 15 s`);
  const twice = receiver.verified.filter((v) => v.path === '/hook' && v.id === first.guids.deployment);
  assert.equal(twice[1].name, 'deployment', 'event of the redelivery');
  assert.equal(twice[1].payload.deployment.id, first.d.id, 'the same deployment');
});

test('retries: a 500 is retried with the same X-GitHub-Delivery; each event delivered once; attempts 2, state delivered', async () => {
  // events omitted: both by default
  const c = await adminRaw('POST', '/api/v1/webhooks', { url: receiver.url('/flaky'), secret: 'whsec2', repositories: [OUT] });
  assert.equal(c.status, 201, `POST /api/v1/webhooks (${c.text.slice(0, 300)})`);
  noSecret(c, 'POST');
  checkSubscription(c.data, 'POST');
  subs.flaky = c.data;
  assert.deepEqual(sorted(c.data.events), ['deployment', 'deployment_status'], 'default events');
  const { d, status } = await deploy('hooks-out', `retry-${rand()}`);
  await status('success');
  // The first attempt of each delivery gets a 500; ferry retries with backoff.
  const got = await poll(() => (eventsFor('/flaky', d.id).length >= 2 ? eventsFor('/flaky', d.id) : null), { timeout: 30000, interval: 300 });
  const seen = eventsFor('/flaky', d.id).map((v) => `${v.name}/${v.payload.deployment_status?.state ?? '-'}`);
  assert.ok(got, `deployment and deployment_status on /flaky within 30 s; got ${JSON.stringify(seen)}; requests: ${JSON.stringify(receiver.requests.filter((q) => q.path === '/flaky').map((q) => [q.headers['x-github-event'], q.status]))}`);
  assert.deepEqual(sorted(seen), ['deployment/-', 'deployment_status/success'], 'events');
  for (const v of got) {
    const qs = requestsFor('/flaky', v.id);
    assert.deepEqual(qs.map((q) => q.status), [500, 200], `${v.name} ${v.id}: answers to its attempts`);
    for (const q of qs) await checkDeliveryHeaders(q, { event: v.name, hookId: subs.flaky.id, secret: 'whsec2', targetId: outRepoId });
    const schema = v.name === 'deployment' ? 'webhook-deployment-created' : 'webhook-deployment-status-created';
    assert.deepEqual(validateWebhook(schema, v.payload), [], `${v.name} body`);
  }
  const dpath = `/api/v1/webhooks/${subs.flaky.id}/deliveries`;
  let list;
  await poll(async () => {
    const r = await adminRaw('GET', dpath);
    list = r.data;
    return Array.isArray(list) && got.every((v) => list.some((x) => x.guid === v.id && x.state === 'delivered'));
  }, { timeout: 15000, interval: 300 });
  assert.ok(Array.isArray(list), `GET ${dpath}: a JSON array`);
  for (const v of got) {
    const x = list.find((y) => y.guid === v.id);
    assert.ok(x, `${v.name} delivery ${v.id} listed`);
    assert.equal(x.state, 'delivered', `${v.name}: state`);
    assert.equal(x.attempts, 2, `${v.name}: attempts`);
    assert.equal(x.last_status_code, 200, `${v.name}: last_status_code`);
    const one = await adminRaw('GET', `${dpath}/${x.id}`);
    assert.equal(one.status, 200, `GET ${dpath}/${x.id}`);
    assert.deepEqual((one.data?.log ?? []).map((a) => a.status_code), [500, 200], `${v.name}: log status codes`);
  }
  // Nothing was delivered twice: one 2xx per X-GitHub-Delivery on /flaky.
  const ok2xx = new Map();
  for (const q of receiver.requests.filter((y) => y.path === '/flaky' && y.status >= 200 && y.status < 300)) {
    const g = q.headers['x-github-delivery'];
    ok2xx.set(g, (ok2xx.get(g) || 0) + 1);
  }
  const dup = [...ok2xx].filter(([, n]) => n > 1);
  assert.deepEqual(dup, [], 'deliveries accepted more than once on /flaky');
});

test('repositories [] = every repository; events filter; a repository-limited subscription gets nothing from others', async () => {
  assert.ok(subs.hook, 'no subscription (an earlier test failed)');
  const c = await adminRaw('POST', '/api/v1/webhooks', { url: receiver.url('/all'), secret: 'whsec3', events: ['deployment_status'], repositories: [] });
  assert.equal(c.status, 201, `POST /api/v1/webhooks (${c.text.slice(0, 300)})`);
  noSecret(c, 'POST');
  checkSubscription(c.data, 'POST');
  subs.all = c.data;
  assert.deepEqual(c.data.events, ['deployment_status'], 'events');
  assert.deepEqual(c.data.repositories, [], 'repositories');
  const { d, status } = await deploy('hooks-other', `other-${rand()}`);
  await status('success');
  const got = await poll(() => eventsFor('/all', d.id).find((v) => v.name === 'deployment_status'), { timeout: 15000 });
  assert.ok(got, `deployment_status for ${OTHER} deployment ${d.id} on /all within 15 s; errors: ${JSON.stringify(receiver.errors)}`);
  assert.deepEqual(validateWebhook('webhook-deployment-status-created', got.payload), [], 'deployment_status body');
  assert.equal(got.payload.repository?.full_name, OTHER, 'repository.full_name');
  const q = requestsFor('/all', got.id)[0];
  await checkDeliveryHeaders(q, { event: 'deployment_status', hookId: subs.all.id, secret: 'whsec3' });
  await sleep(1500);
  assert.deepEqual(eventsFor('/all', d.id).map((v) => v.name), ['deployment_status'], '/all (events: deployment_status only)');
  assert.deepEqual(eventsFor('/hook', d.id).map((v) => v.name), [], `/hook (repositories: [${OUT}])`);
  assert.deepEqual(eventsFor('/flaky', d.id).map((v) => v.name), [], `/flaky (repositories: [${OUT}])`);
});

test('PATCH /api/v1/webhooks/{id}: events and active change; an inactive subscription gets nothing', async () => {
  assert.ok(subs.all, 'no subscription (an earlier test failed)');
  const p1 = await adminRaw('PATCH', `/api/v1/webhooks/${subs.all.id}`, { events: ['deployment', 'deployment_status'] });
  assert.equal(p1.status, 200, `PATCH events (${p1.text.slice(0, 300)})`);
  noSecret(p1, 'PATCH');
  checkSubscription(p1.data, 'PATCH');
  assert.deepEqual(sorted(p1.data.events), ['deployment', 'deployment_status'], 'events');
  assert.equal(p1.data.url, subs.all.url, 'url unchanged');
  const p2 = await adminRaw('PATCH', `/api/v1/webhooks/${subs.all.id}`, { active: false });
  assert.equal(p2.status, 200, `PATCH active (${p2.text.slice(0, 300)})`);
  assert.equal(p2.data?.active, false, 'active');
  assert.deepEqual(sorted(p2.data?.events ?? []), ['deployment', 'deployment_status'], 'events kept');
  const g = await adminRaw('GET', `/api/v1/webhooks/${subs.all.id}`);
  assert.equal(g.data?.active, false, 'GET: active');
  const { d, status } = await deploy('hooks-other', `inactive-${rand()}`);
  await status('success');
  await sleep(3000);
  assert.deepEqual(eventsFor('/all', d.id).map((v) => v.name), [], 'deliveries to an inactive subscription');
});

test('the receiver accepted every delivery (no 4xx from @octokit/webhooks) and saw no error', async () => {
  const bad = receiver.requests.filter((q) => (q.path === '/hook' || q.path === '/all') && !(q.status >= 200 && q.status < 300));
  assert.deepEqual(bad.map((q) => ({ path: q.path, event: q.headers['x-github-event'], status: q.status, ct: q.headers['content-type'] })), [], 'rejected deliveries');
  const flakyBad = receiver.requests.filter((q) => q.path === '/flaky' && q.status !== 500 && !(q.status >= 200 && q.status < 300));
  assert.deepEqual(flakyBad.map((q) => ({ event: q.headers['x-github-event'], status: q.status })), [], 'rejected deliveries on /flaky');
  const other = receiver.requests.filter((q) => !['/hook', '/flaky', '/all'].includes(q.path));
  assert.deepEqual(other.map((q) => q.path), [], 'requests to other paths');
  assert.deepEqual(receiver.errors, [], 'receiver errors');
});

test('DELETE /api/v1/webhooks/{id} → 204; then 404 and not listed; no more deliveries', async () => {
  const ids = Object.values(subs).map((s) => s.id);
  assert.ok(ids.length > 0, 'no subscriptions (an earlier test failed)');
  for (const id of ids) {
    const r = await adminRaw('DELETE', `/api/v1/webhooks/${id}`);
    assert.equal(r.status, 204, `DELETE ${id} (${r.text.slice(0, 200)})`);
    assert.equal(r.text, '', `DELETE ${id}: empty body`);
    const g = await adminRaw('GET', `/api/v1/webhooks/${id}`);
    assert.equal(g.status, 404, `GET ${id} after DELETE`);
  }
  const l = await adminRaw('GET', '/api/v1/webhooks');
  assert.ok(Array.isArray(l.data) && !l.data.some((s) => ids.includes(s.id)), 'deleted subscriptions are listed');
  for (const k of Object.keys(subs)) delete subs[k];
  const before = receiver.requests.length;
  const { status } = await deploy('hooks-out', `after-delete-${rand()}`);
  await status('success');
  await sleep(2000);
  // Retries of earlier deliveries are not expected either: all of them were delivered.
  const late = receiver.requests.slice(before);
  assert.deepEqual(late.map((q) => `${q.path} ${q.headers['x-github-event']}`), [], 'deliveries after DELETE');
});

const good = await run(SUITE);
// Leave no subscription behind (a failed test may have skipped the DELETE test's work).
for (const s of Object.values(subs)) await adminRaw('DELETE', `/api/v1/webhooks/${s.id}`).catch(() => {});
await receiver.close();
if (!process.env.CONF_OUT_DIR) fs.rmSync(repo.dir, { recursive: true, force: true });
process.exit(good ? 0 : 1);
