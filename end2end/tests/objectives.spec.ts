import { test, expect } from "@playwright/test";

const user = process.env.E2E_USER ?? "";
const password = process.env.E2E_PASSWORD ?? "";

// /ops/slos is drawn on the server: the figures and the burn-down need no script.
test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("an objective's budget, its burn-down and its alerts", async ({ page }) => {
    await page.goto("/login?next=/ops/slos");
    await page.getByLabel("Username").fill(user);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(/\/ops\/slos$/);
    const slo = page.getByTestId("slo-website-availability");
    await expect(slo.getByRole("heading", { name: "Website availability" })).toBeVisible();
    await expect(slo).toContainText("99.5 % availability over 30d · maintenance left out");
    await expect(slo.getByTestId("achieved")).toContainText("checks good");
    await expect(slo.getByTestId("budget")).toContainText("of the budget left");
    // The burn-down: one line from a full budget, labelled with what is left.
    const chart = slo.getByTestId("burn-down");
    await expect(chart).toHaveAttribute("aria-label", /Error budget left, day by day: .* %/);
    await expect(chart.locator("path")).toHaveAttribute("d", /^M0,0\.0 L/);
    // The three default rules, each with its two windows.
    for (const rule of ["14.4x-1h-5m (page)", "6x-6h-30m (page)", "1x-3d-6h (ticket)"]) {
      await expect(slo.getByRole("cell", { name: rule })).toBeVisible();
    }
    // Scripts read the same figures.
    const api = await page.request.get("/api/v1/slos");
    expect(api.status()).toBe(200);
    const body = await api.json();
    expect(body.slos.map((s: { id: string }) => s.id)).toContain("website-availability");
  });
});

test.describe("the monthly report", () => {
  test.use({ javaScriptEnabled: false });

  test.beforeEach(async ({ page }) => {
    await page.goto("/login?next=/ops/slos/report");
    await page.getByLabel("Username").fill(user);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(/\/ops\/slos\/report$/);
  });

  test("prints one page per objective, and its CSV parses", async ({ page }) => {
    const reports = page.locator("section.report");
    await expect(reports).toHaveCount(2);
    const site = page.getByTestId("report-website-availability");
    await expect(site.getByRole("heading", { name: /^Website availability — \d{4}-\d{2}$/ })).toBeVisible();
    await expect(site.getByTestId("report-achieved")).toContainText(/ (met|missed) /);
    await expect(site.getByTestId("report-days")).toHaveAttribute("aria-label", /against the 99\.5 % target/);
    const latency = page.getByTestId("report-website-latency");
    await expect(latency).toContainText("checks answered within 500 ms");

    // Printed: as many pages as objectives (the print stylesheet breaks between them).
    await page.emulateMedia({ media: "print" });
    const pdf = (await page.pdf({ format: "A4" })).toString("latin1");
    const pages = pdf.match(/\/Type\s*\/Page(?![s\w])/g) ?? [];
    expect(pages.length).toBe(2);

    // The CSV behind the link: a header, a row per day and per incident, the month's last.
    const href = await site.getByTestId("report-csv").getAttribute("href");
    expect(href).toMatch(/^\/api\/v1\/slos\/website-availability\/report\?month=\d{4}-\d{2}&format=csv$/);
    const csv = await page.request.get(href!);
    expect(csv.status()).toBe(200);
    expect(csv.headers()["content-type"]).toContain("text/csv");
    const rows = (await csv.text()).trim().split("\n").map((l) => l.split(","));
    const header = rows[0];
    expect(header.slice(0, 3)).toEqual(["objective", "month", "row"]);
    for (const r of rows) expect(r.length).toBe(header.length);
    const month = rows[rows.length - 1];
    expect(month[header.indexOf("row")]).toBe("month");
    const days = rows.filter((r) => r[header.indexOf("row")] === "day");
    const sum = (col: string, of: string[][]) => of.reduce((n, r) => n + Number(r[header.indexOf(col)]), 0);
    expect(sum("total", days)).toBe(Number(month[header.indexOf("total")]));
    expect(sum("good", days)).toBe(Number(month[header.indexOf("good")]));
  });

  test("a month that cannot be reported says why", async ({ page }) => {
    await page.goto("/ops/slos/report?month=2999-01");
    await expect(page.getByRole("alert")).toContainText("has not started yet");
  });
});

test("the public uptime page shows the published objective's twelve months, not the others", async ({ page }) => {
  await page.goto("/uptime");
  const slas = page.getByTestId("public-slas");
  await expect(slas.getByRole("heading", { name: "Website availability — Website (99.5 %)" })).toBeVisible();
  await expect(slas.locator("li")).toHaveCount(12);
  await expect(slas).not.toContainText("500 ms");
});
