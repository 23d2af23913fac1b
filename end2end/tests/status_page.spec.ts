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
    await expect(page.getByTestId("server-time")).toHaveText(TIME);
    await expect(page.getByTestId("db-state")).toContainText("connected");
    await expect(page.getByTestId("live-mode")).toHaveText("Static snapshot: reload to refresh");
  });
});

test.describe("with JavaScript", () => {
  test("the page hydrates and follows the live feed", async ({ page }) => {
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto("/");
    await expect(page.getByTestId("live-mode")).toHaveText("Live: updates every second");
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
    await expect(page.getByTestId("live-mode")).toHaveText("Live: updates every second");
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
