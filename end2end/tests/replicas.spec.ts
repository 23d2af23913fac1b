import { test, expect } from "@playwright/test";
import { ChildProcess, spawn } from "node:child_process";
import { BIN, DB, ROOT, incidentsToken } from "../support/vigil";

// Two more replicas of the server under test, on its database and with its configuration: three
// in all. A visitor's page on one of them follows a change made through another, and keeps
// following changes after that other replica is killed with SIGKILL.

function replica(port: number, name: string): ChildProcess {
  return spawn(BIN, ["--config", "end2end/vigil-e2e.toml", "serve"], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: DB,
      VIGIL_SERVER__ADDR: `127.0.0.1:${port}`,
      VIGIL_SERVER__SITE_ROOT: process.env.E2E_SITE_ROOT ?? "target/site-test",
      VIGIL_CLUSTER__REPLICA_NAME: name,
      VIGIL_LOG: "error",
    },
    stdio: "ignore",
  });
}

async function ready(port: number) {
  await expect(async () => {
    const r = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(r.status).toBe(200);
  }).toPass({ timeout: 30_000 });
}

test("a page on a surviving replica keeps following changes when another is killed", async ({ page }) => {
  test.setTimeout(90_000);
  const token = incidentsToken("replicas");
  const doomed = replica(3996, "e2e-doomed");
  const survivor = replica(3995, "e2e-survivor");
  try {
    await ready(3996);
    await ready(3995);
    const api = (port: number, method: string, url: string, body: object) =>
      fetch(`http://127.0.0.1:${port}${url}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });

    // A visitor on the survivor; the incident is opened through the other replica.
    await page.goto("http://127.0.0.1:3995/");
    await expect(page.locator("main.page")).toHaveAttribute("data-live", "live");
    const created = await api(3996, "POST", "/api/v1/incidents", {
      name: "Replicated outage",
      body: "Opened through another replica.",
    });
    expect(created.status).toBe(201);
    const id = (await created.json()).id;
    await expect(page.getByTestId("incident").filter({ hasText: "Replicated outage" })).toHaveCount(1, { timeout: 15_000 });

    // The replica it was opened through dies without a word.
    doomed.kill("SIGKILL");
    await new Promise((r) => doomed.once("exit", r));
    const updated = await api(3999, "POST", `/api/v1/incidents/${id}/updates`, {
      body: "Found it: one node under memory pressure.",
      status: "identified",
    });
    expect(updated.status).toBe(201);
    await expect(page.getByTestId("incident").filter({ hasText: "Found it: one node under memory pressure." })).toHaveCount(1, { timeout: 15_000 });
    const resolved = await api(3995, "POST", `/api/v1/incidents/${id}/updates`, {
      body: "Resolved.",
      status: "resolved",
    });
    expect(resolved.status).toBe(201);
    await expect(page.getByTestId("incident").filter({ hasText: "Replicated outage" })).toHaveCount(0, {
      timeout: 15_000,
    });
  } finally {
    doomed.kill("SIGKILL");
    survivor.kill("SIGTERM");
  }
});
