import { describe, expect, it, vi } from "vitest";
import { SubscriberQueue } from "../../src/streams/subscribers/subscriber-queue.ts";

/** Reads what is buffered until the queue reports done (never waits: every next() here is answered). */
async function readToEnd<E>(queue: SubscriberQueue<E>): Promise<E[]> {
  const events: E[] = [];
  for (;;) {
    const result = await queue.next();
    if (result.done) return events;
    events.push(result.value);
  }
}

function newQueue(capacity = 10) {
  const onClose = vi.fn();
  return { queue: new SubscriberQueue<string>({ capacity, onClose }), onClose };
}

describe("SubscriberQueue", () => {
  it("delivers events in the order they were pushed, initial state first", async () => {
    const { queue } = newQueue();
    queue.pushInitial(["i1", "i2"]);
    expect(queue.push("l1")).toBe(true);
    expect(queue.push("l2")).toBe(true);
    expect(queue.depth).toBe(4);
    queue.end();
    expect(await readToEnd(queue)).toEqual(["i1", "i2", "l1", "l2"]);
  });

  it("hands over an initial state of 100,000 events in order through next()", async () => {
    const { queue } = newQueue();
    const initial = Array.from({ length: 100_000 }, (_, i) => `i${i}`);
    queue.pushInitial(initial);
    queue.end("last");
    expect(await readToEnd(queue)).toEqual([...initial, "last"]);
  });

  it("answers a pending next() with the next push", async () => {
    const { queue } = newQueue();
    const pending = queue.next();
    expect(queue.push("a")).toBe(true);
    await expect(pending).resolves.toEqual({ value: "a", done: false });
    expect(queue.depth).toBe(0);
  });

  it("return() while next() is pending resolves it as done at once and runs onClose exactly once", async () => {
    const { queue, onClose } = newQueue();
    const pending = queue.next();
    await expect(queue.return()).resolves.toEqual({ value: undefined, done: true });
    await expect(pending).resolves.toEqual({ value: undefined, done: true });
    await queue.return();
    queue.end("ignored");
    expect(onClose).toHaveBeenCalledTimes(1);
    expect(queue.isClosed).toBe(true);
    expect(queue.push("late")).toBe(false);
    await expect(queue.next()).resolves.toEqual({ value: undefined, done: true });
  });

  it("return() discards what is buffered", async () => {
    const { queue, onClose } = newQueue();
    queue.push("a");
    queue.push("b");
    await queue.return();
    expect(onClose).toHaveBeenCalledTimes(1);
    await expect(queue.next()).resolves.toEqual({ value: undefined, done: true });
  });

  it("bounds only live events: the initial state never counts against the capacity", async () => {
    const { queue } = newQueue(2);
    queue.pushInitial(["i1", "i2", "i3", "i4", "i5"]);
    expect(queue.push("l1")).toBe(true);
    expect(queue.push("l2")).toBe(true);
    expect(queue.push("l3")).toBe(false); // overflow
    expect(queue.depth).toBe(7);

    // Reading initial state frees no live room.
    for (const expected of ["i1", "i2", "i3", "i4", "i5"]) {
      await expect(queue.next()).resolves.toEqual({ value: expected, done: false });
    }
    expect(queue.push("l3")).toBe(false);

    // Reading a live event does.
    await expect(queue.next()).resolves.toEqual({ value: "l1", done: false });
    expect(queue.push("l3")).toBe(true);
    expect(queue.push("l4")).toBe(false);
  });

  it("does not count initial events handed straight to a waiting reader as buffered", async () => {
    const { queue } = newQueue(1);
    const pending = queue.next();
    queue.pushInitial(["i1", "i2"]);
    await expect(pending).resolves.toEqual({ value: "i1", done: false });
    expect(queue.push("l1")).toBe(true);
    expect(queue.push("l2")).toBe(false);
    queue.end();
    expect(await readToEnd(queue)).toEqual(["i2", "l1"]);
  });

  it("fail() drops what is buffered and delivers the final event, then done", async () => {
    const { queue, onClose } = newQueue(2);
    queue.pushInitial(["i1"]);
    queue.push("l1");
    queue.push("l2");
    queue.fail("OVERFLOW");
    expect(queue.isClosed).toBe(true);
    expect(queue.push("late")).toBe(false);
    queue.fail("second failure");
    queue.end("ignored");

    expect(onClose).not.toHaveBeenCalled(); // still to be read
    expect(await readToEnd(queue)).toEqual(["OVERFLOW"]);
    expect(onClose).toHaveBeenCalledTimes(1);
  });

  it.each([
    { name: "with a final event", last: "bye", expected: ["a", "b", "bye"] },
    { name: "without one", last: undefined, expected: ["a", "b"] },
  ])("end() $name flushes what is buffered, then done", async ({ last, expected }) => {
    const { queue, onClose } = newQueue();
    queue.push("a");
    queue.push("b");
    queue.end(last);
    expect(queue.push("c")).toBe(false);
    expect(await readToEnd(queue)).toEqual(expected);
    expect(onClose).toHaveBeenCalledTimes(1);
  });

  it.each([
    { name: "end()", finish: (q: SubscriberQueue<string>) => q.end("bye"), expected: { value: "bye", done: false } },
    { name: "fail()", finish: (q: SubscriberQueue<string>) => q.fail("error"), expected: { value: "error", done: false } },
    { name: "end() without an event", finish: (q: SubscriberQueue<string>) => q.end(), expected: { value: undefined, done: true } },
  ])("$name answers a pending next() and then closes", async ({ finish, expected }) => {
    const { queue, onClose } = newQueue();
    const pending = queue.next();
    finish(queue);
    await expect(pending).resolves.toEqual(expected);
    await expect(queue.next()).resolves.toEqual({ value: undefined, done: true });
    expect(onClose).toHaveBeenCalledTimes(1);
  });

  it("runs onClose when a for-await loop breaks out", async () => {
    const { queue, onClose } = newQueue();
    queue.push("a");
    queue.push("b");
    const seen: string[] = [];
    for await (const event of queue) {
      seen.push(event);
      break;
    }
    expect(seen).toEqual(["a"]);
    expect(onClose).toHaveBeenCalledTimes(1);
  });
});

