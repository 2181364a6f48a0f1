/**
 * Reads from an async iterator until `count` items arrived or `until` returns true, with a bounded
 * wait: rejects with what it has so far when timeoutMs passes first. Does not close the iterator.
 */
export async function take<T>(
  iterator: AsyncIterator<T>,
  options: { count?: number; until?: (item: T, all: T[]) => boolean; timeoutMs?: number },
): Promise<T[]> {
  const items: T[] = [];
  const timeoutMs = options.timeoutMs ?? 5_000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${timeoutMs} ms with ${items.length} items: ${JSON.stringify(items).slice(0, 2000)}`)),
      timeoutMs,
    );
  });
  try {
    while (options.count === undefined || items.length < options.count) {
      const result = await Promise.race([iterator.next(), timeout]);
      if (result.done) break;
      items.push(result.value);
      if (options.until?.(result.value, items)) break;
    }
    return items;
  } finally {
    clearTimeout(timer);
  }
}
