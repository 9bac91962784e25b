// Replicas of what chrnorm/deployment-action v2 and chrnorm/deployment-status v2 send
// (github.md §4), through @actions/github@5.1.1's octokit: getOctokit(token, { baseUrl }).
// The actions themselves are not vendored: these are the exact request bodies from §4.
import { test, run, assert, setupFailed } from './lib/harness.mjs';
import { API, setupRepo, instrument, raw, revParse, rand } from './lib/ferry.mjs';

// @actions/github 5.1.1 picks its HTTP agent from GITHUB_API_URL when the module loads
// (default https://api.github.com), whatever `baseUrl` getOctokit is given: with a plain-http
// baseUrl and no GITHUB_API_URL every request fails with 'Protocol "http:" not supported.
// Expected "https:"'. On a runner GITHUB_API_URL is the server's API URL, so set it the same way.
process.env.GITHUB_API_URL = API;
const { default: actionsGithub } = await import('@actions/github');

const SUITE = 'actions';
const OWNER = 'o';
const REPO = 'actions';
const REPO_API = `${API}/repos/${OWNER}/${REPO}`;

let token; let octokit; let mainSha;
try {
  token = await setupRepo(`${OWNER}/${REPO}`);
  octokit = instrument(actionsGithub.getOctokit(token, { baseUrl: API }));
  mainSha = revParse('main');
} catch (e) {
  setupFailed(SUITE, e);
}

const logUrl = (sha) => `https://github.com/${OWNER}/${REPO}/commit/${sha}/checks`;

/** chrnorm/deployment-action v2: the deployment request (payload input JSON-parsed, else a string). */
async function deploymentAction({ environment = 'production', payloadInput } = {}) {
  let payload;
  if (payloadInput !== undefined) {
    try { payload = JSON.parse(payloadInput); } catch { payload = payloadInput; }
  }
  const res = await octokit.rest.repos.createDeployment({
    owner: OWNER,
    repo: REPO,
    ref: 'refs/heads/main',
    sha: mainSha,
    task: 'deploy',
    required_contexts: [],
    environment,
    transient_environment: false,
    auto_merge: false,
    description: '',
    ...(payload !== undefined ? { payload } : {}),
  });
  // The action throws when the answer has no id, and outputs deployment_id and deployment_url.
  if (!res.data || typeof res.data.id !== 'number') throw new Error(`deployment-action would throw: no id in ${JSON.stringify(res.data)}`);
  return { res, deployment_id: res.data.id, deployment_url: res.data.url };
}

/** chrnorm/deployment-action v2: the initial status (auto_inactive is always false, see §4). */
async function deploymentActionStatus(id, environmentUrl) {
  return octokit.rest.repos.createDeploymentStatus({
    owner: OWNER,
    repo: REPO,
    deployment_id: id,
    description: '',
    state: 'pending',
    log_url: logUrl(mainSha),
    environment_url: environmentUrl,
    auto_inactive: false,
  });
}

/** chrnorm/deployment-status v2. */
async function deploymentStatusAction(id, state, environmentUrl, environment) {
  return octokit.rest.repos.createDeploymentStatus({
    owner: OWNER,
    repo: REPO,
    deployment_id: id,
    auto_inactive: true,
    state,
    log_url: logUrl(mainSha),
    description: '',
    environment_url: environmentUrl,
    ...(environment !== undefined ? { environment } : {}),
  });
}

test('deployment-action body → 201 with id; outputs deployment_id and deployment_url', async () => {
  const { res, deployment_id: id, deployment_url: url } = await deploymentAction();
  assert.equal(res.status, 201);
  assert.equal(url, `${REPO_API}/deployments/${id}`, 'deployment_url output');
  assert.equal(res.data.ref, 'refs/heads/main', 'ref stored as given');
  assert.equal(res.data.sha, mainSha);
  assert.equal(res.data.environment, 'production');
  assert.equal(res.data.production_environment, true);
  assert.equal(res.data.transient_environment, false);
  assert.equal(res.data.description, '');
  assert.deepEqual(res.data.payload, {});
});

test('deployment-action payload input: JSON is parsed to an object, anything else stays a string', async () => {
  const a = await deploymentAction({ environment: `act-${rand()}`, payloadInput: '{"app":"web","replicas":2}' });
  assert.deepEqual(a.res.data.payload, { app: 'web', replicas: 2 });
  const b = await deploymentAction({ environment: `act-${rand()}`, payloadInput: 'not json at all' });
  assert.equal(b.res.data.payload, 'not json at all');
});

