import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stackSettings, startAppPart } from '../../scripts/stack/parts';
import { stopProcess } from '../../scripts/stack/proc';
import { chromiumPath as chromium, headlessChromium } from '../helpers/chromium';

/**
 * `/docs` renders the API reference in a real browser (Debian's Chromium, headless),
 * from files served by the API itself: every documented path shows as an operation.
 */
const s = stackSettings('test');

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
      const dom = await headlessChromium(
        profile,
        // Lets the page's scripts fetch /openapi.json and render before the DOM is taken.
        ['--virtual-time-budget=20000', '--dump-dom', `http://127.0.0.1:${s.ports.api}/docs`],
        120_000,
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

test('only the files the page loads are served from the Swagger UI package', async () => {
  const at = (path: string) => fetch(`http://127.0.0.1:${s.ports.api}${path}`);
  for (const name of ['swagger-ui.css', 'swagger-ui-bundle.js'])
    expect({ name, status: (await at(`/docs/assets/${name}`)).status }).toEqual({ name, status: 200 });
  for (const name of ['package.json', 'index.html', 'README.md', 'swagger-initializer.js', '../package.json'])
    expect({ name, status: (await at(`/docs/assets/${name}`)).status }).toEqual({ name, status: 404 });
});
