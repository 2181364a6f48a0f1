import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { deadline, systemClock } from "../../src/clock.ts";

describe("systemClock under vitest's fake timers", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("reads the faked time", () => {
    vi.setSystemTime(new Date("2026-01-01T00:00:00.000Z"));
    expect(systemClock.now()).toBe(Date.parse("2026-01-01T00:00:00.000Z"));
    expect(systemClock.date().toISOString()).toBe("2026-01-01T00:00:00.000Z");
  });

  it("runs timeouts and intervals as time advances, and not after cancel()", async () => {
    const calls: string[] = [];
    const once = systemClock.timeout(() => calls.push("timeout"), 100);
    const every = systemClock.interval(() => calls.push("interval"), 40);
    expect(once.unref()).toBe(once);
    await vi.advanceTimersByTimeAsync(99);
    expect(calls).toEqual(["interval", "interval"]);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toEqual(["interval", "interval", "timeout"]);
    every.cancel();
    every.cancel();
    once.cancel();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls).toHaveLength(3);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("sleep resolves after the delay, or at once when aborted", async () => {
    let slept = false;
    void systemClock.sleep(1_000).then(() => {
      slept = true;
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(slept).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(slept).toBe(true);

    const controller = new AbortController();
    const interrupted = systemClock.sleep(60_000, controller.signal);
    controller.abort();
    await expect(interrupted).resolves.toBeUndefined();
    await expect(systemClock.sleep(60_000, controller.signal)).resolves.toBeUndefined();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("a deadline aborts after its time, or with the signal it follows, and cancel() leaves no timer", async () => {
    const timed = deadline(systemClock, 500);
    await vi.advanceTimersByTimeAsync(499);
    expect(timed.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(timed.signal.aborted).toBe(true);
    timed.cancel();

    const stop = new AbortController();
    const followed = deadline(systemClock, 500, stop.signal);
    stop.abort();
    expect(followed.signal.aborted).toBe(true);
    followed.cancel();
    const late = deadline(systemClock, 500, stop.signal);
    expect(late.signal.aborted).toBe(true);
    late.cancel();

    const cancelled = deadline(systemClock, 500, new AbortController().signal);
    cancelled.cancel();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(cancelled.signal.aborted).toBe(false);
  });
});

describe("time in the informer and streams layers", () => {
  const root = fileURLToPath(new URL("../../", import.meta.url));
  /** Reading the time or setting a timer other than through the clock they are handed. */
  const forbidden =
    /Date\.now|new Date\(\s*\)|performance\.now|setTimeout|setInterval|setImmediate|clearTimeout|clearInterval|AbortSignal\.timeout/g;
  const sources = ["src/kube", "src/streams"].flatMap((dir) =>
    readdirSync(join(root, dir), { recursive: true, encoding: "utf8" })
      .filter((file) => file.endsWith(".ts"))
      .map((file) => join(root, dir, file)),
  );

  it("finds the sources it checks", () => {
    expect(sources.map((file) => relative(root, file))).toEqual(
      expect.arrayContaining(["src/kube/reflector.ts", "src/kube/informer-registry.ts", "src/streams/subscribers/subscriber-stream.ts"]),
    );
  });

  it("comes from the clock: no file of src/kube or src/streams reads the time or sets a timer itself", () => {
    const uses = sources.flatMap((file) =>
      readFileSync(file, "utf8")
        .split("\n")
        .flatMap((line, index) => [...line.matchAll(forbidden)].map((m) => `${relative(root, file)}:${index + 1}: ${m[0]}`)),
    );
    expect(uses).toEqual([]);
  });
});
