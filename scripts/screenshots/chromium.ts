import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';

/**
 * Headless Chromium (Debian's `chromium`) driven over the DevTools protocol on a pipe
 * (`--remote-debugging-pipe`: messages on fds 3 and 4, each ended by a NUL), so no
 * browser-automation package is needed. A shot is taken once the page shows a given
 * text, not after a guessed delay: the Web UI is a single-page app that renders after
 * its own requests.
 */
export interface Page {
  /** Sets localStorage entries for the page's origin (the Web UI keeps its column choice there). */
  setLocalStorage(origin: string, entries: Record<string, unknown>): Promise<void>;
  /** Opens `url`, waits until the page's text contains every one of `texts`, and writes a PNG. */
  shoot(url: string, file: string, texts: string[]): Promise<void>;
  close(): Promise<void>;
}

type Message = { id?: number; result?: Record<string, unknown>; error?: { message: string } };

export async function openPage(size: { width: number; height: number }, timeoutMs = 60_000): Promise<Page> {
  const args = ['--headless', '--disable-gpu', '--hide-scrollbars', '--remote-debugging-pipe', 'about:blank'];
  // Chromium refuses to run as root inside its sandbox (containers, CI).
  if (process.getuid?.() === 0) args.unshift('--no-sandbox');
  const browser: ChildProcess = spawn(process.env.CHROMIUM ?? 'chromium', args, {
    stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'],
  });
  const toBrowser = browser.stdio[3] as Writable;
  const fromBrowser = browser.stdio[4] as Readable;
  const waiting = new Map<number, (m: Message) => void>();
  let buffered = '';
  fromBrowser.on('data', (chunk: Buffer) => {
    const parts = (buffered + chunk.toString('utf8')).split('\0');
    buffered = parts.pop() ?? '';
    for (const part of parts) {
      const m = JSON.parse(part) as Message;
      if (m.id !== undefined) waiting.get(m.id)?.(m);
    }
  });
  let seq = 0;
  const send = (method: string, params: object = {}, sessionId?: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const id = ++seq;
      const timer = setTimeout(
        () => reject(new Error(`chromium did not answer ${method} in ${timeoutMs} ms`)),
        timeoutMs,
      );
      waiting.set(id, (m) => {
        clearTimeout(timer);
        waiting.delete(id);
        if (m.error) reject(new Error(`${method}: ${m.error.message}`));
        else resolve(m.result ?? {});
      });
      toBrowser.write(JSON.stringify({ id, method, params, sessionId }) + '\0');
    });

  const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
  const { sessionId } = (await send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
  const page = (method: string, params: object = {}) => send(method, params, sessionId);
  await page('Emulation.setDeviceMetricsOverride', { ...size, deviceScaleFactor: 1, mobile: false });
  const evaluate = async (expression: string) =>
    ((await page('Runtime.evaluate', { expression, returnByValue: true })) as { result: { value: unknown } }).result
      .value;

  return {
    async setLocalStorage(origin, entries) {
      await page('Page.navigate', { url: origin });
      for (const [key, value] of Object.entries(entries))
        await evaluate(`localStorage.setItem(${JSON.stringify(key)}, ${JSON.stringify(JSON.stringify(value))})`);
    },
    async shoot(url, file, texts) {
      await page('Page.navigate', { url });
      const deadline = Date.now() + timeoutMs;
      // The Web UI renders summaries and details as markdown in frames of their own: the
      // whole tree, frames pierced, is searched rather than the top document's text.
      const shown = async () => {
        const tree = JSON.stringify(await page('DOM.getDocument', { depth: -1, pierce: true }));
        return texts.every((t) => tree.includes(JSON.stringify(t).slice(1, -1)));
      };
      while (!(await shown())) {
        if (Date.now() > deadline) throw new Error(`${url} did not show ${texts.map((t) => `"${t}"`).join(', ')}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      const { data } = (await page('Page.captureScreenshot', { format: 'png' })) as { data: string };
      writeFileSync(file, Buffer.from(data, 'base64'));
    },
    async close() {
      await send('Browser.close').catch(() => undefined);
      if (browser.exitCode === null) await new Promise((r) => browser.once('exit', r));
    },
  };
}
