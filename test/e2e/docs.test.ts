import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { docCommands, rewriteForTest, type DocCommand } from '../helpers/doc-commands';
import { startDocsStack } from '../helpers/docs-stack';
import { waitUntil } from '../helpers/wait';

/**
 * The README and docs/ run as written: every command of their ```sh blocks, in order,
 * one file at a time on a fresh database (a reader follows one page), against the test
 * stack with the docs' local ports and folders turned into the test stack's. A renamed
 * flag, a command missing from the PATH, a route that moved or an HTTP status other than
 * the one the page promises fails here.
 */
const root = resolve(__dirname, '../..');
const files = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md') && f !== 'CHANGELOG.md')
    .sort()
    .map((f) => `docs/${f}`),
];

/** Commands a test cannot run as written, and where what they do is checked instead. */
const exemptions: { pattern: RegExp; why: string }[] = [
  {
    pattern: /^npm run up\b/,
    why: 'starts the local stack; the test stack this test runs on is started by the same code',
  },
  { pattern: /^npm test\b/, why: 'is the run this test belongs to' },
  {
    pattern: /^npm run demo:rollout\b/,
    why: 'builds and starts HAProxy and demo services for a minute or more; test/e2e/rollout-demo.test.ts runs it',
  },
  {
    pattern: /^npm run chaos\b/,
    why: 'loads and kills the local stack for ten minutes; test/e2e/chaos.test.ts runs its short form on the test stack',
  },
];
const used = new Set<RegExp>();

function script(commands: DocCommand[], rewrite: Parameters<typeof rewriteForTest>[1]): string {
  const lines = [
    'set -Eeuo pipefail',
    `trap 'echo "::doc-failed $DOC_AT" >&2' ERR`,
    // A curl answers with its body, and fails on a status other than the one the page promises (or on any error).
    'curl() {',
    '  local out code; out=$(mktemp)',
    '  code=$(command curl -o "$out" -w "%{http_code}" "$@") || { cat "$out"; rm -f "$out"; return 1; }',
    '  cat "$out"; echo; rm -f "$out"',
    '  if [ -n "${DOC_EXPECT_STATUS:-}" ]; then [ "$code" = "$DOC_EXPECT_STATUS" ] || { echo "HTTP $code, the page promises $DOC_EXPECT_STATUS" >&2; return 1; }',
    '  elif [ "$code" -ge 400 ]; then echo "HTTP $code" >&2; return 1; fi',
    '}',
  ];
  for (const c of commands) {
    lines.push(`DOC_AT=${JSON.stringify(`${c.file}:${c.line}`)}`, `echo "\\$ ${c.file}:${c.line}" >&2`);
    const exempt = exemptions.find((e) => e.pattern.test(c.text));
    if (exempt) {
      used.add(exempt.pattern);
      lines.push(`: not run: ${JSON.stringify(exempt.why)}`);
      continue;
    }
    const text = rewriteForTest(c.text, rewrite);
    lines.push(c.expectStatus && text.startsWith('curl') ? `DOC_EXPECT_STATUS=${c.expectStatus} ${text}` : text);
  }
  return `${lines.join('\n')}\n`;
}

function runBash(file: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn('bash', [file], { cwd: root, env });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('close', (code) => done({ code, output }));
  });
}

const work = mkdtempSync(join(tmpdir(), 'docs-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.each(files)('%s', (file) => {
  test('runs as written', async () => {
    const commands = docCommands(file, readFileSync(join(root, file), 'utf8'));
    if (commands.length === 0) return;
    const stack = await startDocsStack(`${file.replace(/\W/g, '_')}_${process.pid}`);
    try {
      const path = join(work, `${file.replace(/\W/g, '_')}.sh`);
      writeFileSync(path, script(commands, stack.rewrite));
      const { code, output } = await runBash(path, { ...process.env, ...stack.env, FORCE_COLOR: '0' });
      const failed = /::doc-failed (\S+)/.exec(output)?.[1];
      const command = commands.find((c) => `${c.file}:${c.line}` === failed)?.text;
      if (code !== 0) {
        throw new Error(
          `${failed ?? file}: ${command ?? '(no command failed: the script itself)'} exited with ${code}\n` +
            output.split('\n').slice(-60).join('\n'),
        );
      }
    } finally {
      await stack.stop();
    }
  }, 600_000);
});

test('every exemption names a command the docs still have', () => {
  for (const file of files)
    script(docCommands(file, readFileSync(join(root, file), 'utf8')), { ports: {}, dataDir: '' });
  expect(exemptions.filter((e) => !used.has(e.pattern)).map((e) => String(e.pattern))).toEqual([]);
});

test('npm run logs -- worker prints pretty lines on a terminal, that part only', async () => {
  const data = join(work, 'logs-data');
  mkdirSync(join(data, 'logs'), { recursive: true });
  const line = { level: 30, time: Date.now(), msg: 'synced order 42 to CBB', correlationId: 'c-123' };
  writeFileSync(join(data, 'logs', 'api.log'), `${JSON.stringify({ ...line, msg: 'from the api' })}\n`);
  writeFileSync(join(data, 'logs', 'worker.log'), `${JSON.stringify(line)}\n`);
  // `script` gives the command a terminal, as a person's shell would.
  const child = spawn('script', ['-qefc', 'npm run -s logs -- worker', '/dev/null'], {
    cwd: root,
    env: { ...process.env, DATA_DIR: data },
    detached: true,
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  try {
    await waitUntil("npm run logs -- worker to print the worker's line", () => output.includes('synced order 42'));
  } finally {
    if (child.pid) process.kill(-child.pid, 'SIGTERM');
  }
  expect(output).toMatch(/INFO/);
  expect(output).toContain('c-123');
  expect(output).not.toContain('"level":30');
  expect(output).not.toContain('from the api');
}, 120_000);
