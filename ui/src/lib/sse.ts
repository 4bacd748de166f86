/** A small Server-Sent Events parser, fed with text chunks as they arrive. */

export interface SseMessage {
  id?: string;
  event: string;
  data: string;
}

/** Returns a function that takes a chunk of text and returns the messages it completed. */
export function sseParser(): (chunk: string) => SseMessage[] {
  let buffer = "";
  let data: string[] = [];
  let event = "";
  let id: string | undefined;
  return (chunk) => {
    buffer += chunk;
    const out: SseMessage[] = [];
    const lines = buffer.split(/\r\n|\r|\n/);
    buffer = lines.pop() ?? "";
    for (const line of lines) {
      if (line === "") {
        if (data.length) out.push({ id, event: event || "message", data: data.join("\n") });
        data = [];
        event = "";
        id = undefined;
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "data") data.push(value);
      else if (field === "event") event = value;
      else if (field === "id") id = value;
    }
    return out;
  };
}
