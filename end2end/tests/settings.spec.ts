import { test, expect, type Page } from "@playwright/test";

const admin = process.env.E2E_USER ?? "";
const adminPassword = process.env.E2E_PASSWORD ?? "";
const editor = process.env.E2E_REVIEWER ?? "";
const editorPassword = process.env.E2E_REVIEWER_PASSWORD ?? "";

async function signIn(page: Page, user: string, password: string, next: string) {
  await page.goto(`/login?next=${next}`);
  await page.getByLabel("Username").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(new RegExp(`${next}$`));
}

// The world changed from the browser with plain HTML forms (JavaScript off), as a team adopting
// Vigil does it during an incident: no file to edit, no restart.
test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("an admin adds a component and a monitor, checks it, saves it, and restores the history", async ({ page, baseURL }) => {
    // Waits for a probe and the public cache inside: more than the default 30 s in all.
    test.setTimeout(120_000);
    await signIn(page, admin, adminPassword, "/ops/settings");
    const stamp = Date.now();
    const id = `docs-${stamp}`;
    const name = `Docs ${stamp}`;
    const monitor = `docs-home-${stamp}`;

    await page.getByText("Add a component").click();
    const add = page.getByTestId("new-component");
    await add.getByLabel("Id (in URLs and badges)").fill(id);
    await add.getByLabel("Name", { exact: true }).fill(name);
    await add.getByLabel("Group").fill("Documentation");
    await add.getByRole("button", { name: "Add component" }).click();
    await expect(page.getByTestId(`component-${id}`)).toContainText(name);

    await page.getByTestId("add-monitor").click();
    await expect(page).toHaveURL(/\/ops\/settings\/monitors\/new$/);
    const form = page.getByTestId("monitor-form");
    await form.getByLabel("Name", { exact: true }).fill(monitor);
    await form.getByLabel("Component", { exact: true }).selectOption(id);
    await form.getByLabel("URL", { exact: true }).fill(`${baseURL}/healthz`);
    await form.getByLabel("Every (seconds)").fill("5");
    // Checked from the server before it is saved; what was typed stays in the form.
    await page.getByTestId("check-now").click();
    await expect(page.getByTestId("check-result")).toContainText("Checked now: up");
    await expect(form.getByLabel("Name", { exact: true })).toHaveValue(monitor);
    await page.getByTestId("save-monitor").click();
    await expect(page).toHaveURL(/\/ops\/settings$/);
    await expect(page.getByTestId(`setting-monitor-${monitor}`)).toContainText(id);

    // Probed at once, and the component is on the public page.
    await expect(async () => {
      await page.goto("/ops/monitors");
      await expect(page.getByTestId(`monitor-${monitor}`)).toContainText("up");
    }).toPass({ timeout: 30_000 });
    await expect(async () => {
      await page.goto("/");
      await expect(page.locator("main")).toContainText(name);
    }).toPass({ timeout: 30_000 });

    // A change shows in the history field by field, and an earlier revision comes back.
    await page.goto("/ops/settings");
    const row = page.getByTestId(`component-${id}`);
    await row.getByText("Edit").click();
    await row.getByLabel("Description").fill("Product documentation");
    await row.getByRole("button", { name: "Save" }).click();
    await expect(page.getByTestId(`component-${id}`)).toContainText("Product documentation");
    await page.goto("/ops/settings/history");
    const newest = page.getByTestId("world-history").locator(":scope > li").first();
    await expect(newest).toContainText(`Changed component ${id}`);
    await expect(newest).toContainText("description");
    await expect(newest.locator("ins")).toHaveText("Product documentation");
    await expect(newest).toContainText(admin);
    const before = page.getByTestId("world-history").locator(":scope > li").nth(1);
    await before.getByRole("button", { name: /Restore revision/ }).click();
    await expect(page.getByTestId("world-history").locator(":scope > li").first()).toContainText("restore revision");
    await page.goto("/ops/settings");
    await expect(page.getByTestId(`component-${id}`)).not.toContainText("Product documentation");

    // Leave the world as it was found (the other specs count the page's components): the
    // monitor, then its component, deleted from the browser.
    await page.getByTestId(`setting-monitor-${monitor}`).getByRole("link", { name: monitor }).click();
    await page.getByTestId("delete-monitor").getByRole("button").click();
    await expect(page).toHaveURL(/\/ops\/settings$/);
    await expect(page.getByTestId(`setting-monitor-${monitor}`)).toHaveCount(0);
    await page.getByTestId(`component-${id}`).getByRole("button", { name: "Delete" }).click();
    await expect(page.getByTestId(`component-${id}`)).toHaveCount(0);
  });

  test("an editor reads the settings and gets no forms", async ({ page }) => {
    await signIn(page, editor, editorPassword, "/ops/settings");
    await expect(page.getByTestId("read-only")).toBeVisible();
    await expect(page.getByTestId("components-table")).toContainText("site");
    await expect(page.getByTestId("new-component")).toHaveCount(0);
    await expect(page.getByTestId("add-monitor")).toHaveCount(0);
    await page.getByTestId("setting-monitor-site-home").getByRole("link", { name: "site-home" }).click();
    const form = page.getByTestId("monitor-form");
    await expect(form.getByLabel("Name", { exact: true })).toBeDisabled();
    await expect(page.getByTestId("save-monitor")).toHaveCount(0);
    // The file's objects say where they are managed.
    await expect(page.getByTestId("managed")).toContainText("vigil-e2e.toml");
  });
});

