import { AppError, errorMessage } from '../../lib/errors';
import { vmError, type VmErrorCode } from '../../lib/vm/errors';

/**
 * libvirt's errors reach us as bare messages (the binding rejects with a string and
 * every code is -1; virsh prints "error: ..." lines), so the code is read from the
 * message. The patterns are libvirt's own wording of virErrorNumber's messages.
 */
const rules: [RegExp, VmErrorCode][] = [
  [
    /failed to connect|cannot recv data|end of file while reading|client socket is closed|broken pipe|connection reset|cannot write data|no connection driver|invalid connection pointer|not connected|keepalive timeout|unable to connect/i,
    'LIBVIRT_CONNECTION_FAILED',
  ],
  [
    /domain not found|no domain with matching|failed to get domain|snapshot not found|no domain snapshot with matching/i,
    'MACHINE_NOT_FOUND',
  ],
  [
    /already exists|already active|already running|is not running|domain is not|not valid|operation invalid|cannot delete inactive domain|operation not supported|is paused/i,
    'RESOURCE_CONFLICT',
  ],
  [
    /xml error|failed to validate|invalid argument|unsupported configuration|unable to parse|invalid value|cannot parse/i,
    'VALIDATION_ERROR',
  ],
];

/** The message, also of errors from another realm (the binding may load outside a test's sandbox). */
function text(err: unknown): string {
  const message = (err as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : errorMessage(err);
}

export function libvirtErrorCode(message: string): VmErrorCode {
  for (const [pattern, code] of rules) if (pattern.test(message)) return code;
  return 'MACHINE_OPERATION_FAILED';
}

/** An AppError with the code the message implies; AppErrors pass through unchanged. */
export function fromLibvirt(err: unknown, operation: string, domain?: string): AppError {
  if (err instanceof AppError) return err;
  const message = text(err)
    .replace(/^error:\s*/i, '')
    .trim();
  const on = domain ? ` on ${JSON.stringify(domain)}` : '';
  return vmError(
    libvirtErrorCode(message),
    `${operation}${on} failed: ${message}`,
    { operation, domain, libvirt: message },
    err,
  );
}
