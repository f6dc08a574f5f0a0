/**
 * A GitHub REST API emulator: a real HTTP server on 127.0.0.1 with in-memory state, answering the
 * operations modelship uses the way GitHub does — authentication (401), fine-grained permissions
 * (403 "Resource not accessible by integration"), 404, 422 for what GitHub rejects (request bodies are
 * validated against the schemas of GitHub's published OpenAPI description), and Link-header pagination.
 *
 *   const github = await startGitHubEmulator();
 *   const client = createGitHubClient({ token: github.token, baseUrl: github.url });
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { DEFAULT_REPOSITORY, fakeSha } from './github-events.js';
import {
  addCommit,
  createRepoState,
  IdSequence,
  levelAllows,
  nodeId,
  setRef,
  timestamp,
  userJson,
  type CommitJson,
  type EmulatorState,
  type IssueJson,
  type PullRequestFileJson,
  type PullRequestJson,
  type RepoSeed,
  type RepoState,
  type TokenState,
  type Urls,
} from './github-emulator-state.js';
import { ApiError, handlers, type Reply, type RequestContext } from './github-emulator-routes.js';
import {
  operations,
  type OperationKey,
  type PermissionName,
  type PermissionRequirement,
  type Permissions,
} from './github-operations.js';

export type * from './github-emulator-state.js';
export type { OperationKey, PermissionLevel, PermissionName, Permissions } from './github-operations.js';

/** The token a default emulator accepts, with write access to everything it serves. */
export const EMULATOR_TOKEN = 'ghs_modelshipEmulatorToken0000000000';

export const WRITE_ALL: Permissions = {
  contents: 'write',
  issues: 'write',
  'pull-requests': 'write',
  deployments: 'write',
  statuses: 'write',
  metadata: 'read',
};

export interface EmulatorOptions {
  /** Repositories that exist (`owner/name` or with a seed). Default: DEFAULT_REPOSITORY. */
  repos?: (string | ({ fullName: string } & RepoSeed))[];
  /** Tokens and their permissions. Default: EMULATOR_TOKEN with WRITE_ALL. */
  tokens?: Record<string, Permissions>;
  /** See EmulatorState.strictObjects. Default false. */
  strictObjects?: boolean;
  /** Where html_url links point. Default https://github.com. */
  serverUrl?: string;
}

export interface RecordedRequest {
  method: string;
  /** The raw request path, without the query. */
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** Parsed JSON, the raw bytes of an upload, or undefined. */
  body: unknown;
  /** The served operation it matched (`POST /repos/{owner}/{repo}/git/refs`), when one did. */
  operation?: OperationKey | 'download';
  status: number;
}

export interface Fault {
  method?: string;
  /** Matched against the request path (a string must be equal, a RegExp must match). */
  path?: string | RegExp;
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** How many matching requests fail; default 1. */
  times?: number;
}

export interface PullRequestSeed {
  number?: number;
  title?: string;
  body?: string;
  headRef?: string;
  headSha?: string;
  baseRef?: string;
  baseSha?: string;
  state?: 'open' | 'closed';
  draft?: boolean;
  merged?: boolean;
  user?: string;
  labels?: string[];
  files?: (Partial<PullRequestFileJson> & { filename: string })[];
}

export interface GitHubEmulator {
  /** API root, e.g. http://127.0.0.1:41234; also the upload and download host. */
  url: string;
  /** EMULATOR_TOKEN, or the first token given. */
  token: string;
  state: EmulatorState;
  requests: RecordedRequest[];
  addToken(token: string, permissions: Permissions, options?: { login?: string; repositories?: string[] }): void;
  setPermissions(token: string, permissions: Permissions): void;
  addRepo(fullName: string, seed?: RepoSeed): RepoState;
  addCommit(fullName: string, commit: { sha?: string; message?: string; parents?: string[] }): CommitJson;
  /** Points a ref (`refs/heads/x`, `refs/tags/y`) at a sha, creating the commit if needed. */
  setRef(fullName: string, ref: string, sha: string): void;
  addIssue(fullName: string, issue?: { number?: number; title?: string; body?: string }): IssueJson;
  addPullRequest(fullName: string, pull?: PullRequestSeed): PullRequestJson;
  /** The next matching requests get this answer instead (for retries, outages, rate limits). */
  injectFault(fault: Fault): void;
  /** Drops faults that have not fired yet. */
  clearFaults(): void;
  close(): Promise<void>;
}