test('deployment-action initial status (pending, auto_inactive:false) → 201', async () => {
  const { deployment_id: id } = await deploymentAction({ environment: `act-${rand()}` });
  const res = await deploymentActionStatus(id, 'https://staging.example.com');
  assert.equal(res.status, 201);
  assert.equal(res.data.state, 'pending');
  assert.equal(res.data.log_url, logUrl(mainSha));
  assert.equal(res.data.target_url, logUrl(mainSha), 'log_url also sets target_url');
  assert.equal(res.data.environment_url, 'https://staging.example.com');
  assert.equal(res.data.description, '');
  assert.equal(res.headers.location, `${REPO_API}/deployments/${id}/statuses/${res.data.id}`);
});

test('deployment-status action: in_progress then success (with and without environment) → 201', async () => {
  const env = `act-${rand()}`;
  const { deployment_id: id } = await deploymentAction({ environment: env });
  await deploymentActionStatus(id, 'https://a.example.com');
  const p = await deploymentStatusAction(id, 'in_progress', 'https://a.example.com');
  assert.equal(p.status, 201);
  assert.equal(p.data.environment, env, 'inherited environment');
  const s = await deploymentStatusAction(id, 'success', 'https://a.example.com', env);
  assert.equal(s.status, 201);
  assert.equal(s.data.state, 'success');
  assert.equal(s.data.environment, env);
  const f = await deploymentStatusAction(id, 'failure', '');
  assert.equal(f.data.state, 'failure');
});

test('two workflow runs in one non-production environment: the second success inactivates the first', async () => {
  const env = `act-staging-${rand()}`;
  const first = await deploymentAction({ environment: env });
  await deploymentActionStatus(first.deployment_id, 'https://s.example.com');
  await deploymentStatusAction(first.deployment_id, 'success', 'https://s.example.com', env);
  const second = await deploymentAction({ environment: env });
  await deploymentActionStatus(second.deployment_id, 'https://s.example.com');
  assert.equal((await octokit.rest.repos.listDeploymentStatuses({ owner: OWNER, repo: REPO, deployment_id: first.deployment_id })).data[0].state, 'success', 'the pending status (auto_inactive:false) changes nothing');
  await deploymentStatusAction(second.deployment_id, 'success', 'https://s.example.com', env);
  const sts = (await octokit.rest.repos.listDeploymentStatuses({ owner: OWNER, repo: REPO, deployment_id: first.deployment_id })).data;
  assert.equal(sts[0].state, 'inactive');
});

test('byte-exact §4 bodies (raw JSON text) → 201, 201, 201', async () => {
  const body = `{"ref":"refs/heads/main","sha":"${mainSha}","task":"deploy","required_contexts":[],"environment":"production","transient_environment":false,"auto_merge":false,"description":""}`;
  const d = await raw('POST', `/repos/${OWNER}/${REPO}/deployments`, { token, body, headers: { 'content-type': 'application/json; charset=utf-8' } });
  assert.equal(d.status, 201, `deployment → ${d.status} ${d.text}`);
  const s1 = `{"description":"","state":"pending","log_url":"${logUrl(mainSha)}","environment_url":"https://prod.example.com","auto_inactive":false}`;
  const a = await raw('POST', `/repos/${OWNER}/${REPO}/deployments/${d.data.id}/statuses`, { token, body: s1, headers: { 'content-type': 'application/json; charset=utf-8' } });
  assert.equal(a.status, 201, `deployment-action status → ${a.status} ${a.text}`);
  const s2 = `{"auto_inactive":true,"state":"success","log_url":"${logUrl(mainSha)}","description":"","environment_url":"https://prod.example.com","environment":"production"}`;
  const b = await raw('POST', `/repos/${OWNER}/${REPO}/deployments/${d.data.id}/statuses`, { token, body: s2, headers: { 'content-type': 'application/json; charset=utf-8' } });
  assert.equal(b.status, 201, `deployment-status → ${b.status} ${b.text}`);
  assert.equal(b.data.environment, 'production');
});

const good = await run(SUITE);
process.exit(good ? 0 : 1);
