// Headless Chromium for the browser tests: Debian's package, driven by playwright-core (Playwright's
// own browser download does not work here). CI installs it with `apt-get install -y chromium`.
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";

export const chromiumPath = "/usr/bin/chromium";

export const hasChromium = existsSync(chromiumPath);

/** Why the browser suites are skipped, in their names and on stderr, so that a skip is never silent. */
export const skipNote = hasChromium ? "" : ` (SKIPPED: no Chromium at ${chromiumPath}; apt-get install -y chromium)`;
if (!hasChromium) console.warn(`browser tests${skipNote}`);

/** Where screenshots go: test-results/ is gitignored. */
export const artifactDir = fileURLToPath(new URL("../../test-results/browser/", import.meta.url));

/**
 * Starts headless Chromium with a new empty profile (Playwright makes a temporary user-data-dir per
 * launch). The flags keep Chromium off the network: on a closed network its background services
 * would otherwise retry connections and lookups all the time.
 */
export async function launchChromium(): Promise<Browser> {
  await mkdir(artifactDir, { recursive: true });
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    timeout: 30_000,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-quic",
      "--no-first-run",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** True for requests that stay on this machine. */
export function isLoopback(url: URL): boolean {
  return ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname) || url.protocol === "data:" || url.protocol === "blob:";
}

/**
 * A fresh browser context and page for one test of the dashboard, and the uncaught errors of the
 * page's scripts as they happen (a test expects none).
 */
export async function openDashboardPage(
  browser: Browser,
  timeoutMs: number,
): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1100 } });
  context.setDefaultTimeout(timeoutMs);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  return { context, page, errors };
}
