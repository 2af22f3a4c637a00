import { describeRateLimitWait, retryAfterOf } from '../../lib/cbb/rate-limit';

test('the wait names the refused call, the time the step runs again and the Retry-After', () => {
  expect(describeRateLimitWait('fields', Date.parse('2026-11-26T05:00:00.000Z'), 3600)).toBe(
    'CBB answered 429 (rate limited) on setting the custom fields: retrying at 2026-11-26T05:00:00.000Z, after its Retry-After of 3600 s',
  );
  // An HTTP-date Retry-After leaves a fraction of a second; the words round it up as the timer does.
  expect(describeRateLimitWait('confirmation', 0, 14.2)).toMatch(/sending the WhatsApp confirmation: .* of 15 s$/);
});

test.each([
  [[{ retryAfterSeconds: 15, upstreamStatus: 429 }], 15],
  [[{ retryAfterSeconds: 0 }], undefined],
  [[{ retryAfterSeconds: 'soon' }], undefined],
  [[{ upstreamStatus: 429 }], undefined],
  [[], undefined],
  [undefined, undefined],
])('the wait of failure details %j is %p', (details, seconds) => {
  expect(retryAfterOf(details)).toBe(seconds);
});
