import { AppError } from '../../lib/errors';
import { vmErrorCode } from '../../lib/vm/errors';
import { machineSpecSchema, operationArgsSchemas, parse } from '../../lib/vm/validate';

const good = {
  machineId: '42',
  name: 'web-1',
  description: 'Front end, R&D "blue" team',
  metadata: { team: 'ops', 'cost.centre': '7-12' },
  template: { vcpus: 2, memoryMiB: 512 },
};

function refusal(input: unknown, schema: Parameters<typeof parse>[0] = machineSpecSchema): AppError {
  try {
    parse(schema, input, 'machine');
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).type).toBe('ValidationError');
    expect(vmErrorCode(err)).toBe('VALIDATION_ERROR');
    return err as AppError;
  }
  throw new Error(`expected ${JSON.stringify(input)} to be refused`);
}

describe('machine spec validation', () => {
  it('accepts a plain machine and fills the defaults', () => {
    const spec = parse(machineSpecSchema, good);
    expect(spec.runStrategy).toBe('Manual');
    expect(spec.template.os.arch).toBe('x86_64');
    expect(spec.description).toBe(good.description);
  });

  it.each([
    ['markup', 'web</name><devices/>'],
    ['a shell command', 'web;rm -rf /'],
    ['an option', '--help'],
    ['a path', '../etc/passwd'],
    ['upper case', 'Web'],
    ['a trailing hyphen', 'web-'],
    ['spaces', 'web 1'],
    ['nothing', ''],
    ['64 characters', 'a'.repeat(64)],
    ['a newline', 'web\nx'],
  ])('refuses a name with %s', (_what, name) => {
    expect(refusal({ ...good, name }).message).toMatch(/name: machine name must be 1-63 characters/);
  });

  it.each([
    ['closing its element', 'x</description><devices><disk/></devices>'],
    ['a CDATA end', 'a]]>b'],
    ['a control character', 'bell\u0007'],
    ['a NUL', 'a\u0000b'],
    ['a lone surrogate', 'a\ud800b'],
  ])('refuses a description with %s', (_what, description) => {
    expect(refusal({ ...good, description }).message).toMatch(/^invalid machine: description: /);
  });

  it('refuses injected metadata keys and values, naming the field', () => {
    expect(refusal({ ...good, metadata: { 'x"><a': 'v' } }).message).toMatch(/metadata\.x"><a: metadata keys must be/);
    expect(refusal({ ...good, metadata: { note: '<script/>' } }).message).toMatch(
      /metadata\.note: a metadata value must not contain '<' or '>'/,
    );
    const many = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v']));
    expect(refusal({ ...good, metadata: many }).message).toMatch(/at most 32 entries/);
  });

  it('refuses sizes out of range with the range in the message', () => {
    expect(refusal({ ...good, template: { vcpus: 0, memoryMiB: 512 } }).message).toMatch(
      /vcpus must be between 1 and 64/,
    );
    expect(refusal({ ...good, template: { vcpus: 1, memoryMiB: 32 } }).message).toMatch(
      /memoryMiB must be between 64 and 262144/,
    );
  });

  it('refuses boot paths that climb out or carry odd characters', () => {
    const boot = (kernel: string) => ({ ...good, template: { ...good.template, boot: { kernel } } });
    expect(refusal(boot('/boot/../etc/shadow')).message).toMatch(/kernel path must not contain '\.\.'/);
    expect(refusal(boot('/boot/vmlinuz;reboot')).message).toMatch(/kernel path must be an absolute path/);
    expect(parse(machineSpecSchema, boot('/boot/vmlinuz-6.1.0-amd64')).template.boot?.kernel).toBe(
      '/boot/vmlinuz-6.1.0-amd64',
    );
  });

  it('refuses an unknown run strategy', () => {
    expect(refusal({ ...good, runStrategy: 'Sometimes' }).message).toMatch(/runStrategy/);
  });
});

describe('operation arguments', () => {
  it('needs something to resize', () => {
    expect(refusal({}, operationArgsSchemas.resize).message).toMatch(/resize needs memoryMiB, vcpus or both/);
    expect(parse(operationArgsSchemas.resize, { vcpus: 4 })).toEqual({ vcpus: 4 });
  });

  it('holds snapshot names to the same rule as machine names', () => {
    expect(refusal({ name: 'x --delete' }, operationArgsSchemas.snapshot).message).toMatch(/snapshot name must be/);
    expect(refusal({ snapshot: '-r' }, operationArgsSchemas.revert).message).toMatch(/snapshot name must be/);
    expect(refusal({ name: 'ok', description: '<x>' }, operationArgsSchemas.snapshot).message).toMatch(
      /snapshot description/,
    );
  });

  it('refuses fields an operation does not take', () => {
    expect(refusal({ force: true }, operationArgsSchemas.start).message).toMatch(/Unrecognized key/);
  });

  it('bounds the graceful shutdown timeout', () => {
    expect(refusal({ timeoutSeconds: 0 }, operationArgsSchemas.shutdown).message).toMatch(/between 1 and 600/);
  });
});
