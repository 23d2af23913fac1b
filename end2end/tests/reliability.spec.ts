import { test, expect } from "@playwright/test";

const user = process.env.E2E_USER ?? "";
const password = process.env.E2E_PASSWORD ?? "";

// The figures page renders from the record, without JavaScript, and its filter is a plain GET.
test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("reliability figures and their filters", async ({ page }) => {
    await page.goto("/login?next=/ops/reliability");
    await page.getByLabel("Username").fill(user);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(/\/ops\/reliability$/);
    const overall = page.getByTestId("reliability-overall");
    await expect(overall).toContainText("Mean time to detect");
    await expect(overall).toContainText("Follow-ups handled");

    await page.getByLabel("component").fill("site");
    await page.getByRole("button", { name: "Show" }).click();
    await expect(page).toHaveURL(/component=site/);
    await expect(page.locator("main")).toContainText("component site");

    await page.getByRole("link", { name: "capacity", exact: true }).click();
    await expect(page).toHaveURL(/tag=capacity/);
    await expect(page.getByTestId("reliability-overall")).toBeVisible();
  });
});
