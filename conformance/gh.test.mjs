// `gh api` (Debian's gh 2.23.0+dfsg1-1) against ferry over plain HTTP (github.md §4 "gh").
//
// What gh 2.23 does with a plain-HTTP host (checked with a request-logging server):
//   * `gh api repos/o/r/...` (a relative path) always builds https://$GH_HOST/api/v3/... : unusable
//     over plain HTTP ("http: server gave HTTP response to HTTPS client").
//   * `gh api http://127.0.0.1:PORT/api/v3/...` (a full URL) is sent as given. The token sent is
//     GH_ENTERPRISE_TOKEN (for any host that is not github.com), with or without GH_HOST.
//   * GH_TOKEN is for github.com only: it is never sent to 127.0.0.1, even with GH_HOST set.
//   * gh sends `Authorization: token <t>`, an empty Accept, and Time-Zone.
// So: full URLs + GH_HOST=127.0.0.1:PORT + GH_ENTERPRISE_TOKEN=<t>.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, skip, run, assert, setupFailed } from './lib/harness.mjs';
import { API, FERRY_URL, setupRepo, check, revParse, rand, raw } from './lib/ferry.mjs';

const SUITE = 'gh';
const R = `${API}/repos/o/gh`;
const hostPort = new URL(FERRY_URL).host;

const ghPath = (() => {
  const r = spawnSync('sh', ['-c', 'command -v gh'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
})();

let token; let version = '';
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'conf-gh-home-'));

function ghEnv(extra) {
  const env = { ...process.env };
  for (const k of ['GH_TOKEN', 'GITHUB_TOKEN', 'GH_ENTERPRISE_TOKEN', 'GITHUB_ENTERPRISE_TOKEN', 'GH_HOST', 'GH_REPO']) delete env[k];
  return {
    ...env,
    HOME: home,
    GH_CONFIG_DIR: path.join(home, 'gh'),
    GH_NO_UPDATE_NOTIFIER: '1',
    GH_PROMPT_DISABLED: '1',
    NO_COLOR: '1',
    ...extra,
  };
}

/** Runs gh with GH_HOST/GH_ENTERPRISE_TOKEN (unless env overrides); returns {code, stdout, stderr}. */
function gh(args, env = { GH_HOST: hostPort, GH_ENTERPRISE_TOKEN: token }) {
  const r = spawnSync(ghPath, args, { encoding: 'utf8', env: ghEnv(env), timeout: 60_000 });
  return { code: r.status, stdout: r.stdout || '', stderr: r.stderr || '', error: r.error };
}

/** Parses `gh api -i` output: status line, headers, blank line, body. */
function parseInclude(out) {
  const lines = out.split('\n');
  const m = /^HTTP\/[\d.]+ (\d{3})/.exec(lines[0] || '');
  if (!m) throw new Error(`cannot parse gh -i output: ${out.slice(0, 300)}`);
  const headers = {};
  let i = 1;
  for (; i < lines.length; i += 1) {
    const line = lines[i].replace(/\r$/, '');
    if (line === '') break;
    const c = line.indexOf(':');
    if (c > 0) headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
  }
  const text = lines.slice(i + 1).join('\n').trim();
  return { status: Number(m[1]), headers, body: text ? JSON.parse(text) : undefined };
}

/** `gh api -i` + schema validation of the answer. */
function ghApi(method, url, args = [], env) {
  const r = gh(['api', '-i', '-X', method, url, ...args], env);
  if (r.error) throw r.error;
  const res = parseInclude(r.stdout);
  check(method, url, res.status, res.headers, res.body);
  return { ...res, code: r.code, stderr: r.stderr };
}

/** Parses concatenated JSON values (what `gh api --paginate` prints in 2.23). */
function parseConcatenated(text) {
  const values = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && /\s/.test(text[i])) i += 1;
    if (i >= text.length) break;
    let depth = 0; let inStr = false; let j = i;
    for (; j < text.length; j += 1) {
      const c = text[j];
      if (inStr) {
        if (c === '\\') j += 1;
        else if (c === '"') inStr = false;
      } else if (c === '"') inStr = true;
      else if (c === '[' || c === '{') depth += 1;
      else if (c === ']' || c === '}') { depth -= 1; if (depth === 0) break; }
    }
    values.push(JSON.parse(text.slice(i, j + 1)));
    i = j + 1;
  }
  return values;
}

