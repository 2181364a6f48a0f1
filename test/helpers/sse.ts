/** One frame of a text/event-stream. */
export interface SseFrame {
  event: string | undefined;
  data: string;
  /** The frame's id: line, if it has one. */
  id?: string;
}

/**
 * Reads a text/event-stream body frame by frame. Comment lines (": ping") are skipped.
 * The iterator ends when the body ends; return() cancels the body.
 */
export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseFrame> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let boundary = buffer.indexOf("\n\n");
      while (boundary !== -1) {
        const raw = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        boundary = buffer.indexOf("\n\n");
        let event: string | undefined;
        let id: string | undefined;
        const data: string[] = [];
        for (const line of raw.split("\n")) {
          if (line.startsWith(":")) continue;
          if (line.startsWith("id:")) id = line.slice(3).trim();
          else if (line.startsWith("event:")) event = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
        }
        if (event !== undefined || data.length > 0) yield { event, data: data.join("\n"), ...(id === undefined ? {} : { id }) };
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
