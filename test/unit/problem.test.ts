import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import { z } from 'zod';
import { toProblem } from '../../api/problem';
import { AppError } from '../../lib/errors';

describe('toProblem', () => {
  test('a zod error names each field', () => {
    const schema = z.object({ batchSize: z.number().int().min(1), name: z.string() });
    const result = schema.safeParse({ batchSize: 0 });
    const problem = toProblem(result.error);
    expect(problem.status).toBe(400);
    expect(problem.errors?.map((e) => e.field).sort()).toEqual(['batchSize', 'name']);
    expect(problem.detail).toMatch(/batchSize: Number must be greater than or equal to 1/);
  });

  test.each([
    [new AppError('ValidationError', 'bad'), 400],
    [new AppError('NotFound', 'gone'), 404],
    [new AppError('Conflict', 'twice'), 409],
    [new AppError('Unauthorized', 'who'), 401],
    [new AppError('Unavailable', 'later'), 503],
    [new AppError('RateLimited', 'CBB find contact: rate limited (429)', { retryAfterSeconds: 30 }), 503],
    [new WorkflowNotFoundError('no such workflow', 'wf-1', undefined), 404],
    [new WorkflowExecutionAlreadyStartedError('started', 'wf-1', 'T'), 409],
  ])('%p maps to %i', (err, status) => {
    expect(toProblem(err).status).toBe(status);
  });

  test("a partner's rate limit passes its Retry-After on, rounded up to whole seconds", () => {
    const err = new AppError('RateLimited', 'CBB find contact: rate limited (429)', { retryAfterSeconds: 29.2 });
    expect(toProblem(err).retryAfter).toBe(30);
  });

  test('an update that timed out unchecked claims neither that it runs nor that it does not', () => {
    const problem = toProblem(new WorkflowUpdateRPCTimeoutOrCancelledError('Deadline exceeded'));
    expect(problem).toMatchObject({ status: 503, retryAfter: expect.any(Number) });
    expect(problem.detail).toMatch(/whether it holds it is not known/);
  });

  test('an update not handed over names its id, for the resend', () => {
    const problem = toProblem(new AppError('Unavailable', 'update u-1 of vm-1: not held', { updateId: 'u-1' }));
    expect(problem).toMatchObject({ status: 503, updateId: 'u-1', retryAfter: expect.any(Number) });
  });

  test('an unknown error says nothing of its internals', () => {
    const problem = toProblem(new Error('password=hunter2 at db.ts:12'));
    expect(problem.status).toBe(500);
    expect(JSON.stringify(problem)).not.toContain('hunter2');
  });
});
