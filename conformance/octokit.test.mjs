// @octokit/rest@22.0.1 against ferry's /api/v3 (github.md §2, §3, §7 "@octokit/rest").
// Every response (success or error) is validated against GitHub's OpenAPI description by the
// hooks installed in lib/ferry.mjs; a schema problem fails the test that caused the request.
import { test, run, assert, expectStatus, setupFailed } from './lib/harness.mjs';
import {
  API, setupRepo, octokitFor, raw, revParse, parseLink, TIMESTAMP, git, rand,
} from './lib/ferry.mjs';
import { coverage } from './lib/oracle.mjs';

const SUITE = 'octokit';
const R = { owner: 'o', repo: 'r' };
const DEL = { owner: 'o', repo: 'del' };
const REPO_API = `${API}/repos/o/r`;
const ACTIVE_MSG = 'We cannot delete an active deployment unless it is the only deployment in a given environment.';
const DOC_CREATE = 'https://docs.github.com/rest/deployments/deployments#create-a-deployment';

let token; let ok; let okDel;
const sha = {};
try {
  token = await setupRepo('o/r');
  await setupRepo('o/del');
  await setupRepo('o/other');
  ok = octokitFor(token);
  okDel = ok;
  for (const ref of ['main', 'main~1', 'main~2', 'topic', 'v1', 'v0-ann', 'ctx', 'feature/abc', 'status-a', 'status-b', 'status-c', 'status-d']) sha[ref] = revParse(ref);
} catch (e) {
  setupFailed(SUITE, e);
}

const create = async (body, repo = R) => (await ok.rest.repos.createDeployment({ ...repo, ...body })).data;
const status = async (id, body, repo = R) => (await ok.rest.repos.createDeploymentStatus({ ...repo, deployment_id: id, ...body })).data;
const statuses = async (id, repo = R) => (await ok.rest.repos.listDeploymentStatuses({ ...repo, deployment_id: id, per_page: 100 })).data;
const listAll = async (params, repo = R) => ok.paginate(ok.rest.repos.listDeployments, { ...repo, per_page: 100, ...params });

function assertValidationFailed(e, field, code) {
  const b = e.response.data;
  assert.equal(b.message, 'Validation Failed', 'message');
  assert.ok(Array.isArray(b.errors) && b.errors.length >= 1, `errors array expected, got ${JSON.stringify(b)}`);
  if (field) {
    const hit = b.errors.find((x) => x.field === field);
    assert.ok(hit, `an error for field ${field} expected in ${JSON.stringify(b.errors)}`);
    if (code) assert.equal(hit.code, code, `errors[field=${field}].code`);
  }
}

// ---------------------------------------------------------------- repository and auth
test('GET /repos/o/r: the repository, URLs built from the external URL', async () => {
  const { data } = await ok.rest.repos.get(R);
  assert.equal(data.full_name, 'o/r');
  assert.equal(data.name, 'r');
  assert.equal(data.owner.login, 'o');
  assert.equal(data.default_branch, 'main');
  assert.equal(data.url, REPO_API, 'url');
  assert.equal(data.deployments_url, `${REPO_API}/deployments`, 'deployments_url');
  assert.ok(data.pushed_at !== null, 'pushed_at is never null');
  // §2.6 constants for features ferry lacks
  for (const k of ['forks_count', 'stargazers_count', 'watchers_count', 'open_issues_count', 'size', 'subscribers_count', 'network_count', 'forks', 'open_issues', 'watchers']) {
    if (k in data) assert.equal(data[k], 0, k);
  }
  for (const k of ['archived', 'disabled', 'fork']) assert.equal(data[k], false, k);
  for (const k of Object.keys(data).filter((x) => x.startsWith('has_'))) assert.equal(data[k], false, k);
  assert.ok('has_downloads' in data, 'has_downloads (webhooks require it)');
  for (const k of ['homepage', 'language', 'mirror_url', 'license']) assert.equal(data[k], null, k);
});

test('owner and repo are case-insensitive', async () => {
  const a = (await ok.rest.repos.get(R)).data;
  const b = (await ok.rest.repos.get({ owner: 'O', repo: 'R' })).data;
  assert.equal(b.id, a.id, 'same repository id');
  assert.equal(b.full_name, 'o/r', 'canonical full_name');
  const d = await create({ ref: 'main', environment: `case-${rand()}` });
  const got = (await ok.rest.repos.getDeployment({ owner: 'O', repo: 'R', deployment_id: d.id })).data;
  assert.equal(got.id, d.id);
});

test('unknown repository → 404 Not Found', async () => {
  const e = await expectStatus(404, () => ok.rest.repos.get({ owner: 'o', repo: 'no-such-repo' }));
  assert.equal(e.response.data.message, 'Not Found');
  await expectStatus(404, () => ok.rest.repos.listDeployments({ owner: 'o', repo: 'no-such-repo' }));
});

test('no token → 401 "Requires authentication"; bad token → 401 "Bad credentials"', async () => {
  const a = await raw('GET', '/repos/o/r/deployments');
  assert.equal(a.status, 401, 'no token');
  assert.equal(a.data?.message, 'Requires authentication');
  const b = await raw('GET', '/repos/o/r/deployments', { token: 'not-a-real-token' });
  assert.equal(b.status, 401, 'bad token');
  assert.equal(b.data?.message, 'Bad credentials');
  const c = await raw('POST', '/repos/o/r/deployments', { token: 'not-a-real-token', body: { ref: 'main' } });
  assert.equal(c.status, 401, 'bad token on POST');
});

test('Authorization schemes: token, Bearer, case-insensitive (D11)', async () => {
  for (const scheme of ['token', 'Bearer', 'bearer', 'TOKEN']) {
    const r = await raw('GET', '/repos/o/r/deployments', { headers: { authorization: `${scheme} ${token}` } });
    assert.equal(r.status, 200, `scheme ${scheme}`);
  }
});

test('Accept previews, empty Accept, X-GitHub-Api-Version and Time-Zone are ignored', async () => {
  for (const headers of [
    { accept: 'application/vnd.github.ant-man-preview+json' },
    { accept: 'application/vnd.github.ant-man-preview+json, application/vnd.github.flash-preview+json' },
    { accept: '' },
    { accept: 'application/vnd.github.v3+json', 'x-github-api-version': '2022-11-28' },
    { 'x-github-api-version': '2026-03-10' },
    { 'time-zone': 'Europe/Amsterdam' },
  ]) {
    const r = await raw('GET', '/repos/o/r/deployments?per_page=1', { token, headers });
    assert.equal(r.status, 200, `headers ${JSON.stringify(headers)}`);
    assert.ok(Array.isArray(r.data), 'array body');
  }
});

