// Validates the responses PyGithub received (recorded by test_pygithub.py) against GitHub's
// OpenAPI description. One test per PyGithub test, plus a coverage test.
// usage: node validate_recorded.mjs <exchanges.jsonl> <suite-name>
import fs from 'node:fs';
import { test, run, assert, violation } from './lib/harness.mjs';
import { validateResponse, exchangeInvariants, coverage } from './lib/oracle.mjs';

const FERRY_URL = (process.env.FERRY_URL || '').replace(/\/$/, '');

const [file, suite = 'pygithub-schema'] = process.argv.slice(2);
const lines = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
const groups = new Map();
for (const l of lines) {
  const x = JSON.parse(l);
  if (!groups.has(x.test)) groups.set(x.test, []);
  groups.get(x.test).push(x);
}

test('responses were recorded', async () => {
  assert.ok(lines.length > 0, `no exchanges recorded in ${file}`);
});

for (const [name, xs] of groups) {
  test(`schema: ${name} (${xs.length} responses)`, async () => {
    for (const x of xs) {
      let body;
      if (x.body !== null && x.body !== '') {
        try { body = JSON.parse(x.body); } catch { violation(`${x.method} ${x.url} → ${x.status}: body is not JSON: ${x.body.slice(0, 200)}`); continue; }
      }
      for (const p of validateResponse(x.method, x.url, x.status, body)) violation(p);
      const ct = x.headers['content-type'];
      if (body !== undefined && !/^application\/json; charset=utf-8$/i.test(ct || '')) violation(`${x.method} ${x.url} → ${x.status}: Content-Type ${JSON.stringify(ct)}`);
      for (const p of exchangeInvariants(x.method, x.url, x.status, x.headers, body, FERRY_URL)) violation(p);
    }
  });
}

test('PyGithub exercised (and had validated) every family it can reach', async () => {
  const ops = [
    'GET /repos/{owner}/{repo} 200',
    'GET /repos/{owner}/{repo}/deployments 200',
    'POST /repos/{owner}/{repo}/deployments 201',
    'GET /repos/{owner}/{repo}/deployments/{deployment_id} 200',
    'GET /repos/{owner}/{repo}/deployments/{deployment_id}/statuses 200',
    'POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses 201',
    'GET /repos/{owner}/{repo}/deployments/{deployment_id}/statuses/{status_id} 200',
  ];
  assert.deepEqual(ops.filter((k) => !coverage.get(k)), [], 'families without a validated response');
});

const good = await run(suite);
process.exit(good ? 0 : 1);
