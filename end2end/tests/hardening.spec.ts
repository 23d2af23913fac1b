import { test, expect } from "@playwright/test";
import * as http from "node:http";

// The public pages under the Content-Security-Policy the server sends: nothing they need is
// blocked, and nothing logs an error.
test("public pages load and run their script with the CSP enforced and no console errors", async ({ page }) => {
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("response", (r) => {
    if (r.status() >= 400) problems.push(`error: ${r.status()} ${r.url()}`);
  });
  for (const path of ["/", "/history", "/login"]) {
    const response = await page.goto(path);
    const csp = response?.headers()["content-security-policy"] ?? "";
    expect(csp, path).toContain("'nonce-");
    expect(csp, path).not.toMatch(/script-src[^;]*unsafe-inline/);
    expect(response?.headers()["x-content-type-options"]).toBe("nosniff");
    // The page's script ran and follows the live feed (the marker on the status page).
    if (path === "/") {
      await expect(page.locator("main.page")).toHaveAttribute("data-live", "live");
    } else {
      await page.waitForLoadState("networkidle");
    }
  }
  expect(problems.filter((p) => /Content Security Policy|Refused|pageerror|error:/.test(p))).toEqual([]);

  // The policy is enforced, not only sent: a script injected into the page (what a stored
  // cross-site script would be) does not run, and the browser reports which rule stopped it.
  await page.goto("/");
  const injected = await page.evaluate(
    () =>
      new Promise<string>((resolve) => {
        document.addEventListener(
          "securitypolicyviolation",
          (e) => resolve(`blocked by ${e.effectiveDirective}`),
          { once: true },
        );
        const s = document.createElement("script");
        s.textContent = "window.__injected = true";
        document.body.appendChild(s);
        setTimeout(() => resolve((window as any).__injected ? "ran" : "neither ran nor reported"), 3000);
      }),
  );
  expect(injected).toMatch(/^blocked by script-src/);
});

// Atlassian's embeddable status widget (and anything like it) reads summary.json from another
// origin with fetch: the browser must let it.
test("a page on another origin can fetch the Statuspage JSON", async ({ page, baseURL }) => {
  const other = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html" });
    res.end("<!doctype html><title>widget</title><p id=out>waiting</p>");
  });
  await new Promise<void>((resolve) => other.listen(3997, "127.0.0.1", resolve));
  try {
    await page.goto("http://127.0.0.1:3997/");
    const result = await page.evaluate(async (base) => {
      const r = await fetch(`${base}/api/v2/summary.json`);
      const body = await r.json();
      return { status: r.status, name: body.page?.name, indicator: body.status?.indicator, etag: r.headers.get("etag") };
    }, baseURL);
    expect(result.status).toBe(200);
    expect(result.name).toBeTruthy();
    expect(result.indicator).toMatch(/none|minor|major|critical/);
    expect(result.etag).toBeTruthy();
    // The private API stays closed to other origins.
    const blocked = await page.evaluate(async (base) => {
      try {
        await fetch(`${base}/api/v1/monitors`);
        return "read";
      } catch {
        return "blocked";
      }
    }, baseURL);
    expect(blocked).toBe("blocked");
  } finally {
    other.closeAllConnections();
    await new Promise<void>((resolve) => other.close(() => resolve()));
  }
});
