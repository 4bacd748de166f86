/** Pure helper for the canvas's `nodeTypes` map when the server knows more types than the build. */

/**
 * `base` plus `fallback` for each of `types` it lacks (node types added by installed
 * plugins). The same extra types give the same object from `memo`, so xyflow does not see
 * a new map on every render; no extra type gives `base` itself.
 */
export function withExtraTypes<T>(base: Record<string, T>, types: Iterable<string>, fallback: T, memo: Map<string, Record<string, T>>): Record<string, T> {
  const extra = [...new Set(types)].filter((type) => type && !(type in base)).sort();
  if (extra.length === 0) return base;
  const key = extra.join(" ");
  let map = memo.get(key);
  if (!map) {
    map = { ...base, ...Object.fromEntries(extra.map((type) => [type, fallback])) };
    memo.set(key, map);
  }
  return map;
}