test('every operation: no token → 401; unknown repository → 404', async () => {
  const d = await create({ ref: 'main', environment: `auth-${rand()}` });
  const s = await status(d.id, { state: 'queued' });
  const ops = [
    ['GET', '/repos/o/r'], ['GET', '/repos/o/r/deployments'], ['POST', '/repos/o/r/deployments', { ref: 'main' }],
    ['GET', `/repos/o/r/deployments/${d.id}`], ['DELETE', `/repos/o/r/deployments/${d.id}`],
    ['GET', `/repos/o/r/deployments/${d.id}/statuses`], ['POST', `/repos/o/r/deployments/${d.id}/statuses`, { state: 'success' }],
    ['GET', `/repos/o/r/deployments/${d.id}/statuses/${s.id}`], ['GET', '/repos/o/r/environments'],
    ['GET', `/repos/o/r/environments/${d.environment}`], ['PUT', `/repos/o/r/environments/${d.environment}`, {}],
    ['DELETE', `/repos/o/r/environments/${d.environment}`], ['POST', `/repos/o/r/statuses/${sha.main}`, { state: 'success' }],
    ['GET', '/repos/o/r/commits/main/statuses'], ['GET', '/repos/o/r/commits/main/status'],
  ];
  for (const [m, p, body] of ops) {
    const r = await raw(m, p, { body });
    assert.equal(r.status, 401, `${m} ${p} without a token`);
    assert.equal(r.data?.message, 'Requires authentication', `${m} ${p} message`);
    const q = p.replace('/repos/o/r', '/repos/o/no-such-repo');
    const n = await raw(m, q, { body, token });
    assert.equal(n.status, 404, `${m} ${q}`);
    assert.equal(n.data?.message, 'Not Found', `${m} ${q} message`);
  }
  assert.equal((await ok.rest.repos.getDeployment({ ...R, deployment_id: d.id })).data.id, d.id, 'nothing was changed');
});

