import { describe, expect, it } from "vitest";
import { withExtraTypes } from "./nodeTypeMap";

const base = { http: "Http", echo: "Echo" };

describe("withExtraTypes", () => {
  it("keeps the built map when the server has no types the build lacks", () => {
    expect(withExtraTypes(base, ["http", "echo", ""], "Generic", new Map())).toBe(base);
  });

  it("adds a plugin's node type with the generic component, one map per set of types", () => {
    const memo = new Map<string, Record<string, string>>();
    const map = withExtraTypes(base, ["http", "slugify"], "Generic", memo);
    expect(map).toEqual({ http: "Http", echo: "Echo", slugify: "Generic" });
    expect(withExtraTypes(base, ["slugify", "echo", "slugify"], "Generic", memo)).toBe(map);
  });
});
