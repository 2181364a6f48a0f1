import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock.ts";
import { defaultOptions, defaultSettings } from "../../src/options.ts";

describe("defaultOptions", () => {
  const wiring = { sources: () => ({}) as never, auth: { mode: "none" } as const, logger: pino({ level: "silent" }) };

  it("is defaultSettings with the wiring, a probe that answers at once and the system clock", async () => {
    const options = defaultOptions(wiring);
    expect(options).toMatchObject({ ...defaultSettings, ...wiring, clock: systemClock });
    await expect(options.probeApiServer()).resolves.toBeUndefined();
  });

  it("merges security and its limits field by field, and keeps the default of an undefined override", () => {
    const options = defaultOptions({
      ...wiring,
      queueSize: 5,
      syncTimeoutMs: undefined,
      security: { corsOrigins: ["https://ui.example.org"], maxSubscriptionsPerIdentity: undefined, limits: { maxAliases: 3 } },
    });
    expect(options.queueSize).toBe(5);
    expect(options.syncTimeoutMs).toBe(defaultSettings.syncTimeoutMs);
    expect(options.security).toEqual({
      ...defaultSettings.security,
      corsOrigins: ["https://ui.example.org"],
      limits: { ...defaultSettings.security.limits, maxAliases: 3 },
    });
  });

  it("gives each caller its own copies: changing one's options changes no default", () => {
    const options = defaultOptions(wiring);
    options.security.corsOrigins.push("https://ui.example.org");
    options.security.limits.maxDepth = 1;
    expect(defaultSettings.security.corsOrigins).toEqual([]);
    expect(defaultSettings.security.limits.maxDepth).toBe(10);
  });
});
