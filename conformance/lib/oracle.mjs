// Schema oracle: validates ferry's JSON responses against GitHub's own OpenAPI description
// (npm @octokit/openapi@23.0.2, generated/api.github.com.json), as github.md §7 prescribes:
//   * ajv 8 with strict:false, allErrors:true, plus ajv-formats;
//   * the schema of paths[p][m].responses[code], with the document's components registered;
//   * one adjustment: properties with both `format: uri` and `default: ""` also accept "".
import { createRequire } from 'node:module';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';

const require = createRequire(import.meta.url);
const DOC = structuredClone(require('@octokit/openapi/generated/api.github.com.json'));

// ---- the §7 adjustment ---------------------------------------------------------------------
let adjusted = 0;
function adjust(node) {
  if (Array.isArray(node)) { node.forEach(adjust); return; }
  if (!node || typeof node !== 'object') return;
  if (node.format === 'uri' && node.default === '') {
    node.format = 'uri-or-empty';
    adjusted += 1;
  }
  for (const v of Object.values(node)) adjust(v);
}
adjust(DOC.components);
adjust(DOC.paths);

const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
const uriFormat = ajv.formats.uri;
const uriCheck = typeof uriFormat === 'function' ? uriFormat : uriFormat.validate;
ajv.addFormat('uri-or-empty', (s) => s === '' || uriCheck(s));
ajv.addSchema({ $id: 'gh', components: DOC.components });

// Rewrites document-local refs ("#/components/...") of a response schema to the registered doc.
function rebase(node) {
  if (Array.isArray(node)) return node.map(rebase);
  if (!node || typeof node !== 'object') return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `gh${v}` : rebase(v);
  }
  return out;
}

// ---- path matching -------------------------------------------------------------------------
const TEMPLATES = Object.keys(DOC.paths).map((tpl) => {
  const segs = tpl.split('/').slice(1);
  return { tpl, segs, literals: segs.filter((s) => !s.startsWith('{')).length };
});

export function matchTemplate(path) {
  const segs = path.split('/').slice(1);
  let best = null;
  for (const t of TEMPLATES) {
    if (t.segs.length !== segs.length) continue;
    let ok = true;
    for (let i = 0; i < segs.length; i += 1) {
      const s = t.segs[i];
      if (!s.startsWith('{') && s !== segs[i]) { ok = false; break; }
      if (s.startsWith('{') && segs[i] === '') { ok = false; break; }
    }
    if (ok && (!best || t.literals > best.literals)) best = t;
  }
  return best ? best.tpl : null;
}

