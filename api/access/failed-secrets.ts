/**
 * (prefix, secret digest) pairs that failed lately, in this process: a client that repeats
 * a wrong key is answered without a hash and without a database read. A secret is 32
 * random bytes, so a pair that failed cannot turn valid later; the time bound is for
 * memory, the size bound for a guesser sending many different ones.
 */
export interface FailedSecrets {
  has(digest: string): boolean;
  add(digest: string): void;
}

export function createFailedSecrets(ttlMs = 60_000, max = 10_000): FailedSecrets {
  const until = new Map<string, number>();
  return {
    has(digest) {
      const t = until.get(digest);
      if (t === undefined) return false;
      if (t > Date.now()) return true;
      until.delete(digest);
      return false;
    },
    add(digest) {
      until.delete(digest);
      // A Map iterates in insertion order: the first entry is the oldest.
      if (until.size >= max) until.delete(until.keys().next().value as string);
      until.set(digest, Date.now() + ttlMs);
    },
  };
}
