import { searchAttributes } from '../search-attributes';

/**
 * The subset of Temporal's visibility SQL the workflow list accepts from a caller. The
 * query is parsed and written out again from the parse, never passed on as sent, so what
 * reaches Temporal is only fields, operators and literals this module knows; the API then
 * narrows it to the workflow types the caller may read. Pure: no I/O.
 */

export const queryFields: readonly string[] = [
  'WorkflowType',
  'WorkflowId',
  'ExecutionStatus',
  'StartTime',
  'CloseTime',
  ...Object.values(searchAttributes).map((k) => k.name),
];

export class QueryError extends Error {
  override name = 'QueryError';
}

type Token =
  | { kind: 'word'; text: string; at: number }
  | { kind: 'string'; text: string; at: number }
  | { kind: 'number'; text: string; at: number }
  | { kind: 'punct'; text: string; at: number };

const comparisons = new Set(['=', '!=', '>', '>=', '<', '<=']);
const words = /[A-Za-z_][A-Za-z0-9_]*/y;
const numbers = /-?\d{1,18}(\.\d{1,18})?/y;
const puncts = /!=|>=|<=|[=<>(),]/y;
/** Quotes, backslashes and control characters have no place in a literal: nothing to escape, nothing to smuggle. */
const literalBody = /^[^'"\\\u0000-\u001f\u007f]*$/;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const at = (re: RegExp) => {
    re.lastIndex = i;
    const m = re.exec(text);
    return m ? m[0] : undefined;
  };
  while (i < text.length) {
    const c = text[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) throw new QueryError(`unterminated string literal at position ${i}`);
      const body = text.slice(i + 1, end);
      if (!literalBody.test(body))
        throw new QueryError(`the literal at position ${i} holds a quote, a backslash or a control character`);
      tokens.push({ kind: 'string', text: body, at: i });
      i = end + 1;
      continue;
    }
    const found = at(words) ?? at(numbers) ?? at(puncts);
    if (found === undefined) throw new QueryError(`unexpected character ${JSON.stringify(c)} at position ${i}`);
    const kind = /^[A-Za-z_]/.test(found) ? 'word' : /^-?\d/.test(found) ? 'number' : 'punct';
    tokens.push({ kind, text: found, at: i });
    i += found.length;
  }
  return tokens;
}

class Parser {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token | undefined {
    return this.tokens[this.i];
  }

  private describe(t: Token | undefined): string {
    return t ? `${JSON.stringify(t.text)} at position ${t.at}` : 'the end of the query';
  }

  private isKeyword(t: Token | undefined, word: string): boolean {
    return t?.kind === 'word' && t.text.toUpperCase() === word;
  }

  private expectPunct(text: string): void {
    const t = this.tokens[this.i++];
    if (t?.kind !== 'punct' || t.text !== text) throw new QueryError(`expected ${text}, found ${this.describe(t)}`);
  }

  private literal(): string {
    const t = this.tokens[this.i++];
    if (t?.kind === 'string') return `'${t.text}'`;
    if (t?.kind === 'number') return t.text;
    throw new QueryError(`expected a quoted literal or a number, found ${this.describe(t)}`);
  }

  parse(): string {
    if (this.tokens.length === 0) throw new QueryError('the query is empty');
    const out = this.or();
    if (this.i < this.tokens.length) throw new QueryError(`unexpected ${this.describe(this.peek())}`);
    return out;
  }

  private or(): string {
    const parts = [this.and()];
    while (this.isKeyword(this.peek(), 'OR')) {
      this.i++;
      parts.push(this.and());
    }
    return parts.join(' OR ');
  }

  private and(): string {
    const parts = [this.term()];
    while (this.isKeyword(this.peek(), 'AND')) {
      this.i++;
      parts.push(this.term());
    }
    return parts.join(' AND ');
  }

  private term(): string {
    const t = this.peek();
    if (t?.kind === 'punct' && t.text === '(') {
      this.i++;
      const inner = this.or();
      this.expectPunct(')');
      return `(${inner})`;
    }
    return this.comparison();
  }

  private comparison(): string {
    const field = this.tokens[this.i++];
    if (field?.kind !== 'word') throw new QueryError(`expected a field, found ${this.describe(field)}`);
    if (!queryFields.includes(field.text))
      throw new QueryError(`unknown field ${JSON.stringify(field.text)}; allowed: ${queryFields.join(', ')}`);
    const op = this.tokens[this.i++];
    if (op?.kind === 'punct' && comparisons.has(op.text)) return `${field.text} ${op.text} ${this.literal()}`;
    const keyword = op?.kind === 'word' ? op.text.toUpperCase() : '';
    if (keyword === 'STARTS_WITH') {
      const value = this.literal();
      if (!value.startsWith("'")) throw new QueryError(`STARTS_WITH takes a quoted literal (${field.text})`);
      return `${field.text} STARTS_WITH ${value}`;
    }
    if (keyword === 'BETWEEN') {
      const low = this.literal();
      if (!this.isKeyword(this.tokens[this.i++], 'AND'))
        throw new QueryError(`BETWEEN takes <low> AND <high> (${field.text})`);
      return `${field.text} BETWEEN ${low} AND ${this.literal()}`;
    }
    if (keyword === 'IN') {
      this.expectPunct('(');
      const values = [this.literal()];
      while (this.peek()?.kind === 'punct' && this.peek()!.text === ',') {
        this.i++;
        values.push(this.literal());
      }
      this.expectPunct(')');
      return `${field.text} IN (${values.join(', ')})`;
    }
    throw new QueryError(
      `expected an operator after ${field.text} (= != > >= < <= IN BETWEEN STARTS_WITH), found ${this.describe(op)}`,
    );
  }
}

/** The query in a canonical form built from its parse; a QueryError names what is not allowed. */
export function normaliseQuery(text: string): string {
  return new Parser(tokenize(text)).parse();
}

/** The caller's query, if any, narrowed to the workflow types it may read. */
export function narrowToTypes(query: string | undefined, types: readonly string[]): string {
  const only = `WorkflowType IN (${types.map((t) => `'${t}'`).join(', ')})`;
  return query === undefined ? only : `(${normaliseQuery(query)}) AND ${only}`;
}