/** Strips scheme/host, the /api/v3 prefix and the query from a URL or path. */
export function apiPath(urlOrPath) {
  let p = urlOrPath;
  if (/^https?:\/\//.test(p)) p = new URL(p).pathname;
  p = p.split('?')[0];
  if (p.startsWith('/api/v3')) p = p.slice('/api/v3'.length);
  return p || '/';
}

function resolveResponse(resp) {
  let r = resp;
  let guard = 0;
  while (r && r.$ref && guard < 5) {
    const name = r.$ref.replace('#/components/responses/', '');
    r = DOC.components.responses[name];
    guard += 1;
  }
  return r;
}

const BASIC_ERROR = { $ref: 'gh#/components/schemas/basic-error' };
const cache = new Map();

function compiled(key, schema) {
  if (!cache.has(key)) cache.set(key, ajv.compile(schema));
  return cache.get(key);
}

/** Counts of validated responses per "METHOD template status". */
export const coverage = new Map();

/**
 * Validates one response. Returns a list of problems (empty = valid).
 * `body` is the parsed JSON (undefined when the response had no body).
 */
export function validateResponse(method, url, status, body) {
  const m = method.toLowerCase();
  const path = apiPath(url);
  const tpl = matchTemplate(path);
  const where = `${method.toUpperCase()} ${path} → ${status}`;
  if (!tpl || !DOC.paths[tpl][m]) {
    // Not an operation GitHub has: only an error body makes sense here.
    if (status >= 400 && body !== undefined) {
      return runSchema(`basic-error`, BASIC_ERROR, body, where, 'basic-error (no such GitHub operation)');
    }
    return [`${where}: no OpenAPI operation matches ${method} ${path}`];
  }
  const op = DOC.paths[tpl][m];
  const key = `${method.toUpperCase()} ${tpl} ${status}`;
  coverage.set(key, (coverage.get(key) || 0) + 1);
  if (status === 204 || status === 304) {
    if (body !== undefined && body !== '' && body !== null) return [`${where}: ${status} must have an empty body, got ${JSON.stringify(body).slice(0, 200)}`];
    if (!op.responses[String(status)]) return [`${where}: OpenAPI declares no ${status} for ${m} ${tpl}`];
    return [];
  }
  const declared = resolveResponse(op.responses[String(status)]);
  if (status < 400 && !declared) return [`${where}: OpenAPI declares no ${status} response for ${m} ${tpl}`];
  const schema = declared?.content?.['application/json']?.schema;
  if (!schema) {
    if (status >= 400) return runSchema('basic-error', BASIC_ERROR, body, where, 'basic-error (no schema declared for this code)');
    if (body === undefined) return [];
    return [`${where}: OpenAPI declares no JSON body for ${status}`];
  }
  if (body === undefined) return [`${where}: expected a JSON body`];
  return runSchema(key, rebase(schema), body, where, `paths["${tpl}"].${m}.responses["${status}"]`);
}

function runSchema(key, schema, body, where, label) {
  const v = compiled(key, schema);
  if (v(body)) return [];
  const errs = v.errors.slice(0, 12).map((e) => `${e.instancePath || '/'} ${e.message}${e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ''}`);
  return [`${where}: invalid against ${label}: ${errs.join('; ')}${v.errors.length > 12 ? ` (+${v.errors.length - 12} more)` : ''}`];
}

/** Problems with an error body beyond its schema (github.md §2.7). */
export function errorBodyProblems(status, body) {
  const p = [];
  if (!body || typeof body !== 'object') return [`error ${status}: body is not a JSON object`];
  if (typeof body.message !== 'string') p.push(`error ${status}: missing "message"`);
  if (typeof body.documentation_url !== 'string' || !/^https:\/\/docs\.github\.com\//.test(body.documentation_url)) p.push(`error ${status}: "documentation_url" should be a https://docs.github.com/… link, got ${JSON.stringify(body.documentation_url)}`);
  if (body.status !== String(status)) p.push(`error ${status}: "status" should be "${status}", got ${JSON.stringify(body.status)}`);
  return p;
}

export const adjustedCount = () => adjusted;
export { DOC };

/** The 15 operations ferry serves (github.md §1), as "METHOD template". */
export const SERVED = new Set([
  'GET /repos/{owner}/{repo}',
  'GET /repos/{owner}/{repo}/deployments', 'POST /repos/{owner}/{repo}/deployments',
  'GET /repos/{owner}/{repo}/deployments/{deployment_id}', 'DELETE /repos/{owner}/{repo}/deployments/{deployment_id}',
  'GET /repos/{owner}/{repo}/deployments/{deployment_id}/statuses', 'POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses',
  'GET /repos/{owner}/{repo}/deployments/{deployment_id}/statuses/{status_id}',
  'GET /repos/{owner}/{repo}/environments', 'GET /repos/{owner}/{repo}/environments/{environment_name}',
  'PUT /repos/{owner}/{repo}/environments/{environment_name}', 'DELETE /repos/{owner}/{repo}/environments/{environment_name}',
  'POST /repos/{owner}/{repo}/statuses/{sha}', 'GET /repos/{owner}/{repo}/commits/{ref}/statuses',
  'GET /repos/{owner}/{repo}/commits/{ref}/status',
]);

/** The served operation's GitHub docs link (what ferry puts in error bodies' documentation_url). */
export function operationDocUrl(method, url) {
  const tpl = matchTemplate(apiPath(url));
  if (!tpl || !SERVED.has(`${method.toUpperCase()} ${tpl}`)) return null;
  return DOC.paths[tpl][method.toLowerCase()]?.externalDocs?.url ?? null;
}

const TS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
// URLs that come from the client (or from the admin's git_url) rather than from ferry.
const FOREIGN_URLS = new Set(['target_url', 'log_url', 'environment_url', 'clone_url', 'git_url', 'ssh_url', 'mirror_url', 'homepage']);

/**
 * github.md §3.9 invariants for any body: timestamps are YYYY-MM-DDTHH:MM:SSZ, ids are positive
 * integers, and every URL ferry builds is absolute and starts with the external URL.
 * `payload` (client data) is not inspected.
 */
export function bodyInvariants(body, externalUrl, where) {
  const problems = [];
  const walk = (node, path) => {
    if (Array.isArray(node)) { node.forEach((v, i) => walk(v, `${path}/${i}`)); return; }
    if (!node || typeof node !== 'object') return;
    for (const [k, v] of Object.entries(node)) {
      const p = `${path}/${k}`;
      if (k === 'payload') continue;
      if (k.endsWith('_at') && v !== null && !(typeof v === 'string' && TS.test(v))) problems.push(`${where}: ${p} = ${JSON.stringify(v)} is not YYYY-MM-DDTHH:MM:SSZ`);
      if (k === 'id' && !(Number.isInteger(v) && v > 0)) problems.push(`${where}: ${p} = ${JSON.stringify(v)} is not a positive integer`);
      if ((k === 'url' || k.endsWith('_url')) && !FOREIGN_URLS.has(k) && typeof v === 'string' && k !== 'documentation_url') {
        if (!v.startsWith(`${externalUrl}/`)) problems.push(`${where}: ${p} = ${JSON.stringify(v)} does not start with the external URL ${externalUrl}/`);
      }
      walk(v, p);
    }
  };
  walk(body, '');
  return problems;
}

/** Location and Link headers are absolute {api} URLs (github.md §3.8, §3.9). */
export function headerInvariants(headers, externalUrl, where) {
  const problems = [];
  const api = `${externalUrl}/api/v3/`;
  if (headers?.location !== undefined && !headers.location.startsWith(api)) problems.push(`${where}: Location ${JSON.stringify(headers.location)} does not start with ${api}`);
  if (headers?.link) {
    for (const part of headers.link.split(', ')) {
      const m = /^<([^>]+)>; rel="(prev|next|last|first)"$/.exec(part);
      if (!m) problems.push(`${where}: Link part ${JSON.stringify(part)} is not <URL>; rel="prev|next|last|first"`);
      else if (!m[1].startsWith(api)) problems.push(`${where}: Link URL ${m[1]} does not start with ${api}`);
    }
  }
  return problems;
}

/** All non-schema checks of one exchange. */
export function exchangeInvariants(method, url, status, headers, body, externalUrl) {
  const where = `${method.toUpperCase()} ${apiPath(url)} → ${status}`;
  const problems = [...headerInvariants(headers, externalUrl, where)];
  if (body !== undefined && typeof body === 'object') problems.push(...bodyInvariants(body, externalUrl, where));
  if (status >= 400) {
    problems.push(...errorBodyProblems(status, body).map((p) => `${where}: ${p}`));
    const doc = operationDocUrl(method, url);
    const got = body?.documentation_url;
    if (doc && status !== 401 && got !== doc) problems.push(`${where}: documentation_url should be the operation's docs link ${doc}, got ${JSON.stringify(got)}`);
    if (doc && status === 401 && got !== doc && got !== 'https://docs.github.com/rest') problems.push(`${where}: documentation_url ${JSON.stringify(got)}`);
  }
  return problems;
}