interface SchemaFile {
  operations: Record<string, { schema: object }>;
}

let validators: Map<string, ValidateFunction> | undefined;
function requestValidators(): Map<string, ValidateFunction> {
  if (validators) return validators;
  const file = JSON.parse(
    readFileSync(new URL('./github-request-schemas.json', import.meta.url), 'utf8'),
  ) as SchemaFile;
  // OpenAPI 3.0 schemas: `nullable` is understood by ajv; formats are documentation here, as on GitHub.
  const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
  validators = new Map(Object.entries(file.operations).map(([key, { schema }]) => [key, ajv.compile(schema)]));
  return validators;
}

/** GitHub words schema failures like `Invalid request.\n\n"sha" wasn't supplied.`; close enough to read the same. */
function describeSchemaErrors(errors: ErrorObject[]): string {
  const lines = errors.map((e) => {
    const where = e.instancePath ? `For 'properties${e.instancePath}', ` : '';
    if (e.keyword === 'required')
      return `"${(e.params as { missingProperty: string }).missingProperty}" wasn't supplied.`;
    if (e.keyword === 'enum') {
      return `${where}value is not a member of ${JSON.stringify((e.params as { allowedValues: unknown[] }).allowedValues)}.`;
    }
    if (e.keyword === 'type') return `${where}value is not ${(e.params as { type: string }).type}.`;
    return `${where}${e.message}.`;
  });
  return `Invalid request.\n\n${[...new Set(lines)].join('\n')}`;
}

interface CompiledRoute {
  key: OperationKey;
  method: string;
  pattern: RegExp;
  names: string[];
  permission: PermissionRequirement;
}

function compileRoutes(): CompiledRoute[] {
  return operations.map(({ key, permission }) => {
    const [method, template] = key.split(' ');
    const names: string[] = [];
    const segments = template.split('/').map((segment, index, all) => {
      const param = /^\{(\w+)\}$/.exec(segment);
      if (!param) return `/${segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`;
      names.push(param[1]);
      // A trailing ref may hold slashes when a client does not encode them; matching-refs may be empty.
      if (index === all.length - 1 && param[1] === 'ref') {
        return template.includes('/matching-refs/') ? '(?:/(.*))?' : '/(.+)';
      }
      return '/([^/]+)';
    });
    return { key, method, pattern: new RegExp(`^${segments.slice(1).join('')}/?$`), names, permission };
  });
}

const documentation = 'https://docs.github.com/rest';

