// github.md §3.9: "Every URL in a body or header is absolute and built from the configured
// external URL string: the same scheme, host, literal port and /api/v3 prefix that clients are
// given." The driver starts a ferry with --external-url http://localhost:PORT/ (note the
// trailing slash) and this suite talks to it at http://127.0.0.1:PORT: every URL ferry returns
// must use localhost:PORT, never the address it was reached at nor the Host header.
// (Every exchange also goes through lib/ferry.mjs's checks with FERRY_URL = the external URL.)
import http from 'node:http';
import { test, run, assert, setupFailed } from './lib/harness.mjs';
import {
  API, CONNECT_URL, FERRY_URL, setupRepo, octokitFor, raw, parseLink, rand, revParse,
} from './lib/ferry.mjs';

const SUITE = 'external-url';
const R = { owner: 'o', repo: 'ext' };
let token; let ok;
try {
  token = await setupRepo('o/ext');
  ok = octokitFor(token);
} catch (e) {
  setupFailed(SUITE, e);
}

test(`URLs use the configured external URL (${FERRY_URL}), not the address connected to (${CONNECT_URL})`, async () => {
  const repo = (await ok.rest.repos.get(R)).data;
  assert.equal(repo.url, `${API}/repos/o/ext`);
  assert.ok(!JSON.stringify(repo).includes(CONNECT_URL), 'no URL built from the connection address');
  const d = (await ok.rest.repos.createDeployment({ ...R, ref: 'main', environment: `ext-${rand()}` })).data;
  assert.equal(d.url, `${API}/repos/o/ext/deployments/${d.id}`);
  assert.ok(!JSON.stringify(d).includes('//api/v3'), 'no doubled slash from the trailing "/" of the external URL');
  const s = await ok.rest.repos.createDeploymentStatus({ ...R, deployment_id: d.id, state: 'success' });
  assert.equal(s.headers.location, `${API}/repos/o/ext/deployments/${d.id}/statuses/${s.data.id}`);
  const c = await ok.rest.repos.createCommitStatus({ ...R, sha: revParse('main'), state: 'success' });
  assert.equal(c.headers.location, `${API}/repos/o/ext/statuses/${revParse('main')}`);
  const comb = (await ok.rest.repos.getCombinedStatusForRef({ ...R, ref: 'main' })).data;
  assert.equal(comb.url, `${API}/repos/o/ext/commits/${revParse('main')}/status`);
  const env = (await ok.rest.repos.getEnvironment({ ...R, environment_name: d.environment })).data;
  assert.equal(env.url, `${API}/repos/o/ext/environments/${d.environment}`);
});

test('Link header URLs use the external URL', async () => {
  const env = `extp-${rand()}`;
  for (let i = 0; i < 3; i += 1) await ok.rest.repos.createDeployment({ ...R, ref: 'main', environment: env });
  const p = await raw('GET', `/repos/o/ext/deployments?environment=${env}&per_page=1&page=2`, { token });
  const l = parseLink(p.headers.link);
  assert.deepEqual(Object.keys(l), ['prev', 'next', 'last', 'first']);
  for (const u of Object.values(l)) assert.ok(u.startsWith(`${API}/repos/o/ext/deployments?`), u);
});

test('the Host header does not change the URLs', async () => {
  const target = new URL(CONNECT_URL);
  const body = await new Promise((resolve, reject) => {
    const req = http.request({
      host: target.hostname, port: target.port, method: 'GET', path: '/api/v3/repos/o/ext',
      headers: { host: 'evil.example:8443', authorization: `token ${token}`, 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' },
    }, (res) => {
      let b = '';
      res.on('data', (c) => { b += c; });
      res.on('end', () => resolve({ status: res.statusCode, text: b }));
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(body.status, 200);
  const repo = JSON.parse(body.text);
  assert.equal(repo.url, `${API}/repos/o/ext`);
  assert.ok(!body.text.includes('evil.example'), 'nothing built from Host / X-Forwarded-*');
});

const good = await run(SUITE);
process.exit(good ? 0 : 1);
