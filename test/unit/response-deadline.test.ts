import type { AddressInfo } from 'node:net';
import express from 'express';
import { setLateAnswer } from '../../api/request-deadline';
import { responseDeadline } from '../../api/response-deadline';

/** The deadline's backstop on a real server: a handler that never answers, with and without a late answer set. */
async function serve(deadlineMs: number, late: boolean) {
  const app = express();
  const shed: string[] = [];
  app.use(responseDeadline(deadlineMs, (res) => shed.push(String(res.statusCode))));
  app.post('/hang', (_req, res) => {
    if (late)
      setLateAnswer(res, { detail: 'update u-1 (snapshot) of vm-5: not confirmed', extensions: { updateId: 'u-1' } });
    // Never answers: only the deadline does.
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hang`;
  return { url, shed, close: () => new Promise((r) => server.close(r)) };
}

test.each([false, true])('a request the handler never answers gets the 503 (late answer set: %s)', async (late) => {
  const app = await serve(300, late);
  try {
    const res = await fetch(app.url, { method: 'POST', signal: AbortSignal.timeout(10_000) });
    const body = (await res.json()) as Record<string, unknown>;
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(body).toMatchObject({ status: 503, title: 'Unavailable', instance: '/hang' });
    if (late) expect(body).toMatchObject({ updateId: 'u-1', detail: 'update u-1 (snapshot) of vm-5: not confirmed' });
    else {
      expect(body.detail).toBe('the API could not answer within its 300 ms deadline; retry shortly');
      expect(body).not.toHaveProperty('updateId');
    }
    expect(app.shed).toHaveLength(1);
  } finally {
    await app.close();
  }
});
