import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Transform } from 'node:stream';
import { prettyFactory } from 'pino-pretty';
import { join } from 'node:path';
import { partNames, stackSettings } from './parts';
import { describeEndpoints, down, status, up } from './stack';
import { runningPid } from './proc';
import { supervisorName } from './supervisor-state';

/** `npm run up|down|status|logs`: the local stack's command line. */

/** JSON log lines made readable; `tail`'s file headers and anything not JSON pass as they are. */
function prettyLines(): Transform {
  const format = prettyFactory({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
  let rest = '';
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      const lines = (rest + chunk.toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      done(null, lines.map((l) => (l.startsWith('{') ? format(l) : `${l}\n`)).join(''));
    },
  });
}

const bold = (t: string) => (process.stdout.isTTY ? `\x1b[1m${t}\x1b[0m` : t);
const step = (msg: string) => console.log(`${bold('[stack]')} ${msg}`);

async function main(command: string | undefined, args: string[]): Promise<number> {
  const s = stackSettings('local');
  switch (command) {
    case 'up': {
      step('building (tsc and the workflow bundle)');
      execFileSync('npm', ['run', '-s', 'build'], { cwd: s.root, stdio: 'inherit' });
      await up(s, { onStep: step, restartApps: true, supervise: true });
      console.log(`\n${bold('The orchestrator is up.')}`);
      for (const [what, where] of describeEndpoints(s)) console.log(`  ${what.padEnd(18)} ${where}`);
      console.log(`\n  Stop it with ${bold('npm run down')}; see it with ${bold('npm run status')}.`);
      return 0;
    }
    case 'down':
      await down(s, step);
      step('nothing of the stack is running');
      return 0;
    case 'status': {
      const rows = await status(s);
      for (const r of rows) {
        const state = r.pid === undefined ? 'stopped' : r.ready ? 'ready' : 'starting/unhealthy';
        const restarts = r.restarts > 0 ? `restarted ${r.restarts}×` : '';
        console.log(
          `  ${r.name.padEnd(12)} ${state.padEnd(18)} ${(r.pid ? `pid ${r.pid}` : '').padEnd(11)} ${restarts}`,
        );
      }
      const supervisor = runningPid(s, supervisorName);
      console.log(
        `  ${supervisorName.padEnd(12)} ${supervisor ? `watching           pid ${supervisor}` : 'not running: parts that die stay down'}`,
      );
      return rows.every((r) => r.ready) ? 0 : 3;
    }
    case 'logs': {
      const named = args.filter((a) => !a.startsWith('--'));
      const known = [...partNames, supervisorName];
      const wanted = named.length > 0 ? named : known;
      const unknown = wanted.filter((n) => !known.includes(n));
      if (unknown.length > 0) {
        console.error(`no stack part named ${unknown.join(', ')}; the parts are ${known.join(', ')}`);
        return 2;
      }
      const files = wanted.map((n) => join(s.logDir, `${n}.log`)).filter((f) => existsSync(f));
      if (files.length === 0) {
        console.error(`no logs yet under ${s.logDir} for ${wanted.join(', ')}: start the stack with npm run up`);
        return 1;
      }
      // The parts write JSON lines (for machines and log shippers); a person at a terminal gets them pretty.
      const pretty = process.stdout.isTTY && !args.includes('--json');
      const tail = spawn('tail', ['-n', '20', '-F', ...files], {
        stdio: ['ignore', pretty ? 'pipe' : 'inherit', 'inherit'],
      });
      if (pretty) tail.stdout!.pipe(prettyLines()).pipe(process.stdout);
      return new Promise((resolve) => tail.on('exit', (code) => resolve(code ?? 0)));
    }
    default:
      console.error('usage: stack up | down | status | logs [part...] [--json]');
      return 2;
  }
}

main(process.argv[2], process.argv.slice(3)).then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`${bold('[stack]')} failed: ${err.message}`);
    process.exit(1);
  },
);
