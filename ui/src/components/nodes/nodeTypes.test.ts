import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { NODE_TYPES } from "../../api/types";

describe("node types", () => {
  it("has one canvas node type per node schema in schemas/nodes", () => {
    const schemas = readdirSync(join(__dirname, "../../../../schemas/nodes")).map((f) => f.replace(/\.json$/, ""));
    expect([...NODE_TYPES].sort()).toEqual(schemas.sort());
  });
});
