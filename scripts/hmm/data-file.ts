import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { validationError } from '../../lib/errors';
import { modelFromJson, modelJsonSchema, observationsFromRows, type HmmParams, type Observations } from '../../lib/hmm';

const dataJson = z.object({ X: z.array(z.array(z.number())).min(1, 'X must hold at least one row') });

function read(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw validationError(
      `cannot read the ${what} file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
}

function parseJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw validationError(`${path} is not valid JSON: ${(err as Error).message}`);
  }
}

function issues(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

/**
 * Observations from a JSON file `{"X": [[...], ...]}` (N rows × D features) or a CSV
 * file with a header row, every column numeric unless `columns` picks some.
 */
export function readData(path: string, columns?: string[]): Observations {
  const text = read(path, 'data');
  if (/\.json$/i.test(path) || /^\s*[{[]/.test(text)) {
    const parsed = dataJson.safeParse(parseJson(text, path));
    if (!parsed.success) throw validationError(`${path}: ${issues(parsed.error)}`);
    return observationsFromRows(parsed.data.X);
  }
  return observationsFromRows(parseCsv(text, path, columns));
}

function parseCsv(text: string, path: string, columns?: string[]): number[][] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length < 2) throw validationError(`${path}: a CSV file needs a header row and at least one data row`);
  const header = lines[0].split(',').map((h) => h.trim());
  const picked = columns ?? header;
  const index = picked.map((name) => {
    const i = header.indexOf(name);
    if (i < 0) throw validationError(`${path}: no column ${JSON.stringify(name)} in the header (${header.join(', ')})`);
    return i;
  });
  return lines.slice(1).map((line, r) => {
    const cells = line.split(',');
    return index.map((i, c) => {
      const cell = (cells[i] ?? '').trim();
      const v = Number(cell);
      if (cell === '' || Number.isNaN(v)) {
        throw validationError(
          `${path} line ${r + 2}, column ${JSON.stringify(picked[c])}: ${JSON.stringify(cell)} is not a number` +
            (columns ? '' : ' (pick the numeric columns with --columns)'),
        );
      }
      return v;
    });
  });
}

/** A model file as `fit` prints it under "model" (extra keys such as labels are ignored). */
export function readModel(path: string): HmmParams {
  const parsed = modelJsonSchema.safeParse(parseJson(read(path, 'model'), path));
  if (!parsed.success) throw validationError(`${path}: ${issues(parsed.error)}`);
  return modelFromJson(parsed.data);
}
