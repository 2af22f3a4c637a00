import { fromLibvirt, libvirtErrorCode } from '../../activities/vm/libvirt-errors';
import { AppError } from '../../lib/errors';
import { vmError } from '../../lib/vm/errors';

describe('libvirt messages to codes', () => {
  // Messages as libvirt 9 and virsh word them.
  it.each([
    ["Failed to connect socket to '/x/libvirt-sock': No such file or directory", 'LIBVIRT_CONNECTION_FAILED'],
    ['Cannot recv data: Connection reset by peer', 'LIBVIRT_CONNECTION_FAILED'],
    ['End of file while reading data: Input/output error', 'LIBVIRT_CONNECTION_FAILED'],
    ['internal error: client socket is closed', 'LIBVIRT_CONNECTION_FAILED'],
    ['Domain not found', 'MACHINE_NOT_FOUND'],
    ["Domain not found: no domain with matching name 'web-1'", 'MACHINE_NOT_FOUND'],
    ["failed to get domain 'web-1'", 'MACHINE_NOT_FOUND'],
    ["Domain snapshot not found: no domain snapshot with matching name 'x'", 'MACHINE_NOT_FOUND'],
    [
      "operation failed: domain 'web-1' already exists with uuid 6f1b2c8e-4a4e-4f7e-9a43-2b6f0b6a1c11",
      'RESOURCE_CONFLICT',
    ],
    ['Requested operation is not valid: domain is not running', 'RESOURCE_CONFLICT'],
    ['Domain is already active', 'RESOURCE_CONFLICT'],
    ['Requested operation is not valid: cannot delete inactive domain with 2 snapshots', 'RESOURCE_CONFLICT'],
    ["XML error: Invalid value for attribute 'unit'", 'VALIDATION_ERROR'],
    [
      'invalid argument: requested vcpus is greater than max allowable vcpus for the live domain: 6 > 4',
      'VALIDATION_ERROR',
    ],
    ['Timed out during operation: cannot acquire state change lock', 'MACHINE_OPERATION_FAILED'],
  ])('%s → %s', (message, code) => {
    expect(libvirtErrorCode(message)).toBe(code);
  });

  it('keeps the operation, the domain and libvirt words in the error', () => {
    const err = fromLibvirt('error: Domain not found', 'start', 'web-1');
    expect(err.message).toBe('start on "web-1" failed: Domain not found');
    expect(err.details).toMatchObject({
      code: 'MACHINE_NOT_FOUND',
      operation: 'start',
      domain: 'web-1',
      libvirt: 'Domain not found',
    });
  });

  it('reads errors made in another realm by their message, and passes AppErrors through', () => {
    const foreign = { message: 'Domain not found', toString: () => 'LibvirtError: Domain not found (code: -1)' };
    expect(fromLibvirt(foreign, 'info').details?.libvirt).toBe('Domain not found');
    const ours = vmError('RESOURCE_EXHAUSTED', 'busy');
    expect(fromLibvirt(ours, 'info')).toBe(ours);
    expect(fromLibvirt(ours, 'info')).toBeInstanceOf(AppError);
  });
});
