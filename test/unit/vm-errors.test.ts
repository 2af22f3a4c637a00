import { ApplicationFailure } from '@temporalio/common';
import { toFailure } from '../../workers/failure';
import { AppError, isPermanent } from '../../lib/errors';
import { vmError, vmErrorCode, vmErrorCodes, vmErrorKinds } from '../../lib/vm/errors';

describe('VM error codes', () => {
  it.each(vmErrorCodes)('%s reaches Temporal retryable exactly when its kind says so', (code) => {
    const err = vmError(code, `something about ${code}`, { machine: 'web-1' });
    expect(err).toBeInstanceOf(AppError);
    expect(err.type).toBe(vmErrorKinds[code].type);
    expect(err.details).toMatchObject({ code, machine: 'web-1', severity: vmErrorKinds[code].severity });
    const failure = toFailure(err) as ApplicationFailure;
    expect(failure.nonRetryable).toBe(!vmErrorKinds[code].retryable);
    expect(failure.nonRetryable).toBe(isPermanent(err.type));
  });

  it('retries what time can fix and nothing else', () => {
    const retryable = vmErrorCodes.filter((c) => vmErrorKinds[c].retryable).sort();
    expect(retryable).toEqual([
      'DATABASE_ERROR',
      'LIBVIRT_CONNECTION_FAILED',
      'MACHINE_OPERATION_FAILED',
      'RESOURCE_EXHAUSTED',
    ]);
  });

  it('reads the code back only from errors that carry a known one', () => {
    expect(vmErrorCode(vmError('RESOURCE_CONFLICT', 'x'))).toBe('RESOURCE_CONFLICT');
    expect(vmErrorCode(new AppError('Conflict', 'x', { code: 'SOMETHING_ELSE' }))).toBeUndefined();
    expect(vmErrorCode(new Error('x'))).toBeUndefined();
  });
});
