import { test, expect } from "@playwright/test";
import * as http from "node:http";
import { api as call, incidentsToken } from "../support/vigil";

// The owner's own site, on another origin and under a strict CSP of its own, with Vigil's
// banner script: nothing while all is well, a banner linking to the incident while one is open,
// and a visitor may dismiss it.
const HOST_PORT = 3993;

test("the banner script shows an open incident on another site, and nothing otherwise", async ({ page, baseURL }) => {
  const vigil = new URL(baseURL!).origin;
  const site = http.createServer((_req, res) => {
    res.writeHead(200, {
      "content-type": "text/html; charset=utf-8",
      // Scripts and connections to Vigil only; no inline style at all.
      "content-security-policy": `default-src 'none'; img-src 'self'; script-src ${vigil}; connect-src ${vigil}; style-src 'none'`,
    });
    res.end(`<!DOCTYPE html><html lang="en"><head><title>Example Org</title></head>
<body><h1>Example Org</h1><script src="${vigil}/embed.js" async></script></body></html>`);
  });
  await new Promise<void>((resolve) => site.listen(HOST_PORT, "127.0.0.1", resolve));
  const token = incidentsToken("embed");
  const api = (url: string, body: object) => call(vigil, token, "POST", url, body);
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  let id = 0;
  try {
    const host = `http://127.0.0.1:${HOST_PORT}/`;
    // Whatever earlier tests (or the demo's own monitors) left open is closed first: this test
    // decides what is under way.
    const open = await (await fetch(`${vigil}/api/v2/incidents/unresolved.json`)).json();
    for (const i of open.incidents) {
      await api(`/api/v1/incidents/${i.id}/updates`, { status: "resolved", body: "Closed before the embed test." });
    }
    const active = await (await fetch(`${vigil}/api/v2/scheduled-maintenances/active.json`)).json();
    for (const m of active.scheduled_maintenances) {
      await api(`/api/v1/incidents/${m.id}/updates`, { status: "completed", body: "Closed before the embed test." });
    }
    await page.goto(host);
    // The script has looked (it marks the page), and there was nothing to show.
    await expect(page.locator("html")).toHaveAttribute("data-vigil-embed", "quiet");
    await expect(page.locator("[data-vigil-banner]")).toHaveCount(0);

    id = (await api("/api/v1/incidents", { name: "Checkout <b>errors</b>", status: "investigating", impact: "major", body: "Looking." })).id;
    await page.goto(host);
    const banner = page.locator("[data-vigil-banner]");
    await expect(banner).toBeVisible();
    await expect(banner.getByRole("link")).toHaveText("Checkout <b>errors</b>");
    await expect(banner.getByRole("link")).toHaveAttribute("href", `${vigil}/incidents/${id}`);
    await expect(banner).toContainText("Investigating:");
    await banner.getByRole("button", { name: "Dismiss" }).click();
    await expect(banner).toHaveCount(0);
    await page.goto(host);
    await expect(page.locator("html")).toHaveAttribute("data-vigil-embed", "dismissed");
    await expect(page.locator("[data-vigil-banner]")).toHaveCount(0);
    expect(errors).toEqual([]);
  } finally {
    if (id) await api(`/api/v1/incidents/${id}/updates`, { status: "resolved", body: "Fixed." });
    site.closeAllConnections();
    await new Promise<void>((resolve) => site.close(() => resolve()));
  }
});
