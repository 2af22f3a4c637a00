import type { Bar } from '../../lib/hmm';
import type { Pool, PoolClient } from '../../lib/infra/db';

/** The one module that owns the queries of `market_bars`. */

type Db = Pool | PoolClient;

/** Rows per INSERT: one statement of five arrays stays well under Postgres's parameter and packet limits. */
export const IMPORT_BATCH = 5_000;

/**
 * Inserts bars, replacing any bar already stored at the same (symbol, time): a corrected
 * or repeated import converges on the file's values instead of duplicating them, so an
 * import may be run again after a failure. Returns the rows written.
 */
export async function importBars(db: Db, symbol: string, bars: readonly Bar[]): Promise<number> {
  let written = 0;
  for (let i = 0; i < bars.length; i += IMPORT_BATCH) {
    const batch = bars.slice(i, i + IMPORT_BATCH);
    const res = await db.query(
      `INSERT INTO market_bars (symbol, time, open, high, low, close, volume)
       SELECT $1, to_timestamp(t / 1000.0), o, h, l, c, v
       FROM unnest($2::float8[], $3::float8[], $4::float8[], $5::float8[], $6::float8[], $7::float8[]) AS b(t, o, h, l, c, v)
       ON CONFLICT (symbol, time) DO UPDATE
         SET open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low,
             close = EXCLUDED.close, volume = EXCLUDED.volume`,
      [
        symbol,
        batch.map((b) => b.time),
        batch.map((b) => b.open),
        batch.map((b) => b.high),
        batch.map((b) => b.low),
        batch.map((b) => b.close),
        batch.map((b) => b.volume),
      ],
    );
    written += res.rowCount ?? 0;
  }
  return written;
}

/** A symbol's bars in time order, both bounds inclusive (ISO times; absent = unbounded). */
export async function readBars(db: Db, symbol: string, range: { from?: string; to?: string } = {}): Promise<Bar[]> {
  const { rows } = await db.query(
    `SELECT (extract(epoch FROM time) * 1000)::float8 AS t, open, high, low, close, volume
     FROM market_bars
     WHERE symbol = $1 AND ($2::timestamptz IS NULL OR time >= $2) AND ($3::timestamptz IS NULL OR time <= $3)
     ORDER BY time`,
    [symbol, range.from ?? null, range.to ?? null],
  );
  return rows.map((r) => ({
    time: Number(r.t),
    open: r.open as number,
    high: r.high as number,
    low: r.low as number,
    close: r.close as number,
    volume: r.volume as number,
  }));
}

export interface SymbolStats {
  symbol: string;
  bars: number;
  first: string;
  last: string;
}

/** Every symbol with bars (the symbols the daily refit tracks), with its bar count and time span. */
export async function listSymbols(db: Db): Promise<SymbolStats[]> {
  const { rows } = await db.query(
    `SELECT symbol, count(*)::int AS bars, min(time) AS first, max(time) AS last
     FROM market_bars GROUP BY symbol ORDER BY symbol`,
  );
  return rows.map(statsFromRow);
}

export async function symbolStats(db: Db, symbol: string): Promise<SymbolStats | undefined> {
  const { rows } = await db.query(
    `SELECT symbol, count(*)::int AS bars, min(time) AS first, max(time) AS last
     FROM market_bars WHERE symbol = $1 GROUP BY symbol`,
    [symbol],
  );
  return rows[0] ? statsFromRow(rows[0]) : undefined;
}

function statsFromRow(r: Record<string, unknown>): SymbolStats {
  return {
    symbol: r.symbol as string,
    bars: r.bars as number,
    first: (r.first as Date).toISOString(),
    last: (r.last as Date).toISOString(),
  };
}
