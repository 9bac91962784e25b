// A deliberately tiny sequential test harness shared by the node sub-suites.
// Each test may collect "violations" (e.g. schema problems found by response hooks) that fail it
// even when its own assertions pass. At the end the suite prints its counts and writes them to
// $CONF_OUT_DIR/<backend>-<suite>.counts for the driver.
import fs from 'node:fs';
import path from 'node:path';
import util from 'node:util';

const tests = [];
let current = null;

export function test(name, fn, opts = {}) { tests.push({ name, fn, ...opts }); }

/** Registers a test that is reported as skipped with a reason. */
export function skip(name, reason) { tests.push({ name, skipReason: reason }); }

/** Adds a problem to the test that is running (used by response hooks). */
export function violation(msg) {
  if (current) current.violations.push(msg);
  else orphanViolations.push(msg);
}
const orphanViolations = [];

export function currentTestName() { return current ? current.name : '(setup)'; }

export class AssertionError extends Error {}

function fmt(v) { return util.inspect(v, { depth: 6, breakLength: 160, maxStringLength: 400 }); }

export const assert = {
  ok(cond, msg) { if (!cond) throw new AssertionError(msg || 'assertion failed'); },
  equal(actual, expected, msg) {
    if (actual !== expected) throw new AssertionError(`${msg ? `${msg}: ` : ''}expected ${fmt(expected)}, got ${fmt(actual)}`);
  },
  deepEqual(actual, expected, msg) {
    if (!util.isDeepStrictEqual(actual, expected)) throw new AssertionError(`${msg ? `${msg}: ` : ''}expected ${fmt(expected)}, got ${fmt(actual)}`);
  },
  match(actual, re, msg) {
    if (typeof actual !== 'string' || !re.test(actual)) throw new AssertionError(`${msg ? `${msg}: ` : ''}expected ${fmt(actual)} to match ${re}`);
  },
  fail(msg) { throw new AssertionError(msg); },
};

/**
 * Runs fn expecting an HTTP error (an octokit RequestError or similar with .status/.response).
 * Returns the error so the caller can inspect the body.
 */
export async function expectStatus(status, fn, what = '') {
  let res;
  try {
    res = await fn();
  } catch (e) {
    if (e && e.status === status) return e;
    const body = e?.response?.data;
    throw new AssertionError(`${what ? `${what}: ` : ''}expected HTTP ${status}, got ${e?.status ?? ''} ${e?.message ?? e}${body !== undefined ? ` body=${fmt(body)}` : ''}`);
  }
  throw new AssertionError(`${what ? `${what}: ` : ''}expected HTTP ${status}, got ${res?.status} ${fmt(res?.data)}`);
}

export async function run(suite) {
  const backend = process.env.CONF_BACKEND || 'local';
  let passed = 0; let failed = 0; let skipped = 0;
  const failures = [];
  const t0 = Date.now();
  for (const t of tests) {
    if (t.skipReason) {
      skipped += 1;
      console.log(`SKIPPED [${suite}/${backend}] ${t.name}: ${t.skipReason}`);
      continue;
    }
    current = { name: t.name, violations: [] };
    let err = null;
    const start = Date.now();
    try {
      await t.fn();
    } catch (e) {
      err = e;
    }
    const v = current.violations;
    current = null;
    const ms = Date.now() - start;
    if (!err && v.length === 0) {
      passed += 1;
      console.log(`ok   [${suite}/${backend}] ${t.name} (${ms} ms)`);
    } else {
      failed += 1;
      const lines = [];
      if (err) lines.push(err instanceof AssertionError ? err.message : (err.stack || String(err)));
      for (const m of v) lines.push(`schema/contract: ${m}`);
      failures.push({ name: t.name, lines });
      console.log(`FAIL [${suite}/${backend}] ${t.name} (${ms} ms)`);
      for (const l of lines) console.log(`     ${l.split('\n').join('\n     ')}`);
    }
  }
  if (orphanViolations.length) {
    failed += 1;
    console.log(`FAIL [${suite}/${backend}] responses outside any test`);
    for (const l of orphanViolations) console.log(`     ${l}`);
  }
  console.log(`== ${suite} (${backend}): ${passed} passed, ${failed} failed, ${skipped} skipped in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  if (failures.length) {
    console.log(`== ${suite} (${backend}) failures: ${failures.map((f) => f.name).join(' | ')}`);
  }
  const out = process.env.CONF_OUT_DIR;
  if (out) fs.writeFileSync(path.join(out, `${backend}-${suite}.counts`), `${passed} ${failed} ${skipped}\n`);
  return failed === 0;
}

/** Reports a suite whose setup failed as one failure and exits. */
export function setupFailed(suite, err) {
  const backend = process.env.CONF_BACKEND || 'local';
  console.log(`FAIL [${suite}/${backend}] setup`);
  console.log(`     ${(err && (err.stack || err.message)) || err}`);
  console.log(`== ${suite} (${backend}): 0 passed, 1 failed, 0 skipped`);
  const out = process.env.CONF_OUT_DIR;
  if (out) fs.writeFileSync(path.join(out, `${backend}-${suite}.counts`), '0 1 0\n');
  process.exit(1);
}
