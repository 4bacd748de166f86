/** The timeline scrubber: step through a run's events and see every node at that point. */
import { describeEvent } from "../lib/executionState";
import { useExecutionStore } from "../stores/executionStore";

export function Timeline() {
  const records = useExecutionStore((s) => s.records);
  const scrub = useExecutionStore((s) => s.scrub);
  const setScrub = useExecutionStore((s) => s.setScrub);
  if (!records.length) return null;
  const position = scrub ?? records.length;
  const current = records[position - 1];
  const step = (delta: number) => setScrub(Math.min(records.length, Math.max(1, position + delta)));
  return (
    <div className="panel flex items-center gap-2 border-t px-3 py-2" aria-label="Timeline">
      <button className="btn" onClick={() => step(-1)} aria-label="Previous event" title="Previous event ([)">
        ◀
      </button>
      <input
        type="range"
        aria-label="Event"
        data-testid="timeline"
        min={1}
        max={records.length}
        value={position}
        onChange={(e) => setScrub(Number(e.target.value))}
        className="flex-1"
      />
      <button className="btn" onClick={() => step(1)} aria-label="Next event" title="Next event (])">
        ▶
      </button>
      <span className="w-72 truncate text-xs" data-testid="timeline-label">
        {position}/{records.length} · #{current?.seq} {current ? describeEvent(current.event) : ""}
      </span>
      {scrub !== null && (
        <button className="btn" onClick={() => setScrub(null)}>
          Latest
        </button>
      )}
    </div>
  );
}
