/** Keyboard shortcuts of the builder: which key combination means which action. */

export type Action = "save" | "undo" | "redo" | "copy" | "paste" | "delete" | "selectAll" | "run" | "layout" | "fit" | "escape" | "quickAdd" | "note";

export interface KeyLike {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
  altKey: boolean;
}

/** The action a key press asks for, or null. */
export function shortcutAction(e: KeyLike): Action | null {
  const mod = e.ctrlKey || e.metaKey;
  const key = e.key.toLowerCase();
  if (mod && key === "s") return "save";
  if (mod && key === "z") return e.shiftKey ? "redo" : "undo";
  if (mod && key === "y") return "redo";
  if (mod && key === "c") return "copy";
  if (mod && key === "v") return "paste";
  if (mod && key === "a") return "selectAll";
  if (mod && key === "enter") return "run";
  if (mod && key === "k") return "quickAdd";
  if (mod || e.altKey) return null;
  if (key === "delete" || key === "backspace") return "delete";
  if (key === "l" && e.shiftKey) return "layout";
  if (key === "f" && e.shiftKey) return "fit";
  if (key === "escape") return "escape";
  if (key === "/") return "quickAdd";
  if (key === "n" && e.shiftKey) return "note";
  return null;
}

/** The list shown in the help: key combination → what it does. */
export const SHORTCUTS: [string, string][] = [
  ["Ctrl/⌘ S", "save (creates a version)"],
  ["Ctrl/⌘ Enter", "run"],
  ["Ctrl/⌘ Z / Shift Z", "undo / redo"],
  ["Ctrl/⌘ C / V", "copy / paste nodes"],
  ["Ctrl/⌘ A", "select everything"],
  ["Delete", "delete the selection"],
  ["/ or Ctrl/⌘ K", "quick-add: search nodes, Enter adds after the selected one"],
  ["Shift N", "add a sticky note"],
  ["Shift L", "auto-layout"],
  ["Shift F", "zoom to fit"],
  ["Shift D", "dark mode"],
  ["Ctrl/⌘ + click", "add to the selection"],
  ["Shift + drag", "select with a box"],
];
