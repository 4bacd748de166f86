/** The report of the derived run on the execution page (verdict per node), read by the
 * node cards; empty on every other page. */
import { create } from "zustand";
import type { ReportView } from "../lib/replay";

export const useReportStore = create<{ view: ReportView | null; set(view: ReportView | null): void }>((set) => ({
  view: null,
  set: (view) => set({ view }),
}));
