import { z } from 'zod';
import { flagKey } from './spec-fields';

/**
 * Feature-flag evaluation for rollouts: which variant a subject (a user, an account)
 * gets. A subject's bucket is a stable hash of (flag key, subject id), and the canary
 * holds buckets below weight × 100, so a subject who has the canary at 5 % keeps it at
 * 25 % and 50 %: raising the weight only adds subjects. Hashing the key too gives each
 * flag its own split, so the same users are not always the first canaries.
 */

export const bucketCount = 10_000;

const groupName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/, 'a group name is 1 to 100 letters, digits, _, . or - (e.g. beta_users)');

export const flagRecord = z
  .object({
    key: flagKey,
    /** The canary's share in percent; two decimals matter (buckets are 0.01 %). */
    weight: z.number().min(0, 'weight must be between 0 and 100').max(100, 'weight must be between 0 and 100'),
    /** Subjects in any of these groups get the canary while the weight is above 0. */
    groups: z.array(groupName).max(100, 'a flag has at most 100 groups').default([]),
    /** Everyone gets the baseline, whatever the weight and groups: the fastest way out. */
    killSwitch: z.boolean().default(false),
  })
  .strict();

export type FlagRecord = z.output<typeof flagRecord>;

export const subject = z
  .object({
    id: z.string().min(1, 'subject id must not be empty').max(200, 'subject id must be at most 200 characters'),
    groups: z.array(groupName).max(100).default([]),
  })
  .strict();
export type Subject = z.input<typeof subject>;

export type FlagVariant = 'canary' | 'baseline';

export interface Evaluation {
  variant: FlagVariant;
  reason: 'kill-switch' | 'off' | 'group' | 'percentage';
  /** The subject's bucket, 0 to 9999. */
  bucket: number;
}

export function evaluateFlag(flag: FlagRecord, who: Subject): Evaluation {
  const bucket = bucketOf(flag.key, who.id);
  if (flag.killSwitch) return { variant: 'baseline', reason: 'kill-switch', bucket };
  // Weight 0 is what an abort sets: it must reach the target groups too.
  if (flag.weight <= 0) return { variant: 'baseline', reason: 'off', bucket };
  if (who.groups?.some((g) => flag.groups.includes(g))) return { variant: 'canary', reason: 'group', bucket };
  return { variant: bucket < Math.round(flag.weight * 100) ? 'canary' : 'baseline', reason: 'percentage', bucket };
}

export function bucketOf(key: string, subjectId: string): number {
  return murmur3(utf8(`${key}\u0000${subjectId}`)) % bucketCount;
}

/** MurmurHash3 (x86, 32-bit): fast, well spread, and the same in any language given the UTF-8 bytes. */
export function murmur3(bytes: readonly number[], seed = 0): number {
  let h = seed >>> 0;
  const n = bytes.length;
  const blocks = n & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k = bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = n & 3;
  if (tail > 0) {
    let k = 0;
    for (let i = tail - 1; i >= 0; i--) k = (k << 8) | bytes[blocks + i];
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= n;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** UTF-8 bytes of a string, without TextEncoder so that the module stays free of host APIs. */
export function utf8(text: string): number[] {
  const out: number[] = [];
  for (const ch of text) {
    const c = ch.codePointAt(0) as number;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return out;
}
