import { test, expect } from "@playwright/test";

const user = process.env.E2E_USER ?? "";
const password = process.env.E2E_PASSWORD ?? "";

// An editor runs an incident with plain HTML forms (JavaScript off): open it, leave an internal
// note, resolve it. The public page shows the updates and never the note.
test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("an editor opens, annotates and resolves an incident with plain forms", async ({ page }) => {
    await page.goto("/login?next=/ops/incidents");
    await page.getByLabel("Username").fill(user);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(/\/ops\/incidents$/);

    const title = `Ingress flapping ${Date.now()}`;
    const form = page.getByTestId("new-incident");
    await form.getByLabel("Title").fill(title);
    await form.getByLabel("Impact").selectOption("major");
    await form.getByLabel("Website").check();
    await form.getByLabel("First update (public)").fill("Both NodeBalancer backends are flapping; we are looking.");
    await form.getByRole("button", { name: "Open incident" }).click();
    await expect(page).toHaveURL(/\/ops\/incidents\/\d+$/);
    await expect(page.getByTestId("incident-title")).toHaveText(title);
    const id = page.url().split("/").pop();

    const post = page.getByTestId("post-update");
    await post.getByLabel("Update").fill("secret: node b is swapping, drain it");
    await post.getByLabel("Internal note (never public)").check();
    await post.getByRole("button", { name: "Post" }).click();
    await expect(page.getByTestId("timeline")).toContainText("Internal note");

    await post.getByLabel("Update").fill("Node b drained; the sites are back.");
    await post.getByLabel("New status").selectOption("resolved");
    await post.getByRole("button", { name: "Post" }).click();
    await expect(page.getByTestId("incident-status")).toHaveText("Resolved");

    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`/incidents/${id}`);
    await expect(page.getByTestId("incident")).toContainText("Node b drained");
    await expect(page.getByTestId("incident")).not.toContainText("swapping");
    // Its own page says all of it: the impact in words, when, for how long, each component now.
    await expect(page.getByTestId("incident-impact")).toHaveText("Major");
    await expect(page.getByTestId("incident-facts")).toContainText("Resolved");
    await expect(page.getByTestId("incident-duration")).not.toBeEmpty();
    await expect(page.getByTestId("affected-components")).toContainText("Website");
    await expect(page.getByTestId("affected-components")).toContainText("Operational");
    // On a phone too, a visitor finds the way back to the status page from the incident.
    await page.getByTestId("back-to-status").click();
    await expect(page).toHaveURL(/\/$/);
    await page.setViewportSize({ width: 1280, height: 720 });
    await page.goto("/history");
    await expect(page.locator("main")).toContainText(title);
  });
});

test("an open incident shows on the status page and the correlation link keeps its window", async ({ page, browser, baseURL }) => {
  // A panic in the browser leaves the page server-rendered and quietly dead; count them.
  const panics: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" && m.text().includes("panicked")) panics.push(m.text());
  });
  page.on("pageerror", (e) => panics.push(String(e)));
  await page.goto("/login?next=/ops/incidents");
  await page.getByLabel("Username").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/ops\/incidents$/);
  const title = `Grafana unreachable ${Date.now()}`;
  const form = page.getByTestId("new-incident");
  await form.getByLabel("Title").fill(title);
  await form.getByLabel("Website").check();
  await form.getByLabel("First update (public)").fill("Grafana sits behind the same ingress.");
  await form.getByRole("button", { name: "Open incident" }).click();
  await expect(page).toHaveURL(/\/ops\/incidents\/\d+$/);
  const incidentUrl = page.url();

  await page.getByTestId("correlate").click();
  await expect(page).toHaveURL(/\/ops\?from=.*&to=/);
  await expect(page.getByTestId("time-stack")).toBeVisible();

  await page.goto("/");
  await expect(page.getByTestId("active-incidents")).toContainText(title);
  await expect(page.getByTestId("active-incidents")).toContainText("Grafana sits behind the same ingress.");

  // A visitor keeps the public incident page open: it follows the operators' updates by itself.
  const visitorContext = await browser.newContext({ baseURL });
  const visitor = await visitorContext.newPage();
  await visitor.goto(`/incidents/${incidentUrl.split("/").pop()}`);
  await expect(visitor.locator("main.page")).toHaveAttribute("data-live", "live");
  await expect(visitor.getByTestId("incident")).not.toContainText("Resolved.");

  // Resolve it (with JavaScript this time) so the page is all clear for the other tests.
  await page.goto(incidentUrl);
  const post = page.getByTestId("post-update");
  await post.getByLabel("Update").fill("Resolved.");
  await post.getByLabel("New status").selectOption("resolved");
  await post.getByRole("button", { name: "Post" }).click();
  await expect(page.getByTestId("incident-status")).toHaveText("Resolved");
  // No reload on the visitor's side.
  await expect(visitor.getByTestId("incident")).toContainText("Resolved.");
  await visitorContext.close();
  await page.goto("/");
  await expect(page.getByTestId("active-incidents")).not.toContainText(title);
  // Hydrated (or dead): either way the panics of every page visited are in by now.
  await expect(page.locator("main.page")).toHaveAttribute("data-live", /live|static/);
  await page.waitForTimeout(500);
  expect(panics).toEqual([]);
});