// The page's settings, channels and sources: the same forms, without JavaScript, changed live.
test.describe("page, channels and sources without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("an admin words the public page and adds, edits and deletes a channel", async ({ page }) => {
    test.setTimeout(90_000);
    await signIn(page, admin, adminPassword, "/ops/settings");
    const stamp = Date.now();
    const form = page.getByTestId("page-settings");
    // The title stays the one every other test expects; the sentence and the link are new.
    await form.getByLabel("Title").fill("Vigil");
    await form.getByLabel("Description").fill(`Our <services>, ${stamp}`);
    await form.getByLabel(/Links/).fill("Support | https://example.com/support");
    await form.getByRole("button", { name: "Save the page" }).click();
    await expect(page.getByTestId("page-settings").getByLabel("Description")).toHaveValue(`Our <services>, ${stamp}`);
    await expect(async () => {
      await page.goto("/");
      await expect(page.getByTestId("page-description")).toHaveText(`Our <services>, ${stamp}`);
      await expect(page.getByTestId("owner-link")).toHaveAttribute("href", "https://example.com/support");
    }).toPass({ timeout: 30_000 });

    // A channel written as its TOML section; its webhook URL is shown as a secret afterwards.
    const channel = `ops-${stamp}`;
    await page.goto("/ops/settings");
    await page.getByText("Add to notification channels").click();
    const add = page.getByTestId("new-channel");
    await add.getByLabel(/Settings \(TOML/).fill(
      `name = "${channel}"\nkind = "webhook"\nurl = "http://127.0.0.1:9/hook-${stamp}"\nevents = ["incident.*"]`,
    );
    await add.getByRole("button", { name: "Add" }).click();
    const row = page.getByTestId(`setting-channel-${channel}`);
    await expect(row).toBeVisible();
    await row.locator("summary").click();
    await expect(row.locator("textarea")).toContainText("(secret)");
    await expect(row.locator("textarea")).not.toContainText(`hook-${stamp}`);

    // A mistake is named with its field, and nothing is lost.
    await row.locator("textarea").fill(`name = "${channel}"\nkind = "pager"\nurl = "(secret)"`);
    await row.getByRole("button", { name: "Save" }).click();
    await expect(page.getByTestId("settings-error")).toContainText(`channel \`${channel}\``);
    await page.goto("/ops/settings/history");
    await expect(page.getByTestId("world-history").locator(":scope > li").first()).toContainText(channel);

    await page.goto("/ops/settings");
    const again = page.getByTestId(`setting-channel-${channel}`);
    await again.locator("summary").click();
    await again.getByRole("button", { name: "Delete" }).click();
    await expect(page.getByTestId(`setting-channel-${channel}`)).toHaveCount(0);
  });

  test("an editor sees the page's settings read-only", async ({ page }) => {
    await signIn(page, editor, editorPassword, "/ops/settings");
    await expect(page.getByTestId("page-settings").getByLabel("Title")).toBeDisabled();
    await expect(page.getByTestId("new-channel")).toHaveCount(0);
  });
});
