import { z } from 'zod';
import { AppError, errorMessage } from '../../lib/errors';
import { modelFromJson, modelJsonSchema, type HmmParams, type Observations } from '../../lib/hmm';
import { stateCounts, type AnalysisParams } from '../../lib/hmm/contract';

/**
 * The origin's HMM service: `POST ${url}/analyze` with the features and the fit's
 * parameters, answered by the fitted model. One call per attempt: whether to try again
 * is the activity's retry policy's decision, so this module only sorts each failure into
 * retryable (a timeout, a refused or reset connection, 429 and 5xx) and permanent
 * (other 4xx: the request is wrong; 401/403: the credentials are).
 */

export interface RemoteEngineConfig {
  url: string;
  token?: string;
  timeoutMs: number;
}

export interface AnalyzeRequest {
  symbol: string;
  features: string[];
  /** N rows × D features. */
  X: number[][];
  states: number[];
  criterion: 'bic' | 'aic';
  covarianceType: 'diag' | 'full';
  seed: number;
  restarts: number;
  nIter: number;
  tol: number;
}

export const analyzeResponseSchema = z.object({
  model: modelJsonSchema,
  logLikelihood: z.number(),
  converged: z.boolean(),
  iterations: z.number().int().min(0),
  candidates: z
    .array(
      z.object({
        states: z.number().int(),
        logLikelihood: z.number(),
        bic: z.number(),
        aic: z.number(),
        converged: z.boolean(),
      }),
    )
    .optional(),
});

export interface RemoteFit {
  model: HmmParams;
  logLikelihood: number;
  converged: boolean;
  iterations: number;
  candidates?: z.infer<typeof analyzeResponseSchema>['candidates'];
}

export function analyzeRequest(
  symbol: string,
  features: string[],
  obs: Observations,
  p: AnalysisParams,
): AnalyzeRequest {
  const X = Array.from({ length: obs.n }, (_, t) => Array.from(obs.data.subarray(t * obs.d, (t + 1) * obs.d)));
  return {
    symbol,
    features,
    X,
    states: stateCounts(p),
    criterion: p.criterion,
    covarianceType: p.covariance,
    seed: p.seed,
    restarts: p.restarts,
    nIter: p.nIter,
    tol: p.tol,
  };
}

/** One call to the service. `signal` is the activity's cancellation; the timeout is the engine's own. */
export async function analyzeRemotely(
  config: RemoteEngineConfig,
  request: AnalyzeRequest,
  signal: AbortSignal,
): Promise<RemoteFit> {
  const url = `${config.url}/analyze`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(config.token ? { authorization: `Bearer ${config.token}` } : {}),
      },
      body: JSON.stringify(request),
      signal: AbortSignal.any([signal, AbortSignal.timeout(config.timeoutMs)]),
    });
  } catch (err) {
    if (signal.aborted) throw signal.reason ?? err;
    if ((err as { name?: string }).name === 'TimeoutError') {
      throw new AppError('Unavailable', `the HMM service did not answer within ${config.timeoutMs} ms (${url})`);
    }
    const cause = (err as { cause?: unknown }).cause;
    throw new AppError('Unavailable', `cannot reach the HMM service at ${url}: ${errorMessage(cause ?? err)}`);
  }
  const text = await res.text().catch((err: unknown) => {
    throw new AppError('Unavailable', `the HMM service's answer broke off: ${errorMessage(err)}`);
  });
  if (!res.ok) throw statusError(res, text, url);
  return parseAnswer(text, url);
}

function statusError(res: Response, text: string, url: string): AppError {
  const detail = serviceMessage(text);
  const what = `the HMM service answered ${res.status}${detail ? `: ${detail}` : ''} (${url})`;
  if (res.status === 401 || res.status === 403) {
    return new AppError('Unauthorized', `${what}; check HMM_SERVICE_TOKEN`, { status: res.status });
  }
  if (res.status === 429 || res.status >= 500) {
    const retryAfter = Number(res.headers.get('retry-after'));
    return new AppError('Upstream', what, {
      status: res.status,
      ...(retryAfter > 0 ? { retryAfterSeconds: retryAfter } : {}),
    });
  }
  return new AppError('ValidationError', what, { status: res.status });
}

/** The service's own words, if it sent any: a JSON `error`/`detail`/`message`, or short text. */
function serviceMessage(text: string): string {
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    const m = body.error ?? body.detail ?? body.message;
    if (typeof m === 'string') return m;
  } catch {
    /* not JSON */
  }
  return text.slice(0, 200);
}

function parseAnswer(text: string, url: string): RemoteFit {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new AppError('Upstream', `the HMM service answered with something other than JSON (${url})`);
  }
  const parsed = analyzeResponseSchema.safeParse(body);
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
    throw new AppError('Upstream', `the HMM service's answer is not a model: ${why}`);
  }
  let model: HmmParams;
  try {
    model = modelFromJson(parsed.data.model);
  } catch (err) {
    throw new AppError('Upstream', `the HMM service returned an unusable model: ${errorMessage(err)}`);
  }
  const { logLikelihood, converged, iterations, candidates } = parsed.data;
  return { model, logLikelihood, converged, iterations, candidates };
}
