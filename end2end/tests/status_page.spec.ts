import { test, expect, Page } from "@playwright/test";
import * as http from "node:http";

const TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
// The monitored target (see ../vigil-e2e.toml): this file starts and stops it.
const TARGET_PORT = 3998;

let target: http.Server | undefined;

async function startTarget() {
  target = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("ok");
  });
  await new Promise<void>((resolve) => target!.listen(TARGET_PORT, "127.0.0.1", resolve));
}

async function stopTarget() {
  if (!target) return;
  const t = target;
  target = undefined;
  t.closeAllConnections();
  await new Promise<void>((resolve) => t.close(() => resolve()));
}

test.beforeAll(startTarget);
test.afterAll(stopTarget);

const siteState = (page: Page) => page.getByTestId("component-site").getByTestId("component-state");

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the server-rendered page is complete", async ({ page }) => {
    const response = await page.goto("/");
    expect(response?.status()).toBe(200);
    // The first checks may still be on their way: reload until the verdict is in.
    await expect(async () => {
      await page.reload();
      await expect(siteState(page)).toHaveText("Operational", { timeout: 500 });
    }).toPass({ timeout: 15_000 });
    await expect(page.getByTestId("banner")).toContainText("All Systems Operational");
    await expect(page.getByRole("heading", { name: "Public" })).toBeVisible();
    await expect(page.getByTestId("component-site").getByTestId("uptime")).toContainText("uptime over 90 days");
    await expect(page.getByRole("heading", { name: "Response time, last 24 hours" })).toBeVisible();
    await expect(page.locator("main.page")).toHaveAttribute("data-live", "static");
    // Vigil's own health is for operators, not visitors.
    await expect(page.getByText("Vigil itself")).toHaveCount(0);

    // The owner's name in the header and the tab; a shared link previews the name and the state.
    const brand = ((await page.locator(".site-header .brand").textContent()) ?? "").trim();
    expect(brand.length).toBeGreaterThan(0);
    await expect(page).toHaveTitle(brand);
    await expect(page.locator('meta[property="og:title"]')).toHaveAttribute("content", `${brand} — All Systems Operational`);
    await expect(page.locator('meta[name="twitter:card"]')).toHaveAttribute("content", "summary");
    await expect(page.locator('link[rel="canonical"]')).toHaveAttribute("href", /^https?:\/\/[^/]+\/$/);
    // Each page its own title.
    await page.goto("/history");
    await expect(page).toHaveTitle(`Incident history — ${brand}`);
    await expect(page.locator('meta[property="og:title"]')).toHaveAttribute("content", `Incident history — ${brand}`);
    await expect(page.locator('link[rel="canonical"]')).toHaveAttribute("href", /\/history$/);
  });

  test("on a phone nothing overflows and today's cell is on screen", async ({ page }) => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto("/");
    await expect(siteState(page)).toBeVisible();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    for (const bar of await page.locator(".uptime-bar").all()) {
      const days = bar.locator(".day");
      // 30 days on a phone, as Statuspage shows; the 90-day figure stays in words.
      const visible = await days.evaluateAll((els) => els.filter((e) => getComputedStyle(e).display !== "none").length);
      expect(visible).toBe(30);
      const today = await days.last().boundingBox();
      expect(today).not.toBeNull();
      expect(today!.width).toBeGreaterThan(2);
      expect(today!.x + today!.width).toBeLessThanOrEqual(390);
      const card = await bar.boundingBox();
      expect(today!.x + today!.width).toBeLessThanOrEqual(card!.x + card!.width + 0.5);
    }
    await expect(page.getByText("30 days ago").first()).toBeVisible();
    // The figure beside 30 cells speaks of 30 days.
    await expect(page.getByTestId("uptime").first()).toBeHidden();
    await expect(page.getByTestId("uptime-30").first()).toBeVisible();
    await expect(page.getByTestId("uptime-30").first()).toContainText(/over 30 days|for the last 30 days/);
    // The response-time chart's labels are read at a phone's size, not a few pixels tall.
    const tick = await page.locator(".chart .tick").first().boundingBox();
    expect(tick!.height).toBeGreaterThanOrEqual(9);
    // A third-party row keeps its state apart from its name.
    await expect(page.getByTestId("third-party-state").first()).toBeVisible();
    const row = page.getByTestId("third-party").locator(".component").first();
    const name = await row.locator(".component-name").boundingBox();
    const state = await row.getByTestId("third-party-state").boundingBox();
    const apart = state!.x >= name!.x + name!.width + 8 || state!.y >= name!.y + name!.height;
    expect(apart).toBe(true);
  });
});

test.describe("with JavaScript", () => {
  test("the page follows the live feed with a small script, not the app's WebAssembly", async ({ page }) => {
    const errors: string[] = [];
    const fetched: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("request", (r) => fetched.push(new URL(r.url()).pathname));
    for (const path of ["/", "/history"]) {
      await page.goto(path);
      await expect(page.locator("main.page")).toHaveAttribute("data-live", "live");
    }
    expect(fetched.filter((f) => f.endsWith(".wasm") || f.startsWith("/pkg/vigil.") && f.endsWith(".js"))).toEqual([]);
    expect(fetched.some((f) => /^\/pkg\/live\.[0-9a-f]+\.js$/.test(f))).toBe(true);
    expect(errors).toEqual([]);
  });

  test("operators see Vigil's own health tick on /ops", async ({ page }) => {
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto("/login?next=/ops");
    await page.getByLabel("Username").fill(process.env.E2E_USER ?? "");
    await page.getByLabel("Password").fill(process.env.E2E_PASSWORD ?? "");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(/\/ops$/);
    await expect(page.getByTestId("live-mode")).toHaveText("Live: updates every second");
    // Operators' pages run the whole app.
    expect(await page.evaluate(() => performance.getEntriesByType("resource").some((e) => e.name.endsWith(".wasm")))).toBe(true);
    const first = await page.getByTestId("live-seq").textContent();
    const firstTime = await page.getByTestId("server-time").textContent();
    expect(firstTime).toMatch(TIME);
    // The value changes on its own, without a reload.
    await expect(page.getByTestId("live-seq")).not.toHaveText(first ?? "", { timeout: 5_000 });
    await expect(page.getByTestId("server-time")).not.toHaveText(firstTime ?? "", { timeout: 5_000 });
    await expect(page.getByTestId("db-state")).toContainText("connected");
    expect(errors).toEqual([]);
  });

  test("an open page shows the outage when the target stops, and the recovery", async ({ page }) => {
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto("/");
    await expect(page.locator("main.page")).toHaveAttribute("data-live", "live");
    await expect(siteState(page)).toHaveText("Operational", { timeout: 15_000 });

    await stopTarget();
    // No reload: the page hears of the change over the live feed.
    await expect(siteState(page)).toHaveText("Major outage", { timeout: 15_000 });
    await expect(page.getByTestId("component-site")).toHaveAttribute("data-status", "major_outage");
    await expect(page.getByTestId("banner")).toContainText("Major System Outage");

    await startTarget();
    await expect(siteState(page)).toHaveText("Operational", { timeout: 15_000 });
    expect(errors).toEqual([]);
  });
});
