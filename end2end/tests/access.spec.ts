import { test, expect } from "@playwright/test";

const user = process.env.E2E_USER ?? "";
const password = process.env.E2E_PASSWORD ?? "";

test("sign in, reach the ops dashboard, sign out", async ({ page }) => {
  expect(user, "scripts/test creates the e2e account").not.toBe("");

  await page.goto("/ops");
  await expect(page).toHaveURL(/\/login\?next=\/ops$/);

  await page.getByLabel("Username").fill(user);
  await page.getByLabel("Password").fill("wrong password here");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("login-error")).toHaveText("Wrong username or password.");

  await page.getByLabel("Username").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/ops$/);
  await expect(page.getByTestId("whoami")).toHaveText(`${user} (admin)`);

  await page.getByRole("link", { name: "Audit log" }).click();
  await expect(page.getByTestId("audit-table")).toContainText("login");

  await page.getByTestId("logout").click();
  await expect(page).toHaveURL(/\/$/);
  await page.goto("/ops");
  await expect(page).toHaveURL(/\/login/);
});