if (!ghPath) {
  console.log('SKIPPED gh tests: gh is not installed (apt-get install -y gh; .ci/run installs it)');
  for (const name of ['gh api: repository', 'gh api: create with -F required_contexts[]', 'gh api --paginate']) skip(name, 'gh is not installed');
} else {
  try {
    token = await setupRepo('o/gh');
    version = gh(['--version'], {}).stdout.split('\n')[0];
    console.log(`     using ${version}`);
  } catch (e) {
    setupFailed(SUITE, e);
  }

  test('gh api <full URL>: repository (GH_HOST + GH_ENTERPRISE_TOKEN)', async () => {
    const r = ghApi('GET', R);
    assert.equal(r.code, 0, `exit code (stderr: ${r.stderr})`);
    assert.equal(r.status, 200);
    assert.equal(r.body.full_name, 'o/gh');
    assert.equal(r.body.url, R);
  });

  test('gh api: create with -f ref=main -F required_contexts[] -F auto_merge=false (typed fields)', async () => {
    // A failing context on ctx proves that -F 'required_contexts[]' really sends [].
    const ctxSha = revParse('ctx');
    const st = ghApi('POST', `${R}/statuses/${ctxSha}`, ['-f', 'state=failure', '-f', 'context=ci/gh']);
    assert.equal(st.status, 201, 'commit status');
    assert.equal(st.headers.location, `${R}/statuses/${ctxSha}`, 'commit status Location');
    const env = `gh-${rand()}`;
    const r = ghApi('POST', `${R}/deployments`, ['-f', 'ref=ctx', '-F', 'required_contexts[]', '-F', 'auto_merge=false', '-f', `environment=${env}`, '-F', 'transient_environment=true', '-f', 'payload=plain string']);
    assert.equal(r.code, 0, `exit code (stderr: ${r.stderr})`);
    assert.equal(r.status, 201);
    assert.equal(r.body.sha, ctxSha);
    assert.equal(r.body.environment, env);
    assert.equal(r.body.transient_environment, true, '-F true is a boolean');
    assert.equal(r.body.payload, 'plain string');
    const blocked = ghApi('POST', `${R}/deployments`, ['-f', 'ref=ctx', '-f', `environment=${env}`]);
    assert.equal(blocked.status, 409, 'without required_contexts[] the failing context blocks');
    assert.ok(blocked.code !== 0, 'gh exits non-zero on 409');
    assert.ok(blocked.stderr.includes('Conflict: Commit status checks failed for ctx. (HTTP 409)'), `gh error line: ${blocked.stderr}`);
  });

  test('gh api: deployment status with Location; GET filters as query (-X GET -f)', async () => {
    const env = `gh-st-${rand()}`;
    const d = ghApi('POST', `${R}/deployments`, ['-f', 'ref=main', '-F', 'required_contexts[]', '-f', `environment=${env}`]);
    assert.equal(d.status, 201);
    const s = ghApi('POST', `${R}/deployments/${d.body.id}/statuses`, ['-f', 'state=success', '-f', 'log_url=https://ci.example.com/gh', '-F', 'auto_inactive=false']);
    assert.equal(s.status, 201);
    assert.equal(s.headers.location, `${R}/deployments/${d.body.id}/statuses/${s.body.id}`);
    assert.equal(s.body.target_url, 'https://ci.example.com/gh');
    const l = ghApi('GET', `${R}/deployments`, ['-f', `environment=${env}`, '-F', 'per_page=5']);
    assert.equal(l.status, 200);
    assert.deepEqual(l.body.map((x) => x.id), [d.body.id]);
  });

  test('gh api --paginate follows rel="next" (3 pages of per_page=2)', async () => {
    const env = `gh-page-${rand()}`;
    const ids = [];
    for (let i = 0; i < 5; i += 1) {
      const d = ghApi('POST', `${R}/deployments`, ['-f', 'ref=main', '-F', 'required_contexts[]', '-f', `environment=${env}`]);
      assert.equal(d.status, 201);
      ids.push(d.body.id);
    }
    const r = gh(['api', '--paginate', `${R}/deployments?environment=${env}&per_page=2`]);
    assert.equal(r.code, 0, `exit code (stderr: ${r.stderr})`);
    const pages = parseConcatenated(r.stdout);
    assert.deepEqual(pages.map((p) => p.length), [2, 2, 1], 'page sizes');
    pages.forEach((p, i) => check('GET', `${R}/deployments?page=${i + 1}`, 200, undefined, p));
    assert.deepEqual(pages.flat().map((x) => x.id), ids.reverse(), 'all items, newest first');
  });

  test('gh api: environments PUT / GET / DELETE with a URL-encoded "/" name', async () => {
    const name = `gh/env-${rand()}`;
    const enc = encodeURIComponent(name);
    const put = ghApi('PUT', `${R}/environments/${enc}`);
    assert.equal(put.status, 200);
    assert.equal(put.body.name, name);
    assert.equal(ghApi('GET', `${R}/environments/${enc}`).status, 200);
    const del = ghApi('DELETE', `${R}/environments/${enc}`);
    assert.equal(del.status, 204);
    assert.equal(ghApi('GET', `${R}/environments/${enc}`).status, 404);
  });

  test('gh api: unknown ref → exit 1 and "No ref found for: <ref> (HTTP 422)"', async () => {
    const r = ghApi('POST', `${R}/deployments`, ['-f', 'ref=gh-no-such-ref']);
    assert.equal(r.status, 422);
    assert.ok(r.code !== 0, 'non-zero exit');
    assert.ok(r.stderr.includes('No ref found for: gh-no-such-ref (HTTP 422)'), `stderr: ${r.stderr}`);
  });

  test('gh behaviour: GH_ENTERPRISE_TOKEN is sent for a full URL even without GH_HOST', async () => {
    const r = ghApi('GET', `${R}/deployments?per_page=1`, [], { GH_ENTERPRISE_TOKEN: token });
    assert.equal(r.status, 200, `status (stderr: ${r.stderr})`);
  });

  test('gh behaviour: GH_TOKEN is never sent to a non-github.com host → ferry answers 401 "Requires authentication"', async () => {
    const r = ghApi('GET', `${R}/deployments`, [], { GH_HOST: hostPort, GH_TOKEN: token });
    assert.equal(r.status, 401);
    assert.equal(r.body.message, 'Requires authentication');
  });

  test('gh behaviour: a relative path with GH_HOST is sent over https (unusable against plain HTTP)', async () => {
    const r = gh(['api', 'repos/o/gh']);
    assert.ok(r.code !== 0, 'fails');
    assert.ok(/HTTPS client|https:\/\//.test(r.stderr), `stderr: ${r.stderr}`);
  });

  test('sanity: the gh token works with a plain client too', async () => {
    const r = await raw('GET', '/repos/o/gh', { token });
    assert.equal(r.status, 200);
  });
}

const good = await run(SUITE);
fs.rmSync(home, { recursive: true, force: true });
process.exit(good ? 0 : 1);
