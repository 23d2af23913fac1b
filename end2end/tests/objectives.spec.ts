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