test('every write operation: bad JSON → 400 "Problems parsing JSON"', async () => {
  const d = await create({ ref: 'main', environment: `json-${rand()}` });
  for (const p of ['/repos/o/r/deployments', `/repos/o/r/deployments/${d.id}/statuses`, `/repos/o/r/statuses/${sha.main}`]) {
    const r = await raw('POST', p, { token, body: '{"state": ', headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 400, `POST ${p} → ${r.status} ${r.text}`);
    assert.equal(r.data?.message, 'Problems parsing JSON', `POST ${p}`);
  }
  const e = await raw('PUT', `/repos/o/r/environments/json-${rand()}`, { token, body: '{"wait_timer": ', headers: { 'content-type': 'application/json' } });
  assert.equal(e.status, 400, `PUT environment → ${e.status} ${e.text}`);
  assert.equal(e.data?.message, 'Problems parsing JSON', 'PUT environment');
});

// ---------------------------------------------------------------- create
test('create: object payload round-trips; defaults (§2.1, §3.2)', async () => {
  const payload = { zeta: 1, alpha: { list: [1, 'two', null, 2.5], t: true, b: false, a: {} }, 'ünï': 'ça 😀 €', empty: '' };
  const { data: d, status: code } = await ok.rest.repos.createDeployment({ ...R, ref: 'main', payload, required_contexts: [] });
  assert.equal(code, 201, 'status');
  assert.deepEqual(d.payload, payload, 'payload');
  assert.equal(JSON.stringify(d.payload), JSON.stringify(payload), 'payload echoed verbatim (key order kept)');
  assert.equal(d.ref, 'main');
  assert.equal(d.sha, sha.main, 'sha');
  assert.equal(d.task, 'deploy', 'task default');
  assert.equal(d.environment, 'production', 'environment default');
  assert.equal(d.original_environment, 'production', 'original_environment');
  assert.equal(d.production_environment, true, 'production_environment default for "production"');
  assert.equal(d.transient_environment, false, 'transient_environment default');
  assert.equal(d.description, '', 'description default');
  assert.equal(d.performed_via_github_app, null, 'performed_via_github_app');
  assert.ok(Number.isInteger(d.id) && d.id > 0, 'positive integer id');
  assert.equal(d.url, `${REPO_API}/deployments/${d.id}`, 'url');
  assert.equal(d.statuses_url, `${REPO_API}/deployments/${d.id}/statuses`, 'statuses_url');
  assert.equal(d.repository_url, REPO_API, 'repository_url');
  assert.match(d.created_at, TIMESTAMP, 'created_at');
  assert.match(d.updated_at, TIMESTAMP, 'updated_at');
  assert.ok(d.creator && typeof d.creator.login === 'string', 'creator');
  assert.ok(d.creator.url.startsWith(`${API}/users/`), `creator.url under {api}/users/: ${d.creator.url}`);
  const got = (await ok.rest.repos.getDeployment({ ...R, deployment_id: d.id })).data;
  assert.deepEqual(got, d, 'GET returns what POST returned');
  assert.equal(JSON.stringify(got.payload), JSON.stringify(payload), 'stored payload keeps its key order');
});

test('create: string payload stays a string (create and get)', async () => {
  const d = await create({ ref: 'main', payload: 'just a string {"not":"parsed"}', environment: `str-${rand()}` });
  assert.equal(d.payload, 'just a string {"not":"parsed"}');
  const got = (await ok.rest.repos.getDeployment({ ...R, deployment_id: d.id })).data;
  assert.equal(got.payload, 'just a string {"not":"parsed"}');
  const listed = (await ok.rest.repos.listDeployments({ ...R, environment: d.environment })).data;
  assert.equal(listed[0].payload, 'just a string {"not":"parsed"}', 'listed payload');
});

test('create: payload absent or null → {}; number or array → 422', async () => {
  const a = await create({ ref: 'main', environment: `p-${rand()}` });
  assert.deepEqual(a.payload, {}, 'absent');
  const b = await create({ ref: 'main', environment: `p-${rand()}`, payload: null });
  assert.deepEqual(b.payload, {}, 'null');
  const r1 = await raw('POST', '/repos/o/r/deployments', { token, body: { ref: 'main', payload: 42 } });
  assert.equal(r1.status, 422, `number payload → ${r1.status} ${r1.text}`);
  const r2 = await raw('POST', '/repos/o/r/deployments', { token, body: { ref: 'main', payload: [1, 2] } });
  assert.equal(r2.status, 422, `array payload → ${r2.status} ${r2.text}`);
});

test('create: explicit fields echo (task, environment, description, flags)', async () => {
  const env = `qa-${rand()}`;
  const d = await create({
    ref: 'main', task: 'deploy:migrations', environment: env, description: 'Deploy request from hubot',
    transient_environment: true, production_environment: false,
  });
  assert.equal(d.task, 'deploy:migrations');
  assert.equal(d.environment, env);
  assert.equal(d.original_environment, env);
  assert.equal(d.description, 'Deploy request from hubot');
  assert.equal(d.transient_environment, true);
  assert.equal(d.production_environment, false);
  const n = await create({ ref: 'main', environment: `qa-${rand()}`, description: null });
  assert.equal(n.description, null, 'explicit null description is echoed');
  assert.equal(n.production_environment, false, 'non-production environment defaults to production_environment=false');
  const p = await create({ ref: 'main', environment: `qa-${rand()}`, production_environment: true });
  assert.equal(p.production_environment, true);
});

test('create: an extra "sha" body field is tolerated and never overrides ref (§3.1)', async () => {
  const d = await create({ ref: 'main', sha: sha.topic, environment: `sha-${rand()}`, required_contexts: [] });
  assert.equal(d.sha, sha.main, 'sha comes from ref');
  assert.equal(d.ref, 'main');
});

test('create: ref refs/heads/main is stored as given', async () => {
  const d = await create({ ref: 'refs/heads/main', environment: `rh-${rand()}` });
  assert.equal(d.ref, 'refs/heads/main');
  assert.equal(d.sha, sha.main);
});

test('create: tag refs (v1, refs/tags/v1, annotated tag → commit)', async () => {
  const a = await create({ ref: 'v1', environment: `tag-${rand()}` });
  assert.equal(a.ref, 'v1');
  assert.equal(a.sha, sha.v1, 'v1 sha');
  const b = await create({ ref: 'refs/tags/v1', environment: `tag-${rand()}` });
  assert.equal(b.ref, 'refs/tags/v1');
  assert.equal(b.sha, sha.v1, 'refs/tags/v1 sha');
  const c = await create({ ref: 'v0-ann', environment: `tag-${rand()}` });
  assert.equal(c.sha, sha['v0-ann'], 'annotated tag resolves to the commit, not the tag object');
});

test('create: short sha (7 hex) and full sha (D9)', async () => {
  const short = sha['main~1'].slice(0, 7);
  const a = await create({ ref: short, environment: `ss-${rand()}` });
  assert.equal(a.ref, short, 'ref stored as given');
  assert.equal(a.sha, sha['main~1'], 'resolved sha');
  const ten = sha['main~2'].slice(0, 10);
  const b = await create({ ref: ten, environment: `ss-${rand()}` });
  assert.equal(b.sha, sha['main~2']);
  const c = await create({ ref: sha['main~2'], environment: `ss-${rand()}` });
  assert.equal(c.ref, sha['main~2']);
  assert.equal(c.sha, sha['main~2']);
});

test('create: branch with a slash (feature/abc)', async () => {
  const d = await create({ ref: 'feature/abc', environment: `fs-${rand()}` });
  assert.equal(d.ref, 'feature/abc');
  assert.equal(d.sha, sha['feature/abc']);
});

test('create: unknown ref → 422 "No ref found for: <ref>" (D1)', async () => {
  for (const ref of ['no-such-branch', 'refs/heads/no-such-branch', 'deadbeefdeadbeefdeadbeefdeadbeefdeadbeef', sha.main.slice(0, 6)]) {
    const e = await expectStatus(422, () => create({ ref }), `ref ${ref}`);
    assert.equal(e.response.data.message, `No ref found for: ${ref}`, `message for ${ref}`);
  }
});

test('create: missing ref → 422 Validation Failed, missing_field', async () => {
  const e = await expectStatus(422, () => ok.request('POST /repos/{owner}/{repo}/deployments', { ...R, environment: 'x' }));
  assertValidationFailed(e, 'ref', 'missing_field');
  assert.equal(e.response.data.errors.find((x) => x.field === 'ref').resource, 'Deployment', 'resource');
});

test('create: wrongly typed fields → 422', async () => {
  const cases = [{ ref: 42 }, { ref: 'main', task: 7 }, { ref: 'main', transient_environment: 'yes' }, { ref: 'main', required_contexts: 'ci' }];
  for (const body of cases) {
    const r = await raw('POST', '/repos/o/r/deployments', { token, body });
    assert.equal(r.status, 422, `${JSON.stringify(body)} → ${r.status} ${r.text}`);
  }
});

test('create: bad JSON → 400 "Problems parsing JSON"; non-object → 400 "Body should be a JSON object"', async () => {
  const a = await raw('POST', '/repos/o/r/deployments', { token, body: '{"ref": "main",', headers: { 'content-type': 'application/json' } });
  assert.equal(a.status, 400, `bad JSON → ${a.status} ${a.text}`);
  assert.equal(a.data?.message, 'Problems parsing JSON');
  for (const body of ['["main"]', '"main"', '42']) {
    const b = await raw('POST', '/repos/o/r/deployments', { token, body, headers: { 'content-type': 'application/json' } });
    assert.equal(b.status, 400, `${body} → ${b.status} ${b.text}`);
    assert.equal(b.data?.message, 'Body should be a JSON object', `message for ${body}`);
  }
});

test('create: request Content-Type with charset, and with none', async () => {
  const a = await raw('POST', '/repos/o/r/deployments', { token, body: JSON.stringify({ ref: 'main', environment: `ct-${rand()}` }), headers: { 'content-type': 'application/json; charset=utf-8' } });
  assert.equal(a.status, 201, `with charset → ${a.status} ${a.text}`);
  const b = await raw('POST', '/repos/o/r/deployments', { token, body: JSON.stringify({ ref: 'main', environment: `ct-${rand()}` }), headers: { 'content-type': 'application/json;charset=UTF-8' } });
  assert.equal(b.status, 201, `charset=UTF-8 → ${b.status} ${b.text}`);
});

test('create: topic branch behind main → 201 whatever auto_merge says (option A)', async () => {
  for (const auto of [undefined, true, false]) {
    const body = { ref: 'topic', environment: `am-${rand()}` };
    if (auto !== undefined) body.auto_merge = auto;
    const { status: code, data } = await ok.rest.repos.createDeployment({ ...R, ...body });
    assert.equal(code, 201, `auto_merge=${auto}`);
    assert.equal(data.sha, sha.topic, 'no merge commit: sha is the topic head');
  }
});

test('create: the environment resource is auto-created (D4)', async () => {
  const env = `auto-env-${rand()}`;
  await create({ ref: 'main', environment: env });
  const { data } = await ok.rest.repos.getEnvironment({ ...R, environment_name: env });
  assert.equal(data.name, env);
  const all = (await ok.rest.repos.getAllEnvironments({ ...R, per_page: 100 })).data;
  assert.ok(all.environments.some((e) => e.name === env), 'listed');
});

test('create: refs added to the git repository after registration resolve (mirror refresh)', async () => {
  const b = `late-${rand()}`;
  git('branch', b, 'main~1');
  git('tag', `late-tag-${b}`, 'main~2');
  // ferry fetches on an unknown ref, but not sooner than 200 ms after its previous fetch
  // (MIN_REFRESH_INTERVAL): an earlier test's unknown refs may just have fetched.
  await new Promise((r) => { setTimeout(r, 300); });
  const d = await create({ ref: b, environment: `late-${rand()}` });
  assert.equal(d.sha, sha['main~1']);
  const t = await create({ ref: `late-tag-${b}`, environment: `late-${rand()}` });
  assert.equal(t.sha, sha['main~2']);
});

// ---------------------------------------------------------------- get / list / pagination
test('get: unknown deployment → 404 Not Found', async () => {
  const e = await expectStatus(404, () => ok.rest.repos.getDeployment({ ...R, deployment_id: 987654321 }));
  assert.equal(e.response.data.message, 'Not Found');
});

test('list: newest first; exact-match filters sha, ref, task, environment', async () => {
  const env = `flt-${rand()}`;
  const env2 = `flt2-${rand()}`;
  const made = [];
  made.push(await create({ ref: 'main', environment: env, task: 'deploy' }));
  made.push(await create({ ref: 'refs/heads/main', environment: env, task: 'deploy:migrate' }));
  made.push(await create({ ref: 'topic', environment: env, task: 'deploy' }));
  made.push(await create({ ref: 'v1', environment: env2, task: 'deploy:migrate' }));
  made.push(await create({ ref: sha.v1, environment: env2, task: 'deploy' }));
  const ids = (xs) => xs.map((x) => x.id);
  const desc = (xs) => ids(xs).sort((a, b) => b - a);

  const byEnv = await listAll({ environment: env });
  assert.deepEqual(ids(byEnv), desc(made.slice(0, 3)), 'environment filter, newest first');
  const bySha = await listAll({ sha: sha.v1, environment: env2 });
  assert.deepEqual(ids(bySha), desc(made.slice(3, 5)), 'sha filter matches any ref spelling');
  const byRef = await listAll({ ref: 'main', environment: env });
  assert.deepEqual(ids(byRef), [made[0].id], 'ref filter is exact (refs/heads/main is not main)');
  const byRef2 = await listAll({ ref: 'refs/heads/main', environment: env });
  assert.deepEqual(ids(byRef2), [made[1].id], 'ref filter refs/heads/main');
  const byTask = await listAll({ task: 'deploy:migrate', environment: env2 });
  assert.deepEqual(ids(byTask), [made[3].id], 'task filter');
  const byShaOnly = await listAll({ sha: sha.topic });
  assert.ok(byShaOnly.every((d) => d.sha === sha.topic), 'sha-only filter returns only that sha');
  assert.ok(byShaOnly.some((d) => d.id === made[2].id), 'sha-only filter finds the topic deployment');
  const all = await listAll({});
  for (let i = 1; i < all.length; i += 1) assert.ok(all[i - 1].id > all[i].id, 'whole list newest first');
  const none = await listAll({ environment: `nothing-${rand()}` });
  assert.deepEqual(none, [], 'no match → []');
});

const pagEnv = `page-${rand()}`;
const pagIds = [];
test('pagination: Link header rels, order and URLs (§3.8)', async () => {
  for (let i = 0; i < 5; i += 1) pagIds.push((await create({ ref: 'main', environment: pagEnv })).id);
  pagIds.sort((a, b) => b - a);
  const base = `/repos/o/r/deployments?environment=${pagEnv}&per_page=2`;
  const pages = {};
  for (const p of [1, 2, 3, 4]) pages[p] = await raw('GET', `${base}&page=${p}`, { token });
  const expectUrl = (url, page, what) => {
    const u = new URL(url);
    assert.equal(`${u.origin}${u.pathname}`, `${REPO_API}/deployments`, `${what}: absolute URL under {api}`);
    assert.equal(u.searchParams.get('environment'), pagEnv, `${what}: keeps environment`);
    assert.equal(u.searchParams.get('per_page'), '2', `${what}: keeps per_page`);
    assert.equal(u.searchParams.get('page'), String(page), `${what}: page`);
  };
  const l1 = parseLink(pages[1].headers.link);
  assert.deepEqual(Object.keys(l1), ['next', 'last'], 'page 1 rels');
  expectUrl(l1.next, 2, 'page 1 next'); expectUrl(l1.last, 3, 'page 1 last');
  const l2 = parseLink(pages[2].headers.link);
  assert.deepEqual(Object.keys(l2), ['prev', 'next', 'last', 'first'], 'page 2 rels in GitHub order');
  expectUrl(l2.prev, 1, 'page 2 prev'); expectUrl(l2.next, 3, 'page 2 next');
  expectUrl(l2.last, 3, 'page 2 last'); expectUrl(l2.first, 1, 'page 2 first');
  const l3 = parseLink(pages[3].headers.link);
  assert.deepEqual(Object.keys(l3), ['prev', 'first'], 'last page rels');
  expectUrl(l3.prev, 2, 'page 3 prev'); expectUrl(l3.first, 1, 'page 3 first');
  assert.deepEqual(pages[1].data.map((d) => d.id), pagIds.slice(0, 2), 'page 1 items');
  assert.deepEqual(pages[2].data.map((d) => d.id), pagIds.slice(2, 4), 'page 2 items');
  assert.deepEqual(pages[3].data.map((d) => d.id), pagIds.slice(4), 'page 3 items');
  assert.equal(pages[4].status, 200, 'page past the end status');
  assert.deepEqual(pages[4].data, [], 'page past the end → []');
  assert.ok(!('next' in parseLink(pages[4].headers.link)), 'page past the end has no next');
  const single = await raw('GET', `/repos/o/r/deployments?environment=${pagEnv}&per_page=10`, { token });
  assert.equal(single.data.length, 5);
  assert.equal(single.headers.link, undefined, 'a single page has no Link');
});

test('pagination: Link URLs keep query values that need encoding (space, slash, plus)', async () => {
  const env = `rel/v 1+x-${rand()}`;
  const made = [];
  for (let i = 0; i < 5; i += 1) made.push((await create({ ref: 'main', environment: env })).id);
  const items = await ok.paginate(ok.rest.repos.listDeployments, { ...R, environment: env, per_page: 2 });
  assert.deepEqual(items.map((d) => d.id), made.reverse(), 'paginate through encoded Link URLs');
  const p2 = await raw('GET', `/repos/o/r/deployments?environment=${encodeURIComponent(env)}&per_page=2&page=2`, { token });
  const l = parseLink(p2.headers.link);
  for (const [rel, url] of Object.entries(l)) assert.equal(new URL(url).searchParams.get('environment'), env, `${rel} keeps the environment`);
});

test('paginate() follows rel="next" across 3 pages; page past the end → []', async () => {
  if (pagIds.length !== 5) assert.fail('depends on the previous test');
  const seen = [];
  for await (const resp of ok.paginate.iterator(ok.rest.repos.listDeployments, { ...R, environment: pagEnv, per_page: 2 })) seen.push(resp.data.length);
  assert.deepEqual(seen, [2, 2, 1], 'page sizes');
  const items = await ok.paginate(ok.rest.repos.listDeployments, { ...R, environment: pagEnv, per_page: 2 });
  assert.deepEqual(items.map((d) => d.id), pagIds, 'all items, newest first');
  const past = await ok.rest.repos.listDeployments({ ...R, environment: pagEnv, per_page: 2, page: 9 });
  assert.deepEqual(past.data, []);
});

test('pagination: per_page above 100 or invalid is clamped/defaulted, not rejected', async () => {
  for (const q of ['per_page=1000', 'per_page=abc', 'per_page=0']) {
    const r = await raw('GET', `/repos/o/r/deployments?environment=${pagEnv}&${q}`, { token });
    assert.equal(r.status, 200, q);
    assert.equal(r.data.length, 5, `${q}: all five items`);
  }
});

// ---------------------------------------------------------------- deployment statuses
test('status create: 201 + Location; defaults (§2.3, §3.2)', async () => {
  const d = await create({ ref: 'main', environment: `st-${rand()}` });
  const res = await ok.rest.repos.createDeploymentStatus({ ...R, deployment_id: d.id, state: 'queued' });
  assert.equal(res.status, 201);
  const s = res.data;
  assert.equal(res.headers.location, `${REPO_API}/deployments/${d.id}/statuses/${s.id}`, 'Location');
  assert.equal(s.url, res.headers.location, 'url = Location');
  assert.equal(s.state, 'queued');
  assert.equal(s.description, '');
  assert.equal(s.target_url, '');
  assert.equal(s.log_url, '');
  assert.equal(s.environment_url, '');
  assert.equal(s.environment, d.environment, 'environment inherited from the deployment');
  assert.equal(s.deployment_url, d.url);
  assert.equal(s.repository_url, REPO_API);
  assert.equal(s.performed_via_github_app, null);
  assert.match(s.created_at, TIMESTAMP);
  const got = (await ok.rest.repos.getDeploymentStatus({ ...R, deployment_id: d.id, status_id: s.id })).data;
  assert.deepEqual(got, s, 'get returns the created status');
});

test('status: every state is accepted; list is newest first', async () => {
  const d = await create({ ref: 'main', environment: `states-${rand()}`, transient_environment: true });
  const states = ['queued', 'pending', 'in_progress', 'error', 'failure', 'inactive', 'success'];
  const made = [];
  for (const state of states) made.push(await status(d.id, { state }));
  made.forEach((s, i) => assert.equal(s.state, states[i]));
  const list = await statuses(d.id);
  assert.deepEqual(list.map((s) => s.id), made.map((s) => s.id).reverse(), 'newest first');
});

test('status: log_url ↔ target_url (§3.4)', async () => {
  const d = await create({ ref: 'main', environment: `urls-${rand()}` });
  const a = await status(d.id, { state: 'in_progress', log_url: 'https://ci.example.com/log/1' });
  assert.equal(a.log_url, 'https://ci.example.com/log/1');
  assert.equal(a.target_url, 'https://ci.example.com/log/1', 'log_url also sets target_url');
  const b = await status(d.id, { state: 'in_progress', target_url: 'https://ci.example.com/t/2' });
  assert.equal(b.target_url, 'https://ci.example.com/t/2');
  assert.equal(b.log_url, 'https://ci.example.com/t/2', 'target_url only → log_url = target_url');
  const c = await status(d.id, { state: 'success', environment_url: 'https://app.example.com' });
  assert.equal(c.environment_url, 'https://app.example.com');
  assert.equal(c.target_url, '');
  assert.equal(c.log_url, '');
});

test('status: environment inheritance; another environment updates the deployment (D2)', async () => {
  const env = `envA-${rand()}`;
  const envB = `envB-${rand()}`;
  const d = await create({ ref: 'main', environment: env });
  const s1 = await status(d.id, { state: 'in_progress', environment: envB });
  assert.equal(s1.environment, envB);
  const s2 = await status(d.id, { state: 'success' });
  assert.equal(s2.environment, envB, 'inherits the previous status environment');
  const got = (await ok.rest.repos.getDeployment({ ...R, deployment_id: d.id })).data;
  assert.equal(got.environment, envB, 'deployment.environment updated');
  assert.equal(got.original_environment, env, 'original_environment kept');
});

test('status: description of 140 chars ok, 141 → 422 (D7)', async () => {
  const d = await create({ ref: 'main', environment: `desc-${rand()}` });
  const s = await status(d.id, { state: 'pending', description: 'x'.repeat(140) });
  assert.equal(s.description.length, 140);
  await expectStatus(422, () => status(d.id, { state: 'pending', description: 'y'.repeat(141) }));
  const list = await statuses(d.id);
  assert.equal(list.length, 1, 'the rejected status was not stored');
  const u = await status(d.id, { state: 'pending', description: 'é'.repeat(70) + '😀'.repeat(70) });
  assert.equal([...u.description].length, 140, '140 multi-byte characters are accepted (characters, not bytes)');
});

test('status: bad or missing state → 422', async () => {
  const d = await create({ ref: 'main', environment: `bad-${rand()}` });
  const e = await expectStatus(422, () => status(d.id, { state: 'bogus' }));
  assert.equal(e.response.data.message, 'Validation Failed');
  const e2 = await expectStatus(422, () => ok.request('POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses', { ...R, deployment_id: d.id, description: 'no state' }));
  assertValidationFailed(e2, 'state');
  await expectStatus(422, () => status(d.id, { state: 'SUCCESS' }), 'states are lower case');
});

test('status: unknown deployment / status → 404', async () => {
  await expectStatus(404, () => status(987654321, { state: 'success' }), 'create');
  await expectStatus(404, () => ok.rest.repos.listDeploymentStatuses({ ...R, deployment_id: 987654321 }), 'list');
  const d = await create({ ref: 'main', environment: `nf-${rand()}` });
  const e = await expectStatus(404, () => ok.rest.repos.getDeploymentStatus({ ...R, deployment_id: d.id, status_id: 987654321 }), 'get');
  assert.equal(e.response.data.message, 'Not Found');
  const other = await create({ ref: 'main', environment: `nf-${rand()}` });
  const s = await status(other.id, { state: 'queued' });
  await expectStatus(404, () => ok.rest.repos.getDeploymentStatus({ ...R, deployment_id: d.id, status_id: s.id }), 'status of another deployment');
});

test('status list: pagination with Link', async () => {
  const d = await create({ ref: 'main', environment: `spg-${rand()}`, transient_environment: true });
  const ids = [];
  for (const state of ['queued', 'pending', 'in_progress', 'in_progress', 'success']) ids.push((await status(d.id, { state })).id);
  ids.reverse();
  const p1 = await raw('GET', `/repos/o/r/deployments/${d.id}/statuses?per_page=2`, { token });
  const l = parseLink(p1.headers.link);
  assert.deepEqual(Object.keys(l), ['next', 'last']);
  assert.equal(new URL(l.last).searchParams.get('page'), '3');
  const all = await ok.paginate(ok.rest.repos.listDeploymentStatuses, { ...R, deployment_id: d.id, per_page: 2 });
  assert.deepEqual(all.map((s) => s.id), ids);
  const past = await ok.rest.repos.listDeploymentStatuses({ ...R, deployment_id: d.id, per_page: 2, page: 4 });
  assert.deepEqual(past.data, []);
});

test('auto_inactive: prior success in the same non-production environment gets an inactive status', async () => {
  const env = `ai-${rand()}`;
  const a = await create({ ref: 'main', environment: env });
  await status(a.id, { state: 'success' });
  const b = await create({ ref: 'main', environment: env });
  await status(b.id, { state: 'success', auto_inactive: false });
  assert.equal((await statuses(a.id))[0].state, 'success', 'auto_inactive:false leaves A alone');
  const c = await create({ ref: 'main', environment: env });
  await status(c.id, { state: 'success' });
  const la = await statuses(a.id);
  const lb = await statuses(b.id);
  assert.equal(la[0].state, 'inactive', 'A inactivated');
  assert.equal(lb[0].state, 'inactive', 'B inactivated');
  assert.equal(la[0].environment, env, 'inactive status carries the environment');
  assert.equal((await statuses(c.id))[0].state, 'success', 'C stays success');
  // "same environment as the new status": a status that names another environment
  const envX = `aiX-${rand()}`;
  const x = await create({ ref: 'main', environment: envX });
  await status(x.id, { state: 'success' });
  const y = await create({ ref: 'main', environment: `aiY-${rand()}` });
  await status(y.id, { state: 'success', environment: envX });
  assert.equal((await statuses(x.id))[0].state, 'inactive', 'a success status for environment X inactivates X\'s earlier deployment');
  // "same repository"
  const OTHER = { owner: 'o', repo: 'other' };
  const envZ = `aiZ-${rand()}`;
  const o1 = await create({ ref: 'main', environment: envZ }, OTHER);
  await status(o1.id, { state: 'success' }, OTHER);
  const z = await create({ ref: 'main', environment: envZ });
  await status(z.id, { state: 'success' });
  assert.equal((await statuses(o1.id, OTHER))[0].state, 'success', 'another repository\'s deployment is untouched');
});

// ---------------------------------------------------------------- delete (own repository o/del)
test('delete: the only deployment of a repository can always be deleted', async () => {
  const a = await create({ ref: 'main', environment: 'del-x' }, DEL);
  await status(a.id, { state: 'success' }, DEL);
  const r = await okDel.rest.repos.deleteDeployment({ ...DEL, deployment_id: a.id });
  assert.equal(r.status, 204);
  await expectStatus(404, () => okDel.rest.repos.getDeployment({ ...DEL, deployment_id: a.id }), 'gone');
});

test('delete: active one → 422 with GitHub\'s message; inactive ones → 204; repository scope (D10)', async () => {
  const b = await create({ ref: 'main', environment: 'del-x' }, DEL);
  await status(b.id, { state: 'success' }, DEL);
  const c = await create({ ref: 'main', environment: 'del-x' }, DEL);
  const e = await expectStatus(422, () => okDel.rest.repos.deleteDeployment({ ...DEL, deployment_id: b.id }), 'active');
  assert.equal(e.response.data.message, ACTIVE_MSG);
  // c has no status at all: not active
  assert.equal((await okDel.rest.repos.deleteDeployment({ ...DEL, deployment_id: c.id })).status, 204, 'no status → deletable');
  // b is now the only deployment of the repository
  assert.equal((await okDel.rest.repos.deleteDeployment({ ...DEL, deployment_id: b.id })).status, 204, 'only one left');

  const d = await create({ ref: 'main', environment: 'del-y' }, DEL);
  await status(d.id, { state: 'success' }, DEL);
  const f = await create({ ref: 'main', environment: 'del-z' }, DEL);
  const e2 = await expectStatus(422, () => okDel.rest.repos.deleteDeployment({ ...DEL, deployment_id: d.id }), 'only one in its environment but not in the repository');
  assert.equal(e2.response.data.message, ACTIVE_MSG);
  await status(d.id, { state: 'inactive' }, DEL);
  assert.equal((await okDel.rest.repos.deleteDeployment({ ...DEL, deployment_id: d.id })).status, 204, 'latest inactive → deletable');
  const g = await create({ ref: 'main', environment: 'del-z' }, DEL);
  await status(g.id, { state: 'success' }, DEL);
  await status(g.id, { state: 'failure' }, DEL);
  assert.equal((await okDel.rest.repos.deleteDeployment({ ...DEL, deployment_id: g.id })).status, 204, 'latest failure → deletable');
  const h = await create({ ref: 'main', environment: 'del-z' }, DEL);
  await status(h.id, { state: 'success', auto_inactive: false }, DEL);
  await status(h.id, { state: 'in_progress' }, DEL);
  assert.equal((await okDel.rest.repos.deleteDeployment({ ...DEL, deployment_id: h.id })).status, 204, 'latest in_progress → deletable (not success)');
  await expectStatus(404, () => okDel.rest.repos.deleteDeployment({ ...DEL, deployment_id: g.id }), 'deleted twice');
  await expectStatus(404, () => okDel.rest.repos.listDeploymentStatuses({ ...DEL, deployment_id: g.id }), 'statuses of a deleted deployment');
  assert.equal((await okDel.rest.repos.deleteDeployment({ ...DEL, deployment_id: f.id })).status, 204, 'last one');
});

test('delete: unknown deployment → 404', async () => {
  const e = await expectStatus(404, () => ok.rest.repos.deleteDeployment({ ...R, deployment_id: 987654321 }));
  assert.equal(e.response.data.message, 'Not Found');
});

// ---------------------------------------------------------------- required contexts (branch ctx)
const countCtx = async () => (await listAll({ sha: sha.ctx })).length;
const commitStatus = async (s, body) => (await ok.rest.repos.createCommitStatus({ ...R, sha: s, ...body })).data;

test('required_contexts omitted: a failing context → 409 in GitHub\'s shape; nothing created', async () => {
  await commitStatus(sha.ctx, { state: 'failure', context: 'ci/build' });
  await commitStatus(sha.ctx, { state: 'success', context: 'lint' });
  const before = await countCtx();
  const e = await expectStatus(409, () => create({ ref: 'ctx' }));
  const b = e.response.data;
  assert.equal(b.message, 'Conflict: Commit status checks failed for ctx.');
  assert.equal(b.documentation_url, DOC_CREATE);
  assert.equal(b.status, '409');
  assert.ok(Array.isArray(b.errors) && b.errors.length === 1, `one error expected: ${JSON.stringify(b.errors)}`);
  const err = b.errors[0];
  assert.equal(err.resource, 'Deployment');
  assert.equal(err.field, 'required_contexts');
  assert.equal(err.code, 'invalid');
  const ctxs = [...err.contexts].sort((x, y) => x.context.localeCompare(y.context));
  assert.deepEqual(ctxs, [{ context: 'ci/build', state: 'failure' }, { context: 'lint', state: 'success' }], 'every context checked with its latest state');
  assert.equal(await countCtx(), before, 'no deployment created');
  const e2 = await expectStatus(409, () => create({ ref: 'refs/heads/ctx' }));
  assert.equal(e2.response.data.message, 'Conflict: Commit status checks failed for refs/heads/ctx.', 'ref as sent');
  const e3 = await expectStatus(409, () => create({ ref: sha.ctx.slice(0, 8) }));
  assert.equal(e3.response.data.message, `Conflict: Commit status checks failed for ${sha.ctx.slice(0, 8)}.`, 'short sha as sent');
});

test('required_contexts listed: only those are checked; a never-reported one is pending (D6)', async () => {
  const ok1 = await create({ ref: 'ctx', required_contexts: ['lint'], environment: `rc-${rand()}` });
  assert.equal(ok1.sha, sha.ctx);
  const e = await expectStatus(409, () => create({ ref: 'ctx', required_contexts: ['ci/build'] }));
  assert.deepEqual(e.response.data.errors[0].contexts, [{ context: 'ci/build', state: 'failure' }]);
  const e2 = await expectStatus(409, () => create({ ref: 'ctx', required_contexts: ['lint', 'never/reported'] }));
  const c2 = [...e2.response.data.errors[0].contexts].sort((x, y) => x.context.localeCompare(y.context));
  assert.deepEqual(c2, [{ context: 'lint', state: 'success' }, { context: 'never/reported', state: 'pending' }]);
  const e3 = await expectStatus(409, () => create({ ref: 'main', required_contexts: ['never/reported'] }));
  assert.equal(e3.response.data.message, 'Conflict: Commit status checks failed for main.');
});

test('required_contexts []: the check is skipped', async () => {
  const d = await create({ ref: 'ctx', required_contexts: [], environment: `rc-${rand()}` });
  assert.equal(d.sha, sha.ctx);
});

test('required_contexts: pending fails; latest status per context counts; context is case-insensitive', async () => {
  await commitStatus(sha.ctx, { state: 'success', context: 'CI/Build' });
  const d = await create({ ref: 'ctx', environment: `rc-${rand()}` });
  assert.equal(d.sha, sha.ctx, 'all contexts success now (CI/Build supersedes ci/build)');
  await commitStatus(sha.ctx, { state: 'pending', context: 'deploy/gate' });
  const e = await expectStatus(409, () => create({ ref: 'ctx' }));
  const pend = e.response.data.errors[0].contexts.find((c) => c.context === 'deploy/gate');
  assert.deepEqual(pend, { context: 'deploy/gate', state: 'pending' });
  await commitStatus(sha.ctx, { state: 'error', context: 'deploy/gate' });
  const e2 = await expectStatus(409, () => create({ ref: 'ctx' }));
  assert.deepEqual(e2.response.data.errors[0].contexts.find((c) => c.context === 'deploy/gate'), { context: 'deploy/gate', state: 'error' });
});

// ---------------------------------------------------------------- commit statuses (status-a..d)
test('commit status create: 201 + Location; fields', async () => {
  const res = await ok.rest.repos.createCommitStatus({ ...R, sha: sha['status-a'], state: 'success', target_url: 'https://ci.example.com/1', description: 'Build ok' });
  assert.equal(res.status, 201);
  assert.equal(res.headers.location, `${REPO_API}/statuses/${sha['status-a']}`, 'Location');
  const s = res.data;
  assert.equal(s.url, res.headers.location, 'url = Location');
  assert.equal(s.state, 'success');
  assert.equal(s.context, 'default', 'context default');
  assert.equal(s.description, 'Build ok');
  assert.equal(s.target_url, 'https://ci.example.com/1');
  assert.ok(s.creator && s.creator.login, 'creator');
  const bare = (await ok.rest.repos.createCommitStatus({ ...R, sha: sha['status-a'], state: 'pending', context: 'bare' })).data;
  assert.ok(bare.target_url === null || bare.target_url === '', `target_url not given → null (or ""), got ${JSON.stringify(bare.target_url)}`);
  assert.equal(bare.context, 'bare');
});

test('commit status: bad or missing state → 422', async () => {
  for (const state of ['in_progress', 'bogus']) {
    await expectStatus(422, () => ok.rest.repos.createCommitStatus({ ...R, sha: sha['status-b'], state }), state);
  }
  await expectStatus(422, () => ok.request('POST /repos/{owner}/{repo}/statuses/{sha}', { ...R, sha: sha['status-b'], context: 'x' }), 'missing state');
});

test('commit status: at most 1000 per sha and context, then 422 (§2.5)', async () => {
  const s = sha['status-b'];
  const ctx = `cap-${rand()}`;
  let n = 0;
  const worker = async () => {
    while (n < 1000) {
      n += 1;
      const r = await raw('POST', `/repos/o/r/statuses/${s}`, { token, body: { state: 'pending', context: ctx }, validate: n % 100 === 0 });
      if (r.status !== 201) throw new Error(`status #${n} → ${r.status} ${r.text}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  const over = await raw('POST', `/repos/o/r/statuses/${s}`, { token, body: { state: 'success', context: ctx } });
  assert.equal(over.status, 422, `status #1001 → ${over.status} ${over.text}`);
  const other = await raw('POST', `/repos/o/r/statuses/${s}`, { token, body: { state: 'success', context: `${ctx}-other` } });
  assert.equal(other.status, 201, 'another context is not capped');
  const big = await raw('GET', `/repos/o/r/commits/${s}/statuses?per_page=1000`, { token });
  assert.equal(big.data.length, 100, 'per_page above 100 → 100');
  assert.equal(new URL(parseLink(big.headers.link).last).searchParams.get('page'), '11', '1001 statuses / 100 → 11 pages');
  const dflt = await raw('GET', `/repos/o/r/commits/${s}/statuses?per_page=abc`, { token });
  assert.equal(dflt.data.length, 30, 'invalid per_page → 30');
  const none = await raw('GET', `/repos/o/r/commits/${s}/statuses`, { token });
  assert.equal(none.data.length, 30, 'default per_page 30');
  assert.equal(new URL(parseLink(none.headers.link).last).searchParams.get('page'), '34', '1001 / 30 → 34 pages');
});

test('commit statuses list: by sha, branch and heads/<branch>, newest first, paged', async () => {
  const s = sha['status-c'];
  const made = [];
  for (const [state, context] of [['pending', 'a'], ['success', 'a'], ['failure', 'b'], ['success', 'c'], ['error', 'd']]) {
    made.push(await commitStatus(s, { state, context }));
  }
  const want = made.map((x) => x.id).reverse();
  for (const ref of [s, 'status-c', 'heads/status-c']) {
    const got = await ok.paginate(ok.rest.repos.listCommitStatusesForRef, { ...R, ref, per_page: 2 });
    assert.deepEqual(got.map((x) => x.id), want, `ref ${ref}`);
  }
  const p1 = await raw('GET', `/repos/o/r/commits/status-c/statuses?per_page=2`, { token });
  assert.deepEqual(Object.keys(parseLink(p1.headers.link)), ['next', 'last']);
});

test('combined status: state rules, latest per context, URLs (§2.5)', async () => {
  const s = sha['status-d'];
  const comb = async () => (await ok.rest.repos.getCombinedStatusForRef({ ...R, ref: 'status-d' })).data;
  let c = await comb();
  assert.equal(c.state, 'pending', 'no statuses → pending');
  assert.equal(c.total_count, 0);
  assert.deepEqual(c.statuses, []);
  assert.equal(c.sha, s);
  assert.equal(c.commit_url, `${REPO_API}/commits/${s}`);
  assert.equal(c.url, `${REPO_API}/commits/${s}/status`);
  assert.equal(c.repository.full_name, 'o/r');
  await commitStatus(s, { state: 'success', context: 'build' });
  await commitStatus(s, { state: 'success', context: 'lint', target_url: 'https://ci.example.com/lint' });
  c = await comb();
  assert.equal(c.state, 'success', 'all success');
  assert.equal(c.total_count, 2);
  const build = c.statuses.find((x) => x.context === 'build');
  assert.ok(build.target_url === null, `combined target_url is a URI or null, never "": ${JSON.stringify(build.target_url)}`);
  await commitStatus(s, { state: 'pending', context: 'e2e' });
  assert.equal((await comb()).state, 'pending', 'one pending');
  await commitStatus(s, { state: 'failure', context: 'e2e' });
  c = await comb();
  assert.equal(c.state, 'failure', 'one failure');
  assert.equal(c.total_count, 3, 'latest per context');
  assert.equal(c.statuses.find((x) => x.context === 'e2e').state, 'failure');
  await commitStatus(s, { state: 'success', context: 'E2E' });
  c = await comb();
  assert.equal(c.state, 'success', 'a later success of the same (case-insensitive) context');
  assert.equal(c.total_count, 3);
  await commitStatus(s, { state: 'error', context: 'other' });
  assert.equal((await comb()).state, 'failure', 'error → failure');
  const bySha = (await ok.rest.repos.getCombinedStatusForRef({ ...R, ref: s })).data;
  assert.equal(bySha.total_count, 4);
  const byHeads = (await ok.rest.repos.getCombinedStatusForRef({ ...R, ref: 'heads/status-d' })).data;
  assert.equal(byHeads.sha, s);
});

test('commit statuses list: tag and tags/<tag> refs', async () => {
  const made = await commitStatus(sha.v1, { state: 'success', context: `tagged-${rand()}` });
  for (const ref of ['v1', 'tags/v1']) {
    const got = (await ok.rest.repos.listCommitStatusesForRef({ ...R, ref, per_page: 100 })).data;
    assert.ok(got.some((x) => x.id === made.id), `ref ${ref} lists the status`);
  }
});

test('combined status: tag and tags/<tag> refs; unknown ref → 404', async () => {
  const c = (await ok.rest.repos.getCombinedStatusForRef({ ...R, ref: 'tags/v1' })).data;
  assert.equal(c.sha, sha.v1);
  const c2 = (await ok.rest.repos.getCombinedStatusForRef({ ...R, ref: 'v1' })).data;
  assert.equal(c2.sha, sha.v1);
  await expectStatus(404, () => ok.rest.repos.getCombinedStatusForRef({ ...R, ref: 'no-such-ref' }));
});

// ---------------------------------------------------------------- environments
const ENV_DOC = (name) => `${REPO_API}/environments/${encodeURIComponent(name)}`;

test('environments: PUT without body → 200; GET; fields (§2.4)', async () => {
  const name = `env-${rand()}`;
  const res = await ok.rest.repos.createOrUpdateEnvironment({ ...R, environment_name: name });
  assert.equal(res.status, 200);
  const e = res.data;
  assert.equal(e.name, name);
  assert.equal(e.url, ENV_DOC(name), 'url');
  assert.ok(typeof e.html_url === 'string' && /^https?:\/\//.test(e.html_url), 'html_url');
  assert.deepEqual(e.protection_rules, [], 'protection_rules');
  assert.equal(e.deployment_branch_policy, null, 'deployment_branch_policy');
  assert.match(e.created_at, TIMESTAMP);
  const got = (await ok.rest.repos.getEnvironment({ ...R, environment_name: name })).data;
  assert.equal(got.id, e.id);
  assert.equal(got.node_id, e.node_id);
  const again = (await ok.rest.repos.createOrUpdateEnvironment({ ...R, environment_name: name })).data;
  assert.equal(again.id, e.id, 'PUT again updates the same environment');
});

test('environments: PUT with settings; null body fields', async () => {
  const name = `envs-${rand()}`;
  const a = await ok.rest.repos.createOrUpdateEnvironment({
    ...R, environment_name: name, wait_timer: 30, prevent_self_review: false, reviewers: null,
    deployment_branch_policy: { protected_branches: false, custom_branch_policies: true },
  });
  assert.equal(a.status, 200);
  const b = await ok.rest.repos.createOrUpdateEnvironment({ ...R, environment_name: name, deployment_branch_policy: null, wait_timer: null });
  assert.equal(b.status, 200);
  const c = await raw('PUT', `/repos/o/r/environments/${name}`, { token, body: 'null', headers: { 'content-type': 'application/json' } });
  assert.equal(c.status, 200, `null body → ${c.status} ${c.text}`);
});

test('environments: invalid settings → 422', async () => {
  const name = `envbad-${rand()}`;
  const bad = [
    { deployment_branch_policy: { protected_branches: true, custom_branch_policies: true } },
    { deployment_branch_policy: { protected_branches: false, custom_branch_policies: false } },
    { wait_timer: 43201 },
    { wait_timer: -1 },
    { reviewers: Array.from({ length: 7 }, (_, i) => ({ type: 'User', id: i + 1 })) },
  ];
  for (const body of bad) {
    const r = await raw('PUT', `/repos/o/r/environments/${name}`, { token, body });
    assert.equal(r.status, 422, `${JSON.stringify(body)} → ${r.status} ${r.text}`);
  }
  const ok43200 = await raw('PUT', `/repos/o/r/environments/${name}`, { token, body: { wait_timer: 43200 } });
  assert.equal(ok43200.status, 200, `wait_timer 43200 → ${ok43200.status} ${ok43200.text}`);
});

test('environments: a name with "/" (URL-encoded), GET via its url, DELETE → 204 then 404', async () => {
  const name = `release/v1-${rand()}`;
  const e = (await ok.rest.repos.createOrUpdateEnvironment({ ...R, environment_name: name })).data;
  assert.equal(e.name, name);
  const viaUrl = await raw('GET', e.url, { token });
  assert.equal(viaUrl.status, 200, `GET ${e.url}`);
  assert.equal(viaUrl.data.name, name);
  const got = (await ok.rest.repos.getEnvironment({ ...R, environment_name: name })).data;
  assert.equal(got.id, e.id);
  const del = await ok.rest.repos.deleteAnEnvironment({ ...R, environment_name: name });
  assert.equal(del.status, 204);
  await expectStatus(404, () => ok.rest.repos.getEnvironment({ ...R, environment_name: name }), 'after delete');
  await expectStatus(404, () => ok.rest.repos.deleteAnEnvironment({ ...R, environment_name: name }), 'delete twice');
});

test('environments: names with space and non-ASCII round-trip through the path', async () => {
  for (const name of [`staging eu-${rand()}`, `prod-ü-${rand()}`]) {
    const e = (await ok.rest.repos.createOrUpdateEnvironment({ ...R, environment_name: name })).data;
    assert.equal(e.name, name);
    const viaUrl = await raw('GET', e.url, { token });
    assert.equal(viaUrl.status, 200, `GET ${e.url}`);
    assert.equal(viaUrl.data.name, name);
    const d = await create({ ref: 'main', environment: name });
    assert.equal(d.environment, name);
    const listed = await listAll({ environment: name });
    assert.deepEqual(listed.map((x) => x.id), [d.id], 'environment filter with an encoded name');
  }
});

test('environments: list {total_count, environments}, paged', async () => {
  await ok.rest.repos.createOrUpdateEnvironment({ ...R, environment_name: `envl-${rand()}` });
  await ok.rest.repos.createOrUpdateEnvironment({ ...R, environment_name: `envl-${rand()}` });
  const all = (await ok.rest.repos.getAllEnvironments({ ...R, per_page: 100 })).data;
  assert.ok(all.total_count >= 2, 'total_count');
  assert.equal(all.environments.length, Math.min(all.total_count, 100));
  const one = (await ok.rest.repos.getAllEnvironments({ ...R, per_page: 1, page: 2 })).data;
  assert.equal(one.total_count, all.total_count, 'total_count on a page is the grand total');
  assert.equal(one.environments.length, 1);
  assert.equal(one.environments[0].name, all.environments[1].name, 'page 2 of per_page=1');
});

test('environments: unknown → 404', async () => {
  await expectStatus(404, () => ok.rest.repos.getEnvironment({ ...R, environment_name: `none-${rand()}` }));
});

test('not served: branch policies and protection rules → 404', async () => {
  const name = `ns-${rand()}`;
  await ok.rest.repos.createOrUpdateEnvironment({ ...R, environment_name: name });
  for (const p of [`/repos/o/r/environments/${name}/deployment-branch-policies`, `/repos/o/r/environments/${name}/deployment_protection_rules`]) {
    const r = await raw('GET', p, { token });
    assert.equal(r.status, 404, p);
  }
});

// ---------------------------------------------------------------- coverage
test('every endpoint family got a validated success response', async () => {
  const ops = [
    'GET /repos/{owner}/{repo} 200',
    'GET /repos/{owner}/{repo}/deployments 200',
    'POST /repos/{owner}/{repo}/deployments 201',
    'GET /repos/{owner}/{repo}/deployments/{deployment_id} 200',
    'DELETE /repos/{owner}/{repo}/deployments/{deployment_id} 204',
    'GET /repos/{owner}/{repo}/deployments/{deployment_id}/statuses 200',
    'POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses 201',
    'GET /repos/{owner}/{repo}/deployments/{deployment_id}/statuses/{status_id} 200',
    'GET /repos/{owner}/{repo}/environments 200',
    'GET /repos/{owner}/{repo}/environments/{environment_name} 200',
    'PUT /repos/{owner}/{repo}/environments/{environment_name} 200',
    'DELETE /repos/{owner}/{repo}/environments/{environment_name} 204',
    'POST /repos/{owner}/{repo}/statuses/{sha} 201',
    'GET /repos/{owner}/{repo}/commits/{ref}/statuses 200',
    'GET /repos/{owner}/{repo}/commits/{ref}/status 200',
  ];
  const missing = ops.filter((k) => !coverage.get(k));
  assert.deepEqual(missing, [], 'operations never validated');
  const n = [...coverage.values()].reduce((a, b) => a + b, 0);
  console.log(`     (${n} responses validated against the OpenAPI description in this suite)`);
});

const good = await run(SUITE);
process.exit(good ? 0 : 1);
