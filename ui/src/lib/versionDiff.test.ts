import { describe, expect, it } from "vitest";
import type { DefinitionDiff } from "../api/drafts";
import { diffLines, diffSummary, formatValue } from "./versionDiff";

const empty: DefinitionDiff = { added: [], removed: [], changed: [], edges_added: [], edges_removed: [], moved: [] };

describe("version diff lines", () => {
  it("lists added, removed and changed nodes with the config diff", () => {
    const diff: DefinitionDiff = {
      ...empty,
      added: [{ id: "note", type: "echo" }],
      removed: [{ id: "small", type: "echo" }],
      changed: [{ id: "check", type: "conditional", truncated: false, fields: [{ path: "data.expression", before: "a > 1", after: "a > 5" }, { path: "data.timeout_ms", after: 5 }] }],
      edges_removed: [{ source: "check", target: "small", source_handle: "false" }],
    };
    const lines = diffLines(diff);
    expect(lines.map((l) => l.text)).toEqual([
      'Added echo "note"',
      'Removed echo "small"',
      '"check": expression changed',
      '"check": timeout ms set',
      "Disconnected check (false) → small",
    ]);
    expect(lines[2]).toMatchObject({ before: '"a > 1"', after: '"a > 5"' });
    expect(lines[3].before).toBe("(not set)");
    expect(diffSummary(diff)).toBe("1 added, 1 removed, 1 changed, 1 connection changed");
  });

  it("calls layout alone what it is and bounds long values", () => {
    expect(diffSummary({ ...empty, moved: ["a"] })).toBe("Layout only (no new version)");
    expect(diffSummary(empty)).toBe("No changes");
    expect(formatValue("x".repeat(500)).length).toBe(120);
  });
});
