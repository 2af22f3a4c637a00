import { createServer, type IncomingMessage, type Server } from 'node:http';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Worker } from '@temporalio/worker';
import { createHmmActivities } from '../../activities/hmm';
import { fitHmm, modelToJson, observationsFromRows, syntheticBars } from '../../lib/hmm';
import { analysisRequestSchema, hmmAnalysisStartOptions, type AnalysisRequest } from '../../lib/hmm/contract';
import { importBars } from '../../store/hmm/bars';
import { hmmAnalysis } from '../../workflows/hmm';
import { connectStack, stackWorker, type StackHandles } from '../helpers/stack';
import { uniqueTaskQueue } from '../helpers/time-skipping';

/**
 * The remote engine (HMM_ENGINE=remote) against a local stand-in of the origin's
 * service: the activity's retry policy, not a loop, retries timeouts, 5xx and refused
 * connections 3 times (1 s, then 2 s), and never retries a 401.
 */

const slot = Number(process.env.TEST_STACK_SLOT ?? 0);
const standInPort = 20_000 + 100 * slot + 1;
// Nothing listens here: a refused connection.
const closedPort = 20_000 + 100 * slot + 3;
const symbol = `REM${process.pid % 100_000}`;

type Behaviour = 'ok' | '503' | '401' | 'hang';
let script: Behaviour[] = [];
let seen: { at: number; body: any }[] = [];
let stack: StackHandles;
let server: Server;
const workers: { worker: Worker; running: Promise<void> }[] = [];

async function readJson(req: IncomingMessage): Promise<any> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

beforeAll(async () => {
  stack = await connectStack();
  await importBars(stack.pool, symbol, syntheticBars({ n: 600, seed: 5 }).bars);
  server = createServer((req, res) => {
    void (async () => {
      const body = await readJson(req);
      seen.push({ at: Date.now(), body });
      const behaviour = script.shift() ?? 'ok';
      if (req.method !== 'POST' || req.url !== '/analyze') {
        res.writeHead(404).end();
      } else if (behaviour === '503') {
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"model server warming up"}');
      } else if (behaviour === '401') {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid token"}');
      } else if (behaviour === 'hang') {
        // Never answers; the client's timeout ends the call.
      } else {
        const fit = fitHmm(observationsFromRows(body.X), {
          states: body.states[0],
          covarianceType: body.covarianceType,
          seed: body.seed,
          restarts: body.restarts,
          nIter: body.nIter,
          tol: body.tol,
        });
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            // States reversed: the activity must order them by volatility itself.
            model: modelToJson({
              ...fit.model,
              startprob: fit.model.startprob.slice().reverse(),
              means: fit.model.means.slice().reverse(),
              covars: fit.model.covars.slice().reverse(),
              transmat: fit.model.transmat.slice().reverse(),
            }),
            logLikelihood: fit.logLikelihood,
            converged: fit.converged,
            iterations: fit.iterations,
          }),
        );
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(standInPort, '127.0.0.1', resolve));
}, 60_000);

afterAll(async () => {
  for (const w of workers) w.worker.shutdown();
  await Promise.all(workers.map((w) => w.running));
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await stack?.close();
});

beforeEach(() => {
  script = [];
  seen = [];
});

/** A worker whose engine is the remote one at `url`, with a 1 s timeout per call. */
async function remoteWorker(url: string): Promise<string> {
  const taskQueue = uniqueTaskQueue('it-hmm-remote');
  const config = {
    ...stack.config,
    hmm: { ...stack.config.hmm, taskQueue, engine: 'remote' as const, serviceUrl: url, serviceTimeoutMs: 1000 },
  };
  const worker = await stackWorker(stack, {
    taskQueue,
    activities: createHmmActivities({ ...stack.deps, config }),
    maxHeartbeatThrottleInterval: '1s',
  });
  workers.push({ worker, running: worker.run() });
  return taskQueue;
}

async function analyse(taskQueue: string, request: Partial<AnalysisRequest>) {
  const params = analysisRequestSchema.parse({ symbol, features: 'returns', states: 2, ...request });
  return stack.client.workflow.execute(hmmAnalysis, { ...hmmAnalysisStartOptions(params, taskQueue), taskQueue });
}

async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  return (err as WorkflowFailedError).cause as ApplicationFailure;
}

const gaps = () => seen.slice(1).map((s, i) => s.at - seen[i].at);

test('a 503 is retried after 1 s and the next answer completes the analysis, states ordered by volatility', async () => {
  const taskQueue = await remoteWorker(`http://127.0.0.1:${standInPort}`);
  script = ['503', 'ok'];
  const result = await analyse(taskQueue, { seed: 1 });
  expect(seen).toHaveLength(2);
  expect(gaps()[0]).toBeGreaterThanOrEqual(1000);
  expect(seen[0].body).toMatchObject({ symbol, features: ['logReturn'], states: [2], covarianceType: 'diag', seed: 1 });
  expect(seen[0].body.X).toHaveLength(599);
  expect(result.fit.engine).toBe('remote');
  expect(result.regimes.map((r) => r.label)).toEqual(['low-vol', 'high-vol']);
  expect(result.regimes[0].volatility).toBeLessThan(result.regimes[1].volatility);
}, 60_000);

test('a service that never answers times out 3 times, 1 s then 2 s apart, and fails the analysis', async () => {
  const taskQueue = await remoteWorker(`http://127.0.0.1:${standInPort}`);
  script = ['hang', 'hang', 'hang', 'ok'];
  const cause = await failure(analyse(taskQueue, { seed: 2 }));
  expect(cause.type).toBe('Unavailable');
  expect(cause.message).toContain('did not answer within 1000 ms');
  expect(seen).toHaveLength(3);
  // Each gap is the 1 s timeout plus the backoff.
  const [first, second] = gaps();
  expect(first).toBeGreaterThanOrEqual(2000);
  expect(second).toBeGreaterThanOrEqual(3000);
}, 60_000);

test('a refused connection is retried 3 times, then fails with where it tried', async () => {
  const taskQueue = await remoteWorker(`http://127.0.0.1:${closedPort}`);
  const cause = await failure(analyse(taskQueue, { seed: 3 }));
  expect(cause.type).toBe('Unavailable');
  expect(cause.message).toContain(`cannot reach the HMM service at http://127.0.0.1:${closedPort}/analyze`);
  const { rows } = await stack.pool.query(`SELECT status, error FROM hmm_runs WHERE id = $1`, [
    hmmAnalysisStartOptions(analysisRequestSchema.parse({ symbol, features: 'returns', states: 2, seed: 3 }))
      .workflowId,
  ]);
  expect(rows[0].status).toBe('failed');
}, 60_000);

test('a 401 is not retried: one call, a permanent Unauthorized failure that says what to check', async () => {
  const taskQueue = await remoteWorker(`http://127.0.0.1:${standInPort}`);
  script = ['401', 'ok'];
  const cause = await failure(analyse(taskQueue, { seed: 4 }));
  expect(cause.type).toBe('Unauthorized');
  expect(cause.nonRetryable).toBe(true);
  expect(cause.message).toContain('answered 401: invalid token');
  expect(cause.message).toContain('HMM_SERVICE_TOKEN');
  expect(seen).toHaveLength(1);
}, 60_000);
