/**
 * Credentials in a URL: which query parameters carry one, and the URL with them (and
 * anything shaped like a full key) replaced, for every URL the API logs or echoes.
 */
const credentialNames = new Set(['api_key', 'apikey', 'access_token', 'token']);
// `key` is also an ordinary word (a flag's key): it counts only when its value looks like a credential.
const keyShaped = /ak_[0-9a-f]{12}|[A-Za-z0-9_-]{32,}/;
const fullKey = /ak_[0-9a-f]{12}\.[A-Za-z0-9_-]+/g;
const holdsKey = /ak_[0-9a-f]{12}\.[A-Za-z0-9_-]+/;
const hidden = '[redacted]';

function isCredential(name: string, value: string): boolean {
  const n = name.toLowerCase();
  if (credentialNames.has(n)) return value !== '';
  return n === 'key' && keyShaped.test(value);
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

/** The query parameters that carry a credential, by name as sent. */
export function queryCredentials(url: string): string[] {
  const q = url.indexOf('?');
  if (q < 0) return [];
  return url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      return eq < 0 ? [decode(pair), ''] : [decode(pair.slice(0, eq)), decode(pair.slice(eq + 1))];
    })
    .filter(([name, value]) => isCredential(name, value))
    .map(([name]) => name);
}

/** The URL with credential values and key-shaped text replaced, for logs and problem documents. */
export function redactedUrl(url: string): string {
  const q = url.indexOf('?');
  const path = (q < 0 ? url : url.slice(0, q)).replace(fullKey, hidden);
  if (q < 0) return path;
  const query = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq < 0) return pair.replace(fullKey, hidden);
      const name = pair.slice(0, eq);
      const value = decode(pair.slice(eq + 1));
      return isCredential(decode(name), value) || holdsKey.test(value) ? `${name}=${hidden}` : pair;
    })
    .join('&');
  return `${path}?${query}`;
}
