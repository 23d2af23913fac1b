import { test, expect, type Page } from "@playwright/test";

const admin = process.env.E2E_USER ?? "";
const adminPassword = process.env.E2E_PASSWORD ?? "";

async function signIn(page: Page, next: string) {
  await page.goto(`/login?next=${next}`);
  await page.getByLabel("Username").fill(admin);
  await page.getByLabel("Password").fill(adminPassword);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(new RegExp(`${next}$`));
}

// The seed incident, played by the simulator five times faster: a component served through the
// NodeBalancer fails when lke-node-b's backends flap, and while its incident is open the ops page
// explains it — the balancer, the flapping backends, the node under memory pressure.
test("an open incident's page shows the chain of causes from Vigil's evidence", async ({ page }) => {
  // The simulator's pass lasts three minutes; the outage comes once per pass.
  test.setTimeout(420_000);
  await signIn(page, "/ops/settings");
  const stamp = Date.now();
  const id = `shop-${stamp}`;
  const name = `Shop ${stamp}`;
  const monitor = `shop-home-${stamp}`;

  await page.getByText("Add a component").click();
  const add = page.getByTestId("new-component");
  await add.getByLabel("Id (in URLs and badges)").fill(id);
  await add.getByLabel("Name", { exact: true }).fill(name);
  await add.getByRole("button", { name: "Add component" }).click();
  await expect(page.getByTestId(`component-${id}`)).toContainText(name);

  await page.getByTestId("add-monitor").click();
  const form = page.getByTestId("monitor-form");
  await form.getByLabel("Name", { exact: true }).fill(monitor);
  await form.getByLabel("Component", { exact: true }).selectOption(id);
  // The simulator's public site, behind the NodeBalancer.
  await form.getByLabel("URL", { exact: true }).fill("http://127.0.0.1:4201/");
  await form.getByLabel("Every (seconds)").fill("1");
  await form.getByLabel("Served through (load balancer ports)").fill("lke-ingress");
  await page.getByTestId("save-monitor").click();
  await expect(page).toHaveURL(/\/ops\/settings$/);

  try {
    // Vigil opens an incident naming the component when the scenario's outage comes.
    let incidentPath = "";
    await expect(async () => {
      await page.goto("/ops/incidents");
      const row = page.getByTestId("incidents-table").locator("tr", { hasText: name }).first();
      await expect(row).toContainText("Investigating", { timeout: 1000 });
      incidentPath = (await row.getByRole("link").getAttribute("href")) ?? "";
    }).toPass({ timeout: 240_000, intervals: [2000] });

    await page.goto(incidentPath);
    const causes = page.getByTestId("causes");
    const best = causes.getByTestId("best-chain");
    await expect(async () => {
      await page.reload();
      await expect(best).toContainText("lke-node-b memory pressure", { timeout: 2000 });
    }).toPass({ timeout: 60_000, intervals: [3000] });
    const links = best.getByTestId("cause-link");
    await expect(links.nth(1)).toContainText("the load balancer lke-ingress had no backend steadily up");
    // Polled every 5 s, a backend's short UP may be missed: flapping, or at least down.
    await expect(links.nth(2)).toContainText(/backends on lke-node-b were (flapping|down)/);
    await expect(links.nth(3)).toContainText("lke-node-b memory pressure");
    await expect(links.nth(3)).toContainText("precedes, on the path");
    // Each link opens onto the events it cites.
    await links.nth(3).getByText(/Evidence \(\d+\)/).click();
    await expect(links.nth(3)).toContainText("MemoryPressure");
    await expect(causes.getByTestId("causes-summary")).toContainText("Vigil's evidence points to lke-node-b");
  } finally {
    // Leave the world as it was: the monitor deleted first (so no new incident opens), then every
    // incident naming the component resolved, then the component deleted.
    await page.goto("/ops/settings");
    await page.getByTestId(`setting-monitor-${monitor}`).getByRole("link", { name: monitor }).click();
    await page.getByTestId("delete-monitor").getByRole("button").click();
    await expect(page).toHaveURL(/\/ops\/settings$/);
    await expect(async () => {
      await page.goto("/ops/incidents");
      const open = page
        .getByTestId("incidents-table")
        .locator("tr", { hasText: name })
        .filter({ hasNotText: "Resolved" });
      const count = await open.count();
      if (count > 0) {
        await open.first().getByRole("link").click();
        const post = page.getByTestId("post-update");
        await post.getByLabel("Update").fill("Drained lke-node-b.");
        await post.getByLabel("New status").selectOption("resolved");
        await post.getByRole("button", { name: "Post" }).click();
        await expect(page.getByTestId("incident-status")).toHaveText("Resolved");
      }
      expect(count).toBe(0);
    }).toPass({ timeout: 60_000 });
    await page.goto("/ops/settings");
    await page.getByTestId(`component-${id}`).getByRole("button", { name: "Delete" }).click();
    await expect(page.getByTestId(`component-${id}`)).toHaveCount(0);
  }
});
