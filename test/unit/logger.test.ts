import { Writable } from 'node:stream';
import pino from 'pino';
import { redactPaths, redactUrl } from '../../lib/infra/logger';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const log = pino({ redact: { paths: redactPaths, censor: '[redacted]' } }, stream);
  return { log, text: () => lines.join('') };
}

describe('logger redaction', () => {
  test.each([
    ['an authorization header', { req: { headers: { authorization: 'Bearer s3cret-token' } } }],
    ['a partner access token header', { headers: { 'x-access-token': 's3cret-token' } }],
    ['a nested API key', { cbb: { apiKey: 's3cret-token' } }],
    ['a password', { db: { password: 's3cret-token' } }],
    ['a token', { token: 's3cret-token' }],
    ['an access token', { partner: { accessToken: 's3cret-token' } }],
  ])('hides %s', (_what, obj) => {
    const { log, text } = capture();
    log.info(obj, 'call made');
    expect(text()).toContain('[redacted]');
    expect(text()).not.toContain('s3cret-token');
  });

  test('redactUrl hides the password and token parameters', () => {
    expect(redactUrl('postgres://orch:hunter2@db:5432/x')).toBe('postgres://orch:***@db:5432/x');
    expect(redactUrl('https://api.example/x?access_token=abc&page=2')).toBe(
      'https://api.example/x?access_token=***&page=2',
    );
    expect(redactUrl('not a url')).toBe('[unparseable url]');
  });
});