describe("SubscriberQueue with a synchronous sink (the SSE transport's direct path)", () => {
  /** A sink that accepts `room` events, then asks the queue to wait. */
  function sink(room: number) {
    const delivered: string[] = [];
    let ended = 0;
    return {
      delivered,
      ended: () => ended,
      grow(more: number) {
        room += more;
      },
      deliver(event: string) {
        delivered.push(event);
        room -= 1;
        return room > 0;
      },
      end() {
        ended += 1;
      },
    };
  }

  it("hands over what is buffered at once, then every push as it happens", () => {
    const { queue } = newQueue();
    queue.pushInitial(["i1", "i2"]);
    const reader = sink(100);
    queue.attach(reader);
    expect(reader.delivered).toEqual(["i1", "i2"]);
    queue.push("l1");
    expect(reader.delivered).toEqual(["i1", "i2", "l1"]);
    expect(queue.depth).toBe(0);
  });

  it("holds events while the sink waits, resumes in order, and overflows at capacity meanwhile", () => {
    const { queue, onClose } = newQueue(2);
    const reader = sink(1);
    queue.attach(reader);
    expect(queue.push("a")).toBe(true); // delivered; the sink now waits
    expect(queue.push("b")).toBe(true);
    expect(queue.push("c")).toBe(true);
    expect(queue.push("d")).toBe(false); // two live events wait: capacity reached
    expect(reader.delivered).toEqual(["a"]);
    reader.grow(10);
    queue.resume();
    expect(reader.delivered).toEqual(["a", "b", "c"]);
    queue.fail("OVERFLOW");
    expect(reader.delivered).toEqual(["a", "b", "c", "OVERFLOW"]);
    expect(reader.ended()).toBe(1);
    expect(onClose).toHaveBeenCalledTimes(1);
  });

  it("hands over an initial state of 100,000 events in order, in pieces as the sink takes them, with live events after it", () => {
    const { queue } = newQueue(5);
    const initial = Array.from({ length: 100_000 }, (_, i) => `i${i}`);
    queue.pushInitial(initial);
    expect(queue.push("live")).toBe(true);
    const reader = sink(30_000);
    queue.attach(reader);
    expect(reader.delivered).toHaveLength(30_000);
    expect(queue.depth).toBe(70_001);
    for (let round = 0; round < 3; round += 1) {
      reader.grow(30_000);
      queue.resume();
    }
    expect(reader.delivered).toEqual([...initial, "live"]);
    expect(queue.depth).toBe(0);
  });

  it("delivers a failure's last event even to a waiting sink, dropping what was held", () => {
    const { queue } = newQueue();
    const reader = sink(1);
    queue.attach(reader);
    queue.push("a");
    queue.push("held");
    queue.fail("FORBIDDEN");
    expect(reader.delivered).toEqual(["a", "FORBIDDEN"]);
    expect(reader.ended()).toBe(1);
  });

  it("ends after the held events when the stream ends normally, and not at all when the reader returns", async () => {
    const { queue } = newQueue();
    const reader = sink(1);
    queue.attach(reader);
    queue.push("a");
    queue.push("b");
    queue.end("SHUTTING_DOWN");
    expect(reader.ended()).toBe(0);
    reader.grow(10);
    queue.resume();
    expect(reader.delivered).toEqual(["a", "b", "SHUTTING_DOWN"]);
    expect(reader.ended()).toBe(1);

    const other = newQueue();
    const gone = sink(10);
    other.queue.attach(gone);
    await other.queue.return();
    expect(gone.ended()).toBe(0);
    expect(other.onClose).toHaveBeenCalledTimes(1);
  });
});
