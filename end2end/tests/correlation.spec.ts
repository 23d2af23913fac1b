import { test, expect } from "@playwright/test";

const user = process.env.E2E_USER ?? "";
const password = process.env.E2E_PASSWORD ?? "";

// The seed scenario at 5x: node b's memory climbs ~20 s in, backends flap ~25-65 s in, and
// Prometheus is unreachable from ~36 s until ~84 s.
test("the correlation view stacks probes, backends and node graphs, and reads them at one instant", async ({ page }) => {
  test.setTimeout(150_000);
  await page.goto("/login?next=/ops");
  await page.getByLabel("Username").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/ops$/);

  // Wait for the lesson of the seed: node b's memory alert and "Prometheus not responding"
  // on the same axis as the flapping backends.
  await expect(async () => {
    await page.goto("/ops?range=1h");
    const events = page.getByTestId("events-table");
    await expect(events).toContainText("lke-node-b: Memory used above 90.0 %", { timeout: 1_000 });
    await expect(events).toContainText("Prometheus not responding", { timeout: 1_000 });
    await expect(events).toContainText("started flapping", { timeout: 1_000 });
  }).toPass({ timeout: 140_000, intervals: [3_000] });

  const stack = page.getByTestId("time-stack");
  await expect(stack.getByText("Load balancer")).toBeVisible();
  await expect(stack.getByTestId("stack-states").filter({ hasText: "lke-ingress :80 lke-node-b" })).toBeVisible();
  const memory = stack.getByTestId("stack-graph").filter({ hasText: "Memory used" });
  await expect(memory).toBeVisible();
  await expect(memory.locator("path.line")).toHaveCount(2);
  await expect(memory.locator("line.threshold")).toHaveCount(1);

  // After hydration the shared cursor reads every row at the pointer's instant.
  const hit = page.getByTestId("stack-hit");
  await expect(hit).toBeAttached();
  // Through the locator: the live view may swap in fresh data under the pointer at any moment.
  const width = await hit.evaluate((e) => e.getBoundingClientRect().width);
  await hit.hover({ position: { x: width * 0.98, y: 10 } });
  const readout = page.getByTestId("cursor-readout");
  await expect(readout).toContainText("UTC");
  await expect(readout).toContainText(/Memory used: .*lke-node-b \d+\.\d %/);
  await expect(readout).toContainText("lke-ingress :443 lke-node-a:");

  // The node page says which sources are fresh and graphs every metric.
  await page.goto("/ops/nodes?range=1h");
  await expect(page.getByTestId("sources-table")).toContainText("node_exporter:lke-node-b");
  await expect(page.getByTestId("nodes-table")).toContainText("lke-node-b");
  // Five node metrics and the Kubernetes requests ratio.
  await expect(page.getByTestId("time-stack").getByTestId("stack-graph")).toHaveCount(6);
});
