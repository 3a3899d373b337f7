import { SkiffError } from '@skiff/core';

export interface MlflowClientOptions {
  /** Tracking server URL, e.g. http://127.0.0.1:5000 (no trailing /api). */
  trackingUri: string;
  /** Extra headers on every request (e.g. `{ authorization: 'Bearer …' }` for a hosted server). */
  headers?: Record<string, string>;
  /** Per-request timeout. */
  timeoutMs?: number;
  /** Injected fetch, for tests; defaults to Node's built-in fetch. */
  fetch?: typeof fetch;
}

/** An error answer of the MLflow REST API; `errorCode` is MLflow's (RESOURCE_DOES_NOT_EXIST …). */
export function mlflowErrorCode(e: unknown): string | undefined {
  if (e instanceof SkiffError) {
    const c = e.details?.['mlflowErrorCode'];
    return typeof c === 'string' ? c : undefined;
  }
  return undefined;
}

type Query = Record<string, string | number | undefined>;

/** The few REST calls the adapters make, with errors mapped to SkiffError. */
export interface MlflowClient {
  readonly trackingUri: string;
  get<T>(path: string, query?: Query): Promise<T>;
  post<T>(path: string, body: unknown): Promise<T>;
  del<T>(path: string, query?: Query): Promise<T>;
  /** Uploads through the tracking server's artifact proxy; `artifactPath` is relative to `mlflow-artifacts:/`. */
  putArtifact(artifactPath: string, content: Uint8Array): Promise<void>;
  getArtifact(artifactPath: string): Promise<Uint8Array>;
}

const encodePath = (p: string) => p.split('/').map(encodeURIComponent).join('/');

export function createMlflowClient(options: MlflowClientOptions): MlflowClient {
  const base = options.trackingUri.replace(/\/+$/, '');
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 60_000;

  async function request(
    method: string,
    path: string,
    init: { query?: Query; json?: unknown; body?: Uint8Array } = {},
  ): Promise<Response> {
    const url = new URL(base + path);
    for (const [k, v] of Object.entries(init.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { ...options.headers };
    let body: string | Uint8Array | undefined;
    if (init.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.json);
    } else if (init.body) {
      headers['content-type'] = 'application/octet-stream';
      body = init.body;
    }
    let res: Response;
    try {
      res = await doFetch(url, { method, headers, body, signal: AbortSignal.timeout(timeoutMs) });
    } catch (e) {
      throw new SkiffError(
        'SOURCE_UNAVAILABLE',
        `MLflow at ${base} is unreachable (${method} ${path}): ${(e as Error).message}`,
        { cause: e },
      );
    }
    if (res.ok) return res;
    const text = await res.text().catch(() => '');
    let code: string | undefined;
    let message = text.slice(0, 500);
    try {
      const j = JSON.parse(text) as { error_code?: string; message?: string };
      code = j.error_code;
      message = j.message ?? message;
    } catch {
      // not JSON (proxy error page …)
    }
    const details = { mlflowErrorCode: code ?? `HTTP_${res.status}`, status: res.status, method, path };
    if (res.status >= 500 || res.status === 429)
      throw new SkiffError('SOURCE_UNAVAILABLE', `MLflow ${method} ${path} failed (${res.status}): ${message}`, {
        details,
      });
    throw new SkiffError('BAD_INPUT', `MLflow ${method} ${path}: ${code ?? res.status}: ${message}`, { details });
  }

  return {
    trackingUri: base,
    async get<T>(path: string, query?: Query) {
      return (await (await request('GET', `/api/2.0/mlflow/${path}`, query ? { query } : {})).json()) as T;
    },
    async post<T>(path: string, json: unknown) {
      return (await (await request('POST', `/api/2.0/mlflow/${path}`, { json })).json()) as T;
    },
    async del<T>(path: string, query?: Query) {
      return (await (await request('DELETE', `/api/2.0/mlflow/${path}`, query ? { query } : {})).json()) as T;
    },
    async putArtifact(artifactPath, content) {
      await (
        await request('PUT', `/api/2.0/mlflow-artifacts/artifacts/${encodePath(artifactPath)}`, { body: content })
      ).arrayBuffer();
    },
    async getArtifact(artifactPath) {
      return new Uint8Array(
        await (await request('GET', `/api/2.0/mlflow-artifacts/artifacts/${encodePath(artifactPath)}`)).arrayBuffer(),
      );
    },
  };
}

/**
 * MLflow names (metric/param/tag keys) allow only `[A-Za-z0-9_\-. /]` (and `:`); skiff's metric
 * names have `@` (`hr@20`). Reversible encoding: any other byte, and `:` itself, becomes `:XX`
 * (two hex digits of its UTF-8 byte), so `hr@20` is logged as `hr:4020` and read back as `hr@20`.
 */
export function encodeKey(key: string): string {
  let out = '';
  for (const byte of Buffer.from(key, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_\-. /]/.test(c) ? c : `:${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

export function decodeKey(key: string): string {
  if (!key.includes(':')) return key;
  const bytes: number[] = [];
  for (let i = 0; i < key.length; i++) {
    const m = key[i] === ':' ? /^[0-9a-f]{2}/i.exec(key.slice(i + 1, i + 3)) : null;
    if (m) {
      bytes.push(parseInt(m[0], 16));
      i += 2;
    } else bytes.push(...Buffer.from(key[i]!, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Experiment id by name, creating it (with `tags`) if missing; safe against a concurrent creator. */
export async function ensureExperiment(
  client: MlflowClient,
  name: string,
  tags: Record<string, string> = {},
): Promise<string> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const got = await client.get<{ experiment: { experiment_id: string } }>('experiments/get-by-name', {
        experiment_name: name,
      });
      return got.experiment.experiment_id;
    } catch (e) {
      if (mlflowErrorCode(e) !== 'RESOURCE_DOES_NOT_EXIST') throw e;
    }
    try {
      const made = await client.post<{ experiment_id: string }>('experiments/create', {
        name,
        tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
      });
      return made.experiment_id;
    } catch (e) {
      if (mlflowErrorCode(e) !== 'RESOURCE_ALREADY_EXISTS') throw e;
    }
  }
  throw new SkiffError('SOURCE_UNAVAILABLE', `could not create or find MLflow experiment ${name}`);
}

/** `mlflow-artifacts:/1/<run>/artifacts` → `1/<run>/artifacts`; refuses servers without the artifact proxy. */
export function proxiedArtifactPath(artifactUri: string): string {
  const m = /^mlflow-artifacts:(?:\/\/[^/]*)?\/(.+)$/.exec(artifactUri);
  if (!m?.[1])
    throw new SkiffError(
      'DEPENDENCY_MISSING',
      `MLflow run artifact location ${artifactUri} is not served by the tracking server; start it with --artifacts-destination (artifact proxy, mlflow-artifacts:/)`,
    );
  return m[1].replace(/\/+$/, '');
}
