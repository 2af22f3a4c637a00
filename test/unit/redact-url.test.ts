import { queryCredentials, redactedUrl } from '../../api/access/redact-url';

/** Which query parameters count as credentials, and what is left of a URL once they are hidden. */
const key = `ak_0123456789ab.${'s'.repeat(43)}`;

test.each([
  [`/api/v1/orders?api_key=${key}`, ['api_key']],
  [`/x?APIKEY=abc&page=2`, ['APIKEY']],
  [`/x?access_token=abc&token=def`, ['access_token', 'token']],
  [`/x?Key=${encodeURIComponent(key)}`, ['Key']],
  [`/x?key=${'A'.repeat(40)}`, ['key']],
  ['/x?key=checkout', []],
  ['/x?pageToken=abc&token=', []],
  ['/x', []],
])('%s carries %j', (url, names) => {
  expect(queryCredentials(url)).toEqual(names);
});

test('credential values and full keys anywhere are replaced; the rest of the URL is kept', () => {
  expect(redactedUrl(`/api/v1/orders/1?api_key=${key}&page=2`)).toBe('/api/v1/orders/1?api_key=[redacted]&page=2');
  expect(redactedUrl(`/api/v1/flags/${key}?key=checkout`)).toBe('/api/v1/flags/[redacted]?key=checkout');
  expect(redactedUrl(`/x?note=${encodeURIComponent(key)}`)).toBe('/x?note=[redacted]');
  expect(redactedUrl('/x?key=checkout')).toBe('/x?key=checkout');
});
