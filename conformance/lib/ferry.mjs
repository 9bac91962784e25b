// Shared helpers for the node sub-suites: configuration from the driver, ferry's admin API,
// the test git repository, and HTTP clients whose every response goes through the schema oracle.
import { execFileSync } from 'node:child_process';
import { Octokit } from '@octokit/rest';
import { validateResponse, exchangeInvariants } from './oracle.mjs';
import { violation } from './harness.mjs';

function need(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`missing environment variable ${name} (run this through conformance/run)`);
    process.exit(2);
  }
  return v;
}

/** ferry's external URL: every URL ferry returns must start with it. */
export const FERRY_URL = need('FERRY_URL').replace(/\/$/, '');
export const API = `${FERRY_URL}/api/v3`;
/** Where requests go: the external URL unless CONF_CONNECT_URL says otherwise (external.test.mjs). */
export const CONNECT_URL = (process.env.CONF_CONNECT_URL || FERRY_URL).replace(/\/$/, '');
export const CONNECT_API = `${CONNECT_URL}/api/v3`;
export const ADMIN_TOKEN = need('FERRY_ADMIN_TOKEN');
export const GIT_REPO = need('CONF_GIT_REPO');

export const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

export function git(...args) {
  return execFileSync('git', ['-C', GIT_REPO, ...args], { encoding: 'utf8' }).trim();
}
export const revParse = (ref) => git('rev-parse', `${ref}^{commit}`);

/** An admin-token call to ferry's own API (/api/v1/…); throws unless the answer is 2xx. */
export async function admin(method, path, body) {
  const r = await adminRaw(method, path, body);
  if (r.status >= 300) throw new Error(`admin ${method} ${path} → ${r.status}: ${r.text}`);
  return r.text ? JSON.parse(r.text) : undefined;
}

/**
 * An admin-token call that returns whatever came back: {status, headers, data, text}
 * (`data` is the parsed JSON, or undefined). Not schema-validated: /api/v1 is ferry's own API.
 */
export async function adminRaw(method, path, body, { token = ADMIN_TOKEN } = {}) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `token ${token}`;
  const res = await fetch(`${CONNECT_URL}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let data;
  if (text !== '') {
    try { data = JSON.parse(text); } catch { data = undefined; }
  }
  return { status: res.status, headers: Object.fromEntries(res.headers.entries()), data, text };
}

/**
 * Registers ferry repository `fullName` on the test git repository and returns a write token.
 * `extra` fields are added to the POST /api/v1/repos body.
 */
export async function setupRepo(fullName, { gitUrl = GIT_REPO, extra = {} } = {}) {
  await admin('POST', '/api/v1/repos', { full_name: fullName, git_url: gitUrl, default_branch: 'main', ...extra });
  return newToken(`conformance-${fullName.replace('/', '-')}`);
}

export async function newToken(name) {
  const tok = await admin('POST', '/api/v1/tokens', { name, scopes: ['write'] });
  if (!tok || typeof tok.token !== 'string') throw new Error(`admin token response has no token: ${JSON.stringify(tok)}`);
  return tok.token;
}

export const stats = { validated: 0 };

/** Validates one exchange; problems become violations of the running test. */
export function check(method, url, status, headers, body) {
  stats.validated += 1;
  const ct = headers?.['content-type'];
  const hasBody = body !== undefined && body !== '' && body !== null;
  const problems = validateResponse(method, url, status, hasBody ? body : undefined);
  if (hasBody && ct !== undefined && !/^application\/json; charset=utf-8$/i.test(ct)) {
    problems.push(`${method} ${url} → ${status}: Content-Type should be "application/json; charset=utf-8", got ${JSON.stringify(ct)}`);
  }
  problems.push(...exchangeInvariants(method, url, status, headers, hasBody ? body : undefined, FERRY_URL));
  for (const p of problems) violation(p);
}

/** Installs the validating hooks on any octokit-like client (@octokit/rest, @actions/github). */
export function instrument(octokit) {
  octokit.hook.after('request', (response, options) => {
    check(options.method, response.url, response.status, response.headers, response.data);
  });
  octokit.hook.error('request', (error, options) => {
    if (error && error.response) {
      const r = error.response;
      check(options.method, r.url, r.status, r.headers, r.data);
    }
    throw error;
  });
  return octokit;
}

export function octokitFor(token, extra = {}) {
  const quiet = { debug() {}, info() {}, warn() {}, error() {} };
  return instrument(new Octokit({ auth: token, baseUrl: CONNECT_API, log: quiet, ...extra }));
}

/** A raw HTTP call (for what clients cannot send), validated like the others. */
export async function raw(method, path, { body, headers = {}, token, json = true, validate = true } = {}) {
  const url = path.startsWith('http') ? path : `${CONNECT_API}${path}`;
  const h = { ...headers };
  if (token) h.authorization = h.authorization || `token ${token}`;
  let payload = body;
  if (body !== undefined && json && typeof body !== 'string') {
    payload = JSON.stringify(body);
    if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['content-type'] = 'application/json';
  }
  const res = await fetch(url, { method, headers: h, body: payload });
  const text = await res.text();
  const hdrs = Object.fromEntries(res.headers.entries());
  let data;
  if (text !== '') {
    try { data = JSON.parse(text); } catch { data = text; }
  }
  if (validate) check(method, url, res.status, hdrs, data);
  return { status: res.status, headers: hdrs, data, text };
}

/** Parses a GitHub Link header into {rel: url} keeping the rel order. */
export function parseLink(h) {
  const out = {};
  if (!h) return out;
  for (const part of h.split(', ')) {
    const m = /^<([^>]+)>; rel="([a-z]+)"$/.exec(part);
    if (!m) throw new Error(`unparseable Link part ${JSON.stringify(part)} in ${JSON.stringify(h)}`);
    out[m[2]] = m[1];
  }
  return out;
}

export function rand() { return Math.random().toString(36).slice(2, 8); }
