/**
 * Waits for a state, never for a length of time: polls `probe` until it holds and
 * fails with what it waited for when it does not within `timeoutMs`. The bound is
 * generous because a loaded machine is slow, not because the state needs the time.
 * `hopeless` names a state from which the wait cannot succeed (a process that died):
 * the wait fails on it at once instead of at the deadline.
 */
export async function waitUntil(
  what: string,
  probe: () => boolean | Promise<boolean>,
  {
    timeoutMs = 60_000,
    intervalMs = 50,
    hopeless,
  }: { timeoutMs?: number; intervalMs?: number; hopeless?: () => string | undefined } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    const reason = hopeless?.();
    if (reason) throw new Error(`gave up waiting for ${what}: ${reason}`);
    try {
      if (await probe()) return;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? ` (last probe failed: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${why}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
