/** Light or dark, remembered, applied as a class on <html>. */
import { create } from "zustand";

type Theme = "light" | "dark";

const initial: Theme =
  (localStorage.getItem("fm.theme") as Theme | null) ??
  (window.matchMedia?.("(prefers-color-scheme: dark)").matches ? "dark" : "light");

function apply(theme: Theme) {
  document.documentElement.classList.toggle("dark", theme === "dark");
  localStorage.setItem("fm.theme", theme);
}
apply(initial);

export const useThemeStore = create<{ theme: Theme; toggle(): void }>((set, get) => ({
  theme: initial,
  toggle: () => {
    const theme = get().theme === "dark" ? "light" : "dark";
    apply(theme);
    set({ theme });
  },
}));
