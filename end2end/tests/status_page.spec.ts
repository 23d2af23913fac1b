import { test, expect } from "@playwright/test";

const TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the server-rendered page is complete", async ({ page }) => {
    const response = await page.goto("/");
    expect(response?.status()).toBe(200);
    await expect(page.getByRole("heading", { name: "Vigil itself" })).toBeVisible();
    await expect(page.getByTestId("banner")).toContainText("No monitors configured yet");
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
});
