/**
 * Several factories' activities as one object for a worker. A name two factories both
 * define would silently be the later one's under a spread, so it is refused, naming both.
 */
export function mergeActivities<T extends Record<string, object>>(parts: T): Merged<T> {
  const merged: Record<string, unknown> = {};
  const owner: Record<string, string> = {};
  for (const [part, activities] of Object.entries(parts)) {
    for (const [name, fn] of Object.entries(activities)) {
      if (name in owner) throw new Error(`activity ${name} is defined by both ${owner[name]} and ${part}`);
      owner[name] = part;
      merged[name] = fn;
    }
  }
  return merged as Merged<T>;
}

type Merged<T extends Record<string, object>> = UnionToIntersection<T[keyof T]>;
type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;
