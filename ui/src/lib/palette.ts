/** Palette search and where quick-add puts a new node: pure helpers for the palette. */
import type { NodeTypeInfo } from "../api/types";

type Searchable = Pick<NodeTypeInfo, "type" | "name" | "category" | "description">;

/**
 * Node types matching `query`, best first: every word of the query must occur in the type,
 * name, category or description; a match at the start of the name or type ranks above one
 * inside the description. An empty query keeps the catalogue's order.
 */
export function searchNodeTypes<T extends Searchable>(catalogue: readonly T[], query: string): T[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return [...catalogue];
  const scored: { info: T; score: number; index: number }[] = [];
  catalogue.forEach((info, index) => {
    const name = info.name.toLowerCase();
    const type = info.type.toLowerCase();
    const category = info.category.toLowerCase();
    const description = info.description.toLowerCase();
    let score = 0;
    for (const word of words) {
      if (name.startsWith(word) || type.startsWith(word)) score += 4;
      else if (name.includes(word) || type.includes(word)) score += 3;
      else if (category.includes(word)) score += 2;
      else if (description.includes(word)) score += 1;
      else return;
    }
    scored.push({ info, score, index });
  });
  return scored.sort((a, b) => b.score - a.score || a.index - b.index).map((s) => s.info);
}

const GAP_X = 260;
const GAP_Y = 110;

/**
 * Where a node added after `source` goes: one step to its right, below any node already
 * there, so a second quick-add after the same node does not land on the first.
 */
export function positionAfter(
  source: { position: { x: number; y: number } },
  others: readonly { position: { x: number; y: number } }[],
): { x: number; y: number } {
  const x = source.position.x + GAP_X;
  let y = source.position.y;
  while (others.some((o) => Math.abs(o.position.x - x) < GAP_X / 2 && Math.abs(o.position.y - y) < GAP_Y / 2)) y += GAP_Y;
  return { x, y };
}
