import { test, expect } from "@playwright/test";

const user = process.env.E2E_USER ?? "";
const password = process.env.E2E_PASSWORD ?? "";

// The simulator plays the seed incident at 5x: backends start flapping about 40 s in.
test("the ops dashboard shows a backend flapping while the scenario runs", async ({ page }) => {
  test.setTimeout(150_000);
  await page.goto("/login?next=/ops/load-balancers");
  await page.getByLabel("Username").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/ops\/load-balancers$/);

  await expect(async () => {
    await page.reload();
    await expect(page.getByTestId("lb-table")).toBeVisible({ timeout: 1_000 });
    await expect(page.locator('[data-flapping="true"]').first()).toBeVisible({ timeout: 1_000 });
  }).toPass({ timeout: 140_000, intervals: [3_000] });

  const row = page.locator('[data-flapping="true"]').first();
  await expect(row).toContainText("flapping");
  await expect(row).toContainText("lke-ingress");
  // Its history strip has more than one stretch.
  await expect(row.locator("svg.strip rect")).not.toHaveCount(1);
  // Connections from the stats endpoint, drawn under the table.
  const conns = page.getByTestId("stack-graph").filter({ hasText: "lke-ingress connections" });
  await expect(conns).toBeVisible();
  await expect(conns.locator("path.line")).toHaveCount(1);
});
