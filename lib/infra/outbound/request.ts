import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { VettedTarget } from './vet';

export interface OutboundAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** Thrown when the whole exchange took longer than its budget. */
export class OutboundTimeout extends Error {
  override name = 'TimeoutError';
}

/** An answer's body beyond this is cut: a router's reply is a few bytes, and a hostile one must not fill memory. */
const maxBody = 64 * 1024;

/**
 * One HTTP exchange with a vetted target. The connection goes to the address that was
 * checked, whatever the name resolves to by now (a name cannot be turned to a private
 * address between the check and the call), and TLS still verifies the name. Redirects
 * are not followed: the answer is returned as it came, 3xx included.
 */
export function outboundRequest(
  target: VettedTarget,
  opts: { method: string; headers: Record<string, string>; body?: string; timeoutMs: number },
): Promise<OutboundAnswer> {
  const pinned: LookupFunction = (_host, options, callback) => {
    if ((options as { all?: boolean }).all) {
      (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [
        { address: target.address, family: target.family },
      ]);
    } else callback(null, target.address, target.family);
  };
  const send = target.url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(target.url, { method: opts.method, headers: opts.headers, lookup: pinned, agent: false });
    const late = new OutboundTimeout(`no answer within ${opts.timeoutMs} ms`);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      req.destroy(late);
    }, opts.timeoutMs);
    // Whichever of the request and the answer reports the end first, a timeout is reported as one.
    const fail = (err: Error) => {
      clearTimeout(timer);
      reject(timedOut ? late : err);
    };
    req.on('error', fail);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size < maxBody) chunks.push(chunk);
        size += chunk.length;
      });
      res.on('error', fail);
      res.on('close', () => {
        if (!res.complete) fail(new Error('the connection closed before the answer ended'));
      });
      res.on('end', () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).subarray(0, maxBody).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text });
      });
    });
    req.end(opts.body);
  });
}
