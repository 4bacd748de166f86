import { describe, expect, it } from "vitest";
import { shortcutAction } from "./shortcuts";

const press = (key: string, mods: Partial<{ ctrlKey: boolean; metaKey: boolean; shiftKey: boolean; altKey: boolean }> = {}) =>
  shortcutAction({ key, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, ...mods });

describe("shortcuts", () => {
  it("maps the common actions", () => {
    expect(press("s", { ctrlKey: true })).toBe("save");
    expect(press("z", { metaKey: true })).toBe("undo");
    expect(press("Z", { ctrlKey: true, shiftKey: true })).toBe("redo");
    expect(press("Enter", { ctrlKey: true })).toBe("run");
    expect(press("Delete")).toBe("delete");
    expect(press("L", { shiftKey: true })).toBe("layout");
    expect(press("l")).toBeNull();
    expect(press("x", { ctrlKey: true })).toBeNull();
  });
});
