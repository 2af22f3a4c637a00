import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/** Debian's Chromium (package chromium). */
export const chromiumPath = '/usr/bin/chromium';

/**
 * Runs Chromium headless with a profile folder of the caller's own (so that runs side by
 * side share nothing) and without its background traffic; resolves to what it printed.
 */
export async function headlessChromium(profile: string, args: string[], timeoutMs: number): Promise<string> {
  const { stdout } = await promisify(execFile)(
    chromiumPath,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      `--user-data-dir=${profile}`,
      ...args,
    ],
    { maxBuffer: 64 * 1024 * 1024, timeout: timeoutMs },
  );
  return stdout;
}
