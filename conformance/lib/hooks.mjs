// Helpers for webhooks.test.mjs that do not need ferry: the published example payloads, the
// 2020-12 webhook schema oracle, and a local @octokit/webhooks receiver (github.md §5, §6, §7).
import http from 'node:http';
import { createRequire } from 'node:module';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { Webhooks, createNodeMiddleware } from '@octokit/webhooks';

const require = createRequire(import.meta.url);

// ---- examples (@octokit/webhooks-examples@7.6.1) ---------------------------------------------
/** `[{name, actions, description, examples, properties}]` for api.github.com. */
export const EXAMPLES_INDEX = require('@octokit/webhooks-examples/api.github.com/index.json');

/** Deep copies of every example of `event` (an empty list when the event is unknown). */
export function examplesOf(event) {
  const e = EXAMPLES_INDEX.find((x) => x.name === event);
  return e ? e.examples.map((x) => structuredClone(x)) : [];
}

/** A deep copy of the first example of `event` that satisfies `pred`. */
export function exampleOf(event, pred = () => true) {
  const hit = examplesOf(event).find(pred);
  if (!hit) throw new Error(`@octokit/webhooks-examples has no ${event} example matching ${pred}`);
  return hit;
}

/**
 * Points an example at ferry repository `fullName`: `repository.full_name`, `.name` and the owner's
 * `login` (and `name`, which push examples carry). Payloads without `repository` are left alone.
 */
export function retarget(payload, fullName) {
  const r = payload.repository;
  if (!r || typeof r !== 'object') return payload;
  const [owner, name] = fullName.split('/');
  r.full_name = fullName;
  r.name = name;
  if (r.owner && typeof r.owner === 'object') {
    r.owner.login = owner;
    if ('name' in r.owner) r.owner.name = owner;
  }
  return payload;
}

// ---- schema oracle for webhook bodies (@octokit/openapi-webhooks@12.1.0) ------------------------
const WH_DOC = structuredClone(require('@octokit/openapi-webhooks/generated/api.github.com.json'));

// The §7 adjustment lib/oracle.mjs makes for REST responses: `format: uri` with `default: ""` also
// accepts "". (The webhook schemas ferry sends have none today; kept so a newer document behaves.)
let adjusted = 0;
(function adjust(node) {
  if (Array.isArray(node)) { node.forEach(adjust); return; }
  if (!node || typeof node !== 'object') return;
  if (node.format === 'uri' && node.default === '') { node.format = 'uri-or-empty'; adjusted += 1; }
  for (const v of Object.values(node)) adjust(v);
}(WH_DOC.components));

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
const uriFormat = ajv.formats.uri;
const uriCheck = typeof uriFormat === 'function' ? uriFormat : uriFormat.validate;
ajv.addFormat('uri-or-empty', (s) => s === '' || uriCheck(s));
// The schemas' refs are document-local ("#/components/schemas/…"): registering the components
// under one $id makes them resolve inside it.
ajv.addSchema({ $id: 'gh-webhooks', components: WH_DOC.components });

export const webhookSchemaAdjustments = () => adjusted;

/**
 * Validates `body` against `components.schemas[name]` of the webhooks document (e.g.
 * `webhook-deployment-created`). Returns a list of problems (empty = valid).
 */
export function validateWebhook(name, body) {
  if (!WH_DOC.components.schemas[name]) return [`no schema ${name} in @octokit/openapi-webhooks`];
  const v = ajv.getSchema(`gh-webhooks#/components/schemas/${name}`);
  if (v(body)) return [];
  const errs = v.errors.slice(0, 12).map((e) => `${e.instancePath || '/'} ${e.message}${e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ''}`);
  return [`invalid against ${name}: ${errs.join('; ')}${v.errors.length > 12 ? ` (+${v.errors.length - 12} more)` : ''}`];
}

// ---- the receiver ------------------------------------------------------------------------------
const quietLog = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * An HTTP server on 127.0.0.1:<free port> that serves one `@octokit/webhooks` middleware per
 * route (`addRoute(path, secret)`). The middleware rejects a non-JSON content type (415), missing
 * webhook headers (400) and a bad signature (400), so an event in `verified` proves all three.
 * Every request is also recorded raw in `requests` ({path, method, headers, raw, status, at}).
 * A `flaky` route answers 500 to the first attempt of each X-GitHub-Delivery and hands later
 * attempts to its middleware.
 */
export async function startReceiver() {
  const routes = new Map();
  const requests = [];
  const verified = []; // {path, id, name, payload, at}
  const errors = []; // {path, message}

  const server = http.createServer(async (req, res) => {
    const chunks = [];
    try {
      for await (const c of req) chunks.push(c);
    } catch (e) {
      errors.push({ path: req.url, message: `reading the body: ${e.message}` });
    }
    const raw = Buffer.concat(chunks);
    const pathname = new URL(req.url, 'http://localhost').pathname;
    const rec = { path: pathname, method: req.method, headers: { ...req.headers }, raw: raw.toString('utf8'), status: null, at: Date.now() };
    requests.push(rec);
    res.on('finish', () => { rec.status = res.statusCode; });
    const route = routes.get(pathname);
    if (!route) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('no such route\n');
      return;
    }
    if (route.flaky) {
      const guid = req.headers['x-github-delivery'];
      if (!route.seen.has(guid)) {
        route.seen.add(guid);
        res.writeHead(500, { 'content-type': 'text/plain' }).end('first attempt fails\n');
        return;
      }
    }
    // The middleware takes an already-read body from request.rawBody (a Uint8Array).
    req.rawBody = raw;
    req.body = {};
    try {
      await route.middleware(req, res, () => {
        if (!res.headersSent) res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      });
    } catch (e) {
      errors.push({ path: pathname, message: e.message });
      if (!res.headersSent) res.writeHead(500).end();
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  const base = `http://127.0.0.1:${port}`;

  return {
    base,
    requests,
    verified,
    errors,
    url: (path) => `${base}${path}`,
    addRoute(path, secret, { flaky = false } = {}) {
      const webhooks = new Webhooks({ secret, log: quietLog });
      webhooks.onAny(({ id, name, payload }) => { verified.push({ path, id, name, payload, at: Date.now() }); });
      webhooks.onError((e) => { errors.push({ path, message: e.message }); });
      const middleware = createNodeMiddleware(webhooks, { path, log: quietLog });
      routes.set(path, { middleware, flaky, seen: new Set(), secret });
    },
    close: () => new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}

export const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });

/** Calls fn every `interval` ms until it returns a truthy value or `timeout` ms have passed. */
export async function poll(fn, { timeout = 15000, interval = 200 } = {}) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() >= end) return v;
    await sleep(interval);
  }
}
