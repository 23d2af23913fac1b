import { test, expect } from "@playwright/test";

const user = process.env.E2E_USER ?? "";
const password = process.env.E2E_PASSWORD ?? "";

// The evidence the seed team fetched by hand, on one screen and one time axis. The simulator
// plays the seed at 5x: node b's MemoryPressure ~20 s in, its backends flapping from ~36 s, the
// cluster re-posting the NodeBalancer's configuration at ~42 s, Linode's own incident at ~48 s.
test("the correlation view puts node pressure, flapping backends, a re-applied configuration and the provider's incident in time order", async ({ page }) => {
  test.setTimeout(150_000);
  await page.goto("/login?next=/ops");
  await page.getByLabel("Username").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/ops$/);

  const wanted = [
    "Kubernetes node lke-node-b memory pressure (True)",
    "started flapping",
    "configuration re-applied, no change",
    "Linode incident opened",
  ];
  let firsts: number[] = [];
  await expect(async () => {
    await page.goto("/ops?range=1h");
    const rows = await page.getByTestId("events-table").locator("tbody tr td:nth-child(3)").allTextContents();
    firsts = wanted.map((w) => rows.findIndex((r) => r.includes(w)));
    expect(firsts.every((i) => i >= 0), `seen so far: ${JSON.stringify(firsts)}`).toBe(true);
  }).toPass({ timeout: 140_000, intervals: [3_000] });
  // Oldest first: the cluster's pressure came before the flapping, the flapping before the
  // re-posted configuration, and Linode said so last.
  expect([...firsts].sort((a, b) => a - b)).toEqual(firsts);

  // Each is marked on the axis too, with its tone.
  const log = page.getByTestId("events-table");
  await expect(log.locator("tr.tone-bad").filter({ hasText: "memory pressure (True)" }).first()).toBeAttached();
  await expect(log.locator("tr.tone-bad").filter({ hasText: "Linode incident opened" }).first()).toBeAttached();

  // The node page shows the cluster's own account: node b over-scheduled, evicted pods gone.
  await page.goto("/ops/nodes?range=1h");
  const nodeB = page.getByTestId("k8s-node-lke-node-b");
  await expect(nodeB).toBeVisible();
  await expect(page.getByTestId("sources-table")).toContainText("kubernetes:lke");
});
