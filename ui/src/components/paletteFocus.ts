/** Focus the palette's search from anywhere in the builder (the `/` key, a node's + button). */

/** The attribute marking the palette's search box. */
export const PALETTE_SEARCH = "data-palette-search";

/** Put the caret in the palette's search: the start of a keyboard quick-add. */
export function focusPaletteSearch(): void {
  document.querySelector<HTMLInputElement>(`[${PALETTE_SEARCH}]`)?.focus();
}
