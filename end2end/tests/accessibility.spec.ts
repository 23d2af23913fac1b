import { test, expect, Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { api, incidentsToken } from "../support/vigil";

// Every public page and the sign-in page, checked by axe-core against the WCAG 2.0–2.2 A and AA
// rules: light and dark, on a desktop and on a 390 px phone, with an open incident and a
// scheduled maintenance on the page (their banners, badges and cards are where colour matters).
const RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"];

async function violations(page: Page, paths: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const p of paths) {
    const r = await page.goto(p);
    expect(r?.status(), p).toBe(200);
    const result = await new AxeBuilder({ page }).withTags(RULES).analyze();
    for (const v of result.violations) {
      const where = v.nodes.slice(0, 3).map((n) => `${n.target.join(" ")}: ${n.failureSummary?.split("\n")[1]?.trim() ?? ""}`);
      found.push(`${p}: ${v.id} (${v.impact}) ${v.help}\n    ${where.join("\n    ")}`);
    }
  }
  return found;
}

test("public pages and the sign-in page have no WCAG 2.2 AA violations, light and dark, desktop and phone", async ({ page, baseURL }) => {
  test.setTimeout(180_000);
  const token = incidentsToken("a11y");
  const soon = Date.now() + 3_600_000;
  const incident = (
    await api(baseURL!, token, "POST", "/api/v1/incidents", {
      name: "Checkout is slow",
      status: "identified",
      impact: "minor",
      body: "Payments take longer than usual; we found the cause.",
      component_ids: ["site"],
    })
  ).id;
  const maintenance = (
    await api(baseURL!, token, "POST", "/api/v1/maintenances", {
      name: "Database upgrade",
      body: "The database restarts once.",
      component_ids: ["site"],
      scheduled_for: new Date(soon).toISOString(),
      scheduled_until: new Date(soon + 3_600_000).toISOString(),
    })
  ).id;
  const paths = ["/", "/history", "/uptime", `/incidents/${incident}`, `/incidents/${maintenance}`, "/subscribe", "/login"];
  const found: string[] = [];
  try {
    for (const scheme of ["light", "dark"] as const) {
      for (const [device, size] of [
        ["desktop", { width: 1280, height: 800 }],
        ["phone", { width: 390, height: 844 }],
      ] as const) {
        await page.setViewportSize(size);
        await page.emulateMedia({ colorScheme: scheme });
        for (const v of await violations(page, paths)) found.push(`[${scheme}, ${device}] ${v}`);
      }
    }
  } finally {
    // The tests after this one find the page as they expect it: nothing open.
    await api(baseURL!, token, "POST", `/api/v1/incidents/${incident}/updates`, { status: "resolved", body: "Fixed." });
    await api(baseURL!, token, "POST", `/api/v1/incidents/${maintenance}/updates`, { status: "completed", body: "Done." });
  }
  expect(found, found.join("\n")).toEqual([]);
});