export async function startGitHubEmulator(options: EmulatorOptions = {}): Promise<GitHubEmulator> {
  const ids = new IdSequence();
  const urls: Urls = { api: '', server: (options.serverUrl ?? 'https://github.com').replace(/\/+$/, '') };
  const routes = compileRoutes();
  const requests: RecordedRequest[] = [];
  const faults: (Fault & { remaining: number })[] = [];

  const repos = new Map<string, RepoState>();
  const state: EmulatorState = {
    repos,
    tokens: new Map(),
    strictObjects: options.strictObjects ?? false,
    repo(fullName) {
      const repo = repos.get(fullName.toLowerCase());
      if (!repo) throw new Error(`The emulator has no repository ${fullName}.`);
      return repo;
    },
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      send(res, { status: 500, json: { message: `Emulator error: ${(error as Error).message}` } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  urls.api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const emulator: GitHubEmulator = {
    url: urls.api,
    token: Object.keys(options.tokens ?? {})[0] ?? EMULATOR_TOKEN,
    state,
    requests,
    addToken(token, permissions, extra = {}) {
      state.tokens.set(token, {
        permissions: { metadata: 'read', ...permissions },
        user: userJson(extra.login ?? 'github-actions[bot]', urls, 'Bot'),
        repositories: extra.repositories,
      });
    },
    setPermissions(token, permissions) {
      const existing = state.tokens.get(token);
      if (!existing) throw new Error(`The emulator has no token ${token}; use addToken.`);
      existing.permissions = { metadata: 'read', ...permissions };
    },
    addRepo(fullName, seed = {}) {
      const repo = createRepoState(fullName, seed, ids, urls);
      repos.set(fullName.toLowerCase(), repo);
      return repo;
    },
    addCommit(fullName, commit) {
      const repo = state.repo(fullName);
      return addCommit(repo, urls, {
        ...commit,
        sha: commit.sha ?? fakeSha(`${fullName}:commit:${repo.commits.size}`),
      });
    },
    setRef(fullName, ref, sha) {
      const repo = state.repo(fullName);
      if (!repo.commits.has(sha) && !repo.tags.has(sha)) addCommit(repo, urls, { sha });
      setRef(repo, urls, ref, sha);
    },
    addIssue(fullName, issue = {}) {
      const repo = state.repo(fullName);
      return createIssue(repo, issue.number, issue.title ?? 'An issue', issue.body ?? null, 'octocat');
    },
    addPullRequest(fullName, seed = {}) {
      return createPullRequest(state.repo(fullName), seed);
    },
    injectFault(fault) {
      faults.push({ ...fault, remaining: fault.times ?? 1 });
    },
    clearFaults() {
      faults.length = 0;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };

  function createIssue(repo: RepoState, number: number | undefined, title: string, body: string | null, login: string) {
    const taken = [...repo.issues.keys()];
    const n = number ?? (taken.length ? Math.max(...taken) + 1 : 1);
    if (repo.issues.has(n)) throw new Error(`${repo.repository.full_name} already has issue #${n}.`);
    const id = ids.take();
    const issue: IssueJson = {
      id,
      node_id: nodeId('I', id),
      number: n,
      title,
      state: 'open',
      url: `${urls.api}/repos/${repo.repository.full_name}/issues/${n}`,
      html_url: `${repo.repository.html_url}/issues/${n}`,
      user: userJson(login, urls),
      body,
    };
    repo.issues.set(n, issue);
    return issue;
  }

  function createPullRequest(repo: RepoState, seed: PullRequestSeed): PullRequestJson {
    const full = repo.repository.full_name;
    const issue = createIssue(
      repo,
      seed.number,
      seed.title ?? 'Update model',
      seed.body ?? null,
      seed.user ?? 'octocat',
    );
    const n = issue.number;
    const headRef = seed.headRef ?? `feature-${n}`;
    const baseRef = seed.baseRef ?? repo.repository.default_branch;
    const headSha = seed.headSha ?? fakeSha(`head:${n}`);
    const baseSha = seed.baseSha ?? repo.refs.get(`refs/heads/${baseRef}`)?.object.sha ?? fakeSha(`base:${baseRef}`);
    for (const sha of [headSha, baseSha]) if (!repo.commits.has(sha)) addCommit(repo, urls, { sha });
    if (!repo.refs.has(`refs/heads/${headRef}`)) setRef(repo, urls, `refs/heads/${headRef}`, headSha);
    setRef(repo, urls, `refs/pull/${n}/head`, headSha);
    const now = timestamp();
    const pull: PullRequestJson = {
      id: issue.id,
      node_id: nodeId('PR', issue.id),
      number: n,
      state: seed.state ?? 'open',
      title: issue.title,
      body: issue.body,
      draft: seed.draft ?? false,
      merged: seed.merged ?? false,
      merge_commit_sha: fakeSha(`merge:${n}:${headSha}`),
      url: `${urls.api}/repos/${full}/pulls/${n}`,
      html_url: `${repo.repository.html_url}/pull/${n}`,
      user: issue.user,
      labels: (seed.labels ?? []).map((name) => ({ id: ids.take(), name, color: 'ededed' })),
      head: {
        label: `${repo.repository.owner.login}:${headRef}`,
        ref: headRef,
        sha: headSha,
        user: issue.user,
        repo: repo.repository,
      },
      base: {
        label: `${repo.repository.owner.login}:${baseRef}`,
        ref: baseRef,
        sha: baseSha,
        user: repo.repository.owner,
        repo: repo.repository,
      },
      created_at: now,
      updated_at: now,
    };
    issue.pull_request = { url: pull.url, html_url: pull.html_url };
    issue.html_url = pull.html_url;
    issue.state = pull.state;
    repo.pullRequests.set(n, pull);
    repo.pullRequestFiles.set(
      n,
      (seed.files ?? []).map((f) => {
        const additions = f.additions ?? 1;
        const deletions = f.deletions ?? 0;
        const sha = f.sha ?? fakeSha(`blob:${headSha}:${f.filename}`);
        return {
          sha,
          filename: f.filename,
          status: f.status ?? 'modified',
          additions,
          deletions,
          changes: f.changes ?? additions + deletions,
          blob_url: `${repo.repository.html_url}/blob/${headSha}/${f.filename}`,
          raw_url: `${repo.repository.html_url}/raw/${headSha}/${f.filename}`,
          contents_url: `${urls.api}/repos/${full}/contents/${f.filename}?ref=${headSha}`,
          ...(f.patch !== undefined ? { patch: f.patch } : {}),
          ...(f.previous_filename !== undefined ? { previous_filename: f.previous_filename } : {}),
        };
      }),
    );
    return pull;
  }

  for (const [token, permissions] of Object.entries(options.tokens ?? { [EMULATOR_TOKEN]: WRITE_ALL })) {
    emulator.addToken(token, permissions);
  }
  for (const repo of options.repos ?? [DEFAULT_REPOSITORY]) {
    if (typeof repo === 'string') emulator.addRepo(repo);
    else emulator.addRepo(repo.fullName, repo);
  }

  function send(res: ServerResponse, reply: Reply) {
    const headers: Record<string, string> = {
      'x-github-request-id': randomUUID().toUpperCase(),
      'x-github-api-version-selected': '2022-11-28',
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': '4999',
      'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
      'x-ratelimit-used': '1',
      'x-ratelimit-resource': 'core',
      ...reply.headers,
    };
    if (reply.raw) {
      res.writeHead(reply.status, { ...headers, 'content-type': reply.contentType ?? 'application/octet-stream' });
      res.end(reply.raw);
    } else if (reply.json !== undefined) {
      res.writeHead(reply.status, { ...headers, 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(reply.json));
    } else {
      res.writeHead(reply.status, headers);
      res.end();
    }
  }

  const errorReply = (error: ApiError): Reply => ({
    status: error.status,
    json: { message: error.message, ...error.extra, documentation_url: documentation, status: String(error.status) },
    headers: error.headers,
  });

  function authenticate(headers: IncomingHttpHeaders): TokenState {
    const header = headers.authorization;
    if (!header) throw new ApiError(401, 'Requires authentication');
    const match = /^(?:token|bearer)\s+(\S+)$/i.exec(header);
    const basic = /^basic\s+(\S+)$/i.exec(header);
    const token = match?.[1] ?? (basic ? Buffer.from(basic[1], 'base64').toString().split(':')[1] : undefined);
    const found = token ? state.tokens.get(token) : undefined;
    if (!found) throw new ApiError(401, 'Bad credentials');
    return found;
  }

  function requirePermission(token: TokenState, requirement: PermissionRequirement) {
    if (requirement.some(([name, level]) => levelAllows(token.permissions[name], level))) return;
    throw new ApiError(
      403,
      'Resource not accessible by integration',
      {},
      // What GitHub sends so a client can say which permission to add.
      { 'x-accepted-github-permissions': requirement.map(([n, l]) => `${n.replace('-', '_')}=${l}`).join('; ') },
    );
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks);
    const requestUrl = new URL(req.url ?? '/', urls.api);
    const method = (req.method ?? 'GET').toUpperCase();
    const record: RecordedRequest = {
      method,
      path: requestUrl.pathname,
      query: Object.fromEntries(requestUrl.searchParams),
      headers: req.headers,
      body: undefined,
      status: 0,
    };
    requests.push(record);
    const reply = answer(req, method, requestUrl, rawBody, record);
    record.status = reply.status;
    send(res, reply);
  }

  function answer(
    req: IncomingMessage,
    method: string,
    requestUrl: URL,
    rawBody: Buffer,
    record: RecordedRequest,
  ): Reply {
    const fault = faults.find(
      (f) =>
        f.remaining > 0 &&
        (!f.method || f.method.toUpperCase() === method) &&
        (!f.path || (typeof f.path === 'string' ? f.path === requestUrl.pathname : f.path.test(requestUrl.pathname))),
    );
    if (fault) {
      fault.remaining--;
      return { status: fault.status, json: fault.body ?? { message: 'Server Error' }, headers: fault.headers };
    }
    try {
      const download = /^\/([^/]+)\/([^/]+)\/releases\/download\/([^/]+)\/([^/]+)$/.exec(requestUrl.pathname);
      if (download && method === 'GET') {
        record.operation = 'download';
        return serveDownload(download.slice(1).map(decodeURIComponent));
      }
      for (const route of routes) {
        if (route.method !== method) continue;
        const match = route.pattern.exec(requestUrl.pathname);
        if (!match) continue;
        record.operation = route.key;
        const params = Object.fromEntries(route.names.map((name, i) => [name, decodeURIComponent(match[i + 1] ?? '')]));
        return serve(route, params, req, requestUrl, rawBody, record);
      }
      throw new ApiError(404, 'Not Found');
    } catch (error) {
      if (error instanceof ApiError) return errorReply(error);
      throw error;
    }
  }

  function serve(
    route: CompiledRoute,
    params: Record<string, string>,
    req: IncomingMessage,
    requestUrl: URL,
    rawBody: Buffer,
    record: RecordedRequest,
  ): Reply {
    const token = authenticate(req.headers);
    const fullName = `${params.owner}/${params.repo}`;
    const repo = repos.get(fullName.toLowerCase());
    const visible = !token.repositories || token.repositories.some((r) => r.toLowerCase() === fullName.toLowerCase());
    if (!repo || !visible) throw new ApiError(404, 'Not Found');
    requirePermission(token, route.permission);

    let body: unknown;
    const isUpload = route.key === 'POST /repos/{owner}/{repo}/releases/{release_id}/assets';
    if (isUpload) {
      body = rawBody;
    } else if (rawBody.length > 0) {
      try {
        body = JSON.parse(rawBody.toString('utf8'));
      } catch {
        throw new ApiError(400, 'Problems parsing JSON');
      }
    }
    record.body = body;
    const validate = requestValidators().get(route.key);
    if (validate) {
      // A request without a body is read as an empty object, as GitHub does.
      if (!validate(body ?? {})) throw new ApiError(422, describeSchemaErrors(validate.errors ?? []));
    }

    const ctx: RequestContext = {
      state,
      repo,
      params,
      query: requestUrl.searchParams,
      body,
      rawBody,
      headers: req.headers,
      token,
      urls,
      ids,
      requestUrl,
      requirePermission: (requirement) => requirePermission(token, requirement),
      can: (name: PermissionName, level) => levelAllows(token.permissions[name], level),
    };
    return handlers[route.key](ctx);
  }

  /** browser_download_url: public repositories serve assets without a token. */
  function serveDownload([owner, name, tag, file]: string[]): Reply {
    const repo = repos.get(`${owner}/${name}`.toLowerCase());
    const release = repo?.releases.find((r) => !r.draft && r.tag_name === tag);
    const asset = release?.assets.find((a) => a.name === file);
    if (!repo || !asset || repo.repository.private) throw new ApiError(404, 'Not Found');
    asset.download_count++;
    return { status: 200, raw: repo.assetContent.get(asset.id), contentType: asset.content_type };
  }

  return emulator;
}
