/**
 * The chaos run's HTTP client for the API. Every answer is kept in the ledger, with the
 * route it was sent to (the template, not the path), how long it took and whether it
 * carried Retry-After, so the run can hold the API to its outage promises afterwards.
 * A refused connection (the API itself killed) is kept too, apart from the answers.
 */
export interface Answer {
  route: string;
  status: number;
  ms: number;
  retryAfter: boolean;
  at: number;
  /** The problem's detail of a 4xx or 5xx, for the report. */
  detail?: string;
}

export interface Reply<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

export class ApiUnreachable extends Error {}

export interface ChaosClient {
  call<T = unknown>(route: string, method: string, path: string, body?: unknown): Promise<Reply<T>>;
  /** Calls until the answer is neither a refused connection nor a 503/429, waiting as Retry-After says. */
  persist<T = unknown>(
    route: string,
    method: string,
    path: string,
    body?: unknown,
    timeoutMs?: number,
  ): Promise<Reply<T>>;
  answers: Answer[];
  unreachable: { route: string; at: number }[];
}

export function chaosClient(baseUrl: string, key: string | undefined, timeoutMs: number): ChaosClient {
  const answers: Answer[] = [];
  const unreachable: { route: string; at: number }[] = [];
  const headers = (body: unknown) => ({
    ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    ...(key ? { authorization: `Bearer ${key}` } : {}),
  });

  async function call<T>(route: string, method: string, path: string, body?: unknown): Promise<Reply<T>> {
    const at = Date.now();
    let res: Response;
    try {
      res = await fetch(`${baseUrl}${path}`, {
        method,
        headers: headers(body),
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      if (cause === 'ECONNREFUSED' || cause === 'ECONNRESET' || cause === 'UND_ERR_SOCKET') {
        unreachable.push({ route, at });
        throw new ApiUnreachable(`${method} ${path}: the API is not answering (${cause})`);
      }
      // A request the API held past the client's patience is an answer the ledger must see.
      if ((err as Error).name === 'TimeoutError')
        answers.push({ route, status: 0, ms: Date.now() - at, retryAfter: false, at });
      throw err;
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON: kept as text */
    }
    const answer: Answer = {
      route,
      status: res.status,
      ms: Date.now() - at,
      retryAfter: res.headers.has('retry-after'),
      at,
    };
    if (res.status >= 400)
      answer.detail = (parsed as { detail?: string } | undefined)?.detail ?? String(text).slice(0, 200);
    answers.push(answer);
    return { status: res.status, body: parsed as T, headers: res.headers };
  }

  async function persist<T>(route: string, method: string, path: string, body?: unknown, timeoutMs = 180_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let waitMs = 1000;
      try {
        const reply = await call<T>(route, method, path, body);
        if (reply.status !== 503 && reply.status !== 429) return reply;
        waitMs = Math.min(Number(reply.headers.get('retry-after') ?? 1) * 1000, 5000);
      } catch (err) {
        if (!(err instanceof ApiUnreachable) && (err as Error).name !== 'TimeoutError') throw err;
      }
      if (Date.now() + waitMs > deadline)
        throw new Error(`${method} ${path}: no answer but outages for ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, waitMs));
    }
  }

  return { call, persist, answers, unreachable };
}
