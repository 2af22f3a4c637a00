import { AppError, isPermanent, type ErrorType } from '../errors';

/**
 * The VM process's error codes. Each code maps onto one AppError type, so the API's
 * status and the activity's retry decision follow from the type as for every other
 * process; the code and severity ride along in `details` for the machine's event log.
 */
export const vmErrorCodes = [
  'MACHINE_NOT_FOUND',
  'MACHINE_OPERATION_FAILED',
  'LIBVIRT_CONNECTION_FAILED',
  'DATABASE_ERROR',
  'RESOURCE_CONFLICT',
  'RESOURCE_EXHAUSTED',
  'VALIDATION_ERROR',
] as const;
export type VmErrorCode = (typeof vmErrorCodes)[number];

export type Severity = 'low' | 'medium' | 'high' | 'critical';

export interface VmErrorKind {
  type: ErrorType;
  severity: Severity;
  /** Derived from the type, never set apart from it: one rule decides what Temporal retries. */
  retryable: boolean;
}

const kind = (type: ErrorType, severity: Severity): VmErrorKind => ({
  type,
  severity,
  retryable: !isPermanent(type),
});

export const vmErrorKinds: Record<VmErrorCode, VmErrorKind> = {
  // The domain is gone: retrying cannot bring it back; the workflow decides (redefine or mark deleted).
  MACHINE_NOT_FOUND: kind('NotFound', 'medium'),
  // The hypervisor failed a call it accepted (I/O error, a driver hiccup): worth another try.
  MACHINE_OPERATION_FAILED: kind('Upstream', 'high'),
  // libvirtd down or the connection dropped: transient until an operator says otherwise.
  LIBVIRT_CONNECTION_FAILED: kind('Unavailable', 'critical'),
  DATABASE_ERROR: kind('Unavailable', 'critical'),
  // The operation does not fit the domain's state or an existing object (name taken, not running).
  RESOURCE_CONFLICT: kind('Conflict', 'medium'),
  // Every pooled connection stayed busy for the whole acquire timeout: load, not a fault of the request.
  RESOURCE_EXHAUSTED: kind('Unavailable', 'high'),
  VALIDATION_ERROR: kind('ValidationError', 'low'),
};

export interface VmErrorDetails extends Record<string, unknown> {
  code: VmErrorCode;
  severity: Severity;
  retryable: boolean;
}

export function vmError(
  code: VmErrorCode,
  message: string,
  details?: Record<string, unknown>,
  cause?: unknown,
): AppError {
  const k = vmErrorKinds[code];
  return new AppError(k.type, message, { ...details, code, severity: k.severity, retryable: k.retryable }, { cause });
}

/** The code carried by an error made by vmError, if any. */
export function vmErrorCode(err: unknown): VmErrorCode | undefined {
  if (!(err instanceof AppError)) return undefined;
  const code = err.details?.code;
  return typeof code === 'string' && (vmErrorCodes as readonly string[]).includes(code)
    ? (code as VmErrorCode)
    : undefined;
}
