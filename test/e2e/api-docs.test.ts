import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stackSettings, startAppPart } from '../../scripts/stack/parts';
import { stopProcess } from '../../scripts/stack/proc';

/**
 * `/docs` renders the API reference in a real browser (Debian's Chromium, headless),
 * from files served by the API itself: every documented path shows as an operation.
 */
const s = stackSettings('test');
const chromium = '/usr/bin/chromium';

beforeAll(async () => {
  await startAppPart(s, 'api');
}, 120_000);
afterAll(async () => {
  await stopProcess(s, 'api');
});

const run = existsSync(chromium) ? test : test.skip;
if (!existsSync(chromium))
  console.log(`skipped: ${chromium} is missing (Debian package chromium; scripts/bootstrap.sh --test installs it)`);

run(
  'the reference page draws an operation for each documented path',
  async () => {
    const profile = mkdtempSync(join(tmpdir(), 'chromium-'));
    try {
      const dom = await new Promise<string>((resolve, reject) =>
        execFile(
          chromium,
          [
            '--headless',
            '--no-sandbox',
            '--disable-gpu',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
            '--no-first-run',
            `--user-data-dir=${profile}`,
            // Lets the page's scripts fetch /openapi.json and render before the DOM is taken.
            '--virtual-time-budget=20000',
            '--dump-dom',
            `http://127.0.0.1:${s.ports.api}/docs`,
          ],
          { maxBuffer: 64 * 1024 * 1024, timeout: 120_000 },
          (err, stdout) => (err ? reject(err) : resolve(stdout)),
        ),
      );
      const drawn = new Set([...dom.matchAll(/class="opblock-summary-path" data-path="([^"]+)"/g)].map((m) => m[1]));
      const doc = (await fetch(`http://127.0.0.1:${s.ports.api}/openapi.json`).then((r) => r.json())) as {
        paths: Record<string, unknown>;
        info: { title: string };
      };
      expect(dom).toContain(doc.info.title);
      expect([...drawn].sort()).toEqual(Object.keys(doc.paths).sort());
    } finally {
      rmSync(profile, { recursive: true, force: true });
    }
  },
  180_000,
);
