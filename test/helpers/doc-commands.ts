/**
 * The commands of the README and docs/: every ```sh block is a sequence of commands a
 * reader can paste, and the docs test runs them as written against the test stack.
 * Synopses with placeholders belong in ```text blocks, which nobody runs.
 */

export interface DocCommand {
  file: string;
  /** 1-based line of the command's first line in the file. */
  line: number;
  /** The command as written, continuation lines included. */
  text: string;
  /** The HTTP status its trailing comment promises (`# 409: …`), for a curl. */
  expectStatus?: number;
}

/** The commands of every ```sh or ```bash block of a Markdown file, in order. */
export function docCommands(file: string, markdown: string): DocCommand[] {
  const lines = markdown.split('\n');
  const commands: DocCommand[] = [];
  let inBlock = false;
  let pending: { line: number; lines: string[] } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fence = /^\s*```(\w*)/.exec(line);
    if (fence && pending === undefined) {
      if (inBlock) inBlock = false;
      else inBlock = fence[1] === 'sh' || fence[1] === 'bash';
      continue;
    }
    if (!inBlock) continue;
    pending = pending ? { ...pending, lines: [...pending.lines, line] } : { line: i + 1, lines: [line] };
    const text = pending.lines.join('\n');
    if (continues(text)) continue;
    const command = text.trim();
    if (command !== '' && !command.startsWith('#')) {
      const status = /^\s*(\d{3})\b/.exec(trailingComment(text) ?? '');
      commands.push({ file, line: pending.line, text: command, expectStatus: status ? Number(status[1]) : undefined });
    }
    pending = undefined;
  }
  if (pending) throw new Error(`${file}:${pending.line}: a command whose quote or continuation never ends`);
  return commands;
}

interface Scan {
  /** Inside a quote at the end of the text. */
  open: boolean;
  /** Where an unquoted `#` starts a comment on the last line, if any. */
  comment?: number;
}

/** Reads the text as the shell would, as far as quotes, escapes and comments go. */
function scan(text: string): Scan {
  let quote: "'" | '"' | undefined;
  let comment: number | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (comment !== undefined) {
      if (c === '\n') comment = undefined;
      continue;
    }
    if (quote === "'") {
      if (c === "'") quote = undefined;
    } else if (c === '\\') {
      i++;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
    } else if (c === "'" || c === '"') {
      quote = c;
    } else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]))) {
      comment = i;
    }
  }
  return { open: quote !== undefined, comment };
}

function continues(text: string): boolean {
  const { open, comment } = scan(text);
  return open || (comment === undefined && /\\$/.test(text));
}

function trailingComment(text: string): string | undefined {
  const { comment } = scan(text);
  return comment === undefined ? undefined : text.slice(comment + 1);
}

/** Local addresses and folders, as the docs write them, turned into the test stack's. */
export interface DocRewrite {
  /** Local port → the port the test's process listens on. */
  ports: Record<number, number>;
  /** The test stack's data folder, relative to the checkout (`.data/test`). */
  dataDir: string;
}

export function rewriteForTest(text: string, rewrite: DocRewrite): string {
  let out = text.replace(/\b(localhost|127\.0\.0\.1):(\d+)\b/g, (whole, _host: string, port: string) => {
    const to = rewrite.ports[Number(port)];
    return to === undefined ? whole : `127.0.0.1:${to}`;
  });
  out = out.replace(/(^|[\s"'=/])\.data\//g, `$1${rewrite.dataDir}/`);
  return out;
}
