import { test, expect } from "@playwright/test";

const user = process.env.E2E_USER ?? "";
const password = process.env.E2E_PASSWORD ?? "";
// The simulator's webhook receiver (scripts/test starts it; BASE+7).
const receiver = "http://127.0.0.1:4207";

// A visitor without JavaScript follows the page with a webhook; the receiver confirms it; an
// admin sees it on /ops/subscribers and removes it.
test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("a visitor subscribes with the plain form, mistakes named on the page", async ({ page, request, baseURL }) => {
    const hook = `${receiver}/hook/e2e-${Date.now()}`;
    await page.goto("/");
    await page.getByTestId("subscribe-link").click();
    await expect(page).toHaveURL(/\/subscribe$/);
    const form = page.getByTestId("subscribe-form");

    // A Discord URL that is not one: the field is named, with how to fix it.
    await form.getByLabel("A Discord channel").check();
    await form.getByLabel(/Discord webhook URL/).fill(`${receiver}/hook/not-discord`);
    await page.getByTestId("subscribe-submit").click();
    await expect(page.getByTestId("subscribe-notice")).toContainText("Discord webhook URL: paste the URL from the channel's settings");
    await expect(page.getByTestId("subscribe-notice")).toHaveAttribute("role", "alert");

    await page.getByTestId("subscribe-form").getByLabel(/A webhook/).check();
    await page.getByTestId("subscribe-form").getByLabel("Webhook URL", { exact: true }).fill(hook);
    await page.getByTestId("subscribe-form").getByLabel("Website").check();
    await page.getByTestId("subscribe-submit").click();
    await expect(page).toHaveURL(/\/subscribe\?requested=webhook$/);
    await expect(page.getByTestId("subscribe-notice")).toContainText("A verification request is on its way");

    // The receiver got the verification request; it confirms by POSTing to confirm_url.
    let confirm = "";
    await expect(async () => {
      const messages = await (await request.get(`${receiver}/_sim/messages`)).json();
      const mine = messages.find((m: any) => m.path === new URL(hook).pathname);
      expect(mine, "the verification request arrived").toBeTruthy();
      confirm = mine.body.verification.confirm_url;
    }).toPass({ timeout: 20_000 });
    const url = new URL(confirm);
    const confirmed = await request.post(`${baseURL}${url.pathname}`, { maxRedirects: 0 });
    expect(confirmed.status()).toBe(303);

    // An admin sees it, active, and removes it (the address is shown to admins only).
    await page.goto("/login?next=/ops/subscribers");
    await page.getByLabel("Username").fill(user);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(/\/ops\/subscribers$/);
    const row = page.getByTestId("subscribers").locator("tr", { hasText: hook });
    await expect(row).toHaveAttribute("data-state", "active");
    await expect(row).toContainText("site");
    await row.getByTestId("remove-subscriber").click();
    await expect(page.getByTestId("subscribers").locator("tr", { hasText: hook })).toHaveCount(0);

    // The public page never shows it.
    await page.goto("/subscribe");
    await expect(page.locator("body")).not.toContainText(hook);
  });
});
