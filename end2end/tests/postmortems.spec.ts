import { test, expect, Page } from "@playwright/test";

const author = { user: process.env.E2E_USER ?? "", password: process.env.E2E_PASSWORD ?? "" };
// An editor who reviews what the author writes.
const reviewer = { user: process.env.E2E_REVIEWER ?? "", password: process.env.E2E_REVIEWER_PASSWORD ?? "" };

async function signIn(page: Page, next: string, who = author) {
  await page.goto(`/login?next=${next}`);
  await page.getByLabel("Username").fill(who.user);
  await page.getByLabel("Password").fill(who.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(new RegExp(`${next.replace(/\//g, "\\/")}$`));
}

/// Opens and resolves an incident; returns its ops URL.
async function resolvedIncident(page: Page, title: string): Promise<string> {
  await page.goto("/ops/incidents");
  const form = page.getByTestId("new-incident");
  await form.getByLabel("Title").fill(title);
  await form.getByLabel("Website").check();
  await form.getByLabel("First update (public)").fill("The NodeBalancer marks both backends DOWN.");
  await form.getByRole("button", { name: "Open incident" }).click();
  await expect(page).toHaveURL(/\/ops\/incidents\/\d+$/);
  const post = page.getByTestId("post-update");
  await post.getByLabel("Update").fill("Node drained; the sites are back.");
  await post.getByLabel("New status").selectOption("resolved");
  await post.getByRole("button", { name: "Post" }).click();
  await expect(page.getByTestId("incident-status")).toHaveText("Resolved");
  return page.url();
}

// The whole loop with JavaScript off: Vigil drafts, a person writes and publishes, the public
// reads it.
test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("an editor drafts, writes and publishes a post-mortem with plain forms", async ({ page, context }) => {
    await signIn(page, "/ops/incidents");
    const title = `Ingress flapped ${Date.now()}`;
    await resolvedIncident(page, title);

    await page.getByTestId("draft-postmortem").getByRole("button").click();
    await expect(page).toHaveURL(/\/ops\/postmortems\/\d+$/);
    const editorUrl = page.url();
    const id = editorUrl.split("/").pop();
    await expect(page.getByTestId("pm-title")).toHaveText(`Post-mortem: ${title}`);
    await expect(page.getByTestId("pm-review-state")).toHaveText("Draft");
    // Vigil's draft: the seed team's headings, filled with what it recorded.
    const preview = page.getByTestId("pm-preview");
    for (const h of ["Leadup", "Impact", "Detection", "Five Whys", "Follow-up tasks", "Timeline"]) {
      await expect(preview.getByRole("heading", { name: h, exact: true })).toBeVisible();
    }
    await expect(preview).toContainText("The NodeBalancer marks both backends DOWN.");
    await expect(page.getByTestId("snapshot").first()).toBeVisible();

    const editor = page.getByTestId("pm-editor");
    const body = editor.getByLabel("Post-mortem (Markdown)");
    const draft = await body.inputValue();
    await body.fill(
      draft.replace("## Lessons learned\n", "## Lessons learned\n\nKeep Grafana off the ingress it watches.\n"),
    );
    await editor.getByRole("button", { name: "Save revision" }).click();
    await expect(page).toHaveURL(editorUrl);
    await expect(preview).toContainText("Keep Grafana off the ingress it watches.");
    await expect(page.getByTestId("pm-revisions").locator("tbody tr")).toHaveCount(2);

    // Somebody else saves meanwhile; this page's next save is kept aside, and it says so.
    const other = await context.newPage();
    await other.goto(editorUrl);
    const otherBody = other.getByTestId("pm-editor").getByLabel("Post-mortem (Markdown)");
    await otherBody.fill((await otherBody.inputValue()) + "\nA colleague's addition.\n");
    await other.getByTestId("pm-editor").getByRole("button", { name: "Save revision" }).click();
    await expect(other.getByTestId("pm-preview")).toContainText("A colleague's addition.");
    await body.fill("Written from a stale page.\n");
    await editor.getByRole("button", { name: "Save revision" }).click();
    await expect(page.getByTestId("pm-error")).toContainText("kept as revision 4");
    await expect(page.getByTestId("pm-preview")).toContainText("A colleague's addition.");

    // Publishing waits for a review: ask the reviewer, who comments and approves — all plain forms.
    await expect(page.getByTestId("pm-publish").getByRole("button", { name: "Publish" })).toBeDisabled();
    await expect(page.getByTestId("pm-waiting")).toContainText("request a review");
    const ask = page.getByTestId("pm-request-review");
    await ask.getByLabel("Reviewers").fill(reviewer.user);
    await ask.getByRole("button", { name: "Request review" }).click();
    await expect(page.getByTestId("pm-review-state")).toHaveText("In review");
    const browser = context.browser()!;
    const theirs = await browser.newContext({ javaScriptEnabled: false, baseURL: new URL(editorUrl).origin });
    const rp = await theirs.newPage();
    await signIn(rp, `/ops/postmortems/${id}`, reviewer);
    const comment = rp.getByTestId("pm-comment");
    await comment.getByLabel("Section").selectOption("Lessons learned");
    await comment.getByLabel("Comment").fill("Also: alert from outside the cluster.");
    await comment.getByRole("button", { name: "Comment" }).click();
    await expect(rp.getByTestId("pm-thread")).toContainText("Also: alert from outside the cluster.");
    await rp.getByTestId("pm-approve").getByRole("button").click();
    await expect(rp.getByTestId("pm-review-state")).toHaveText("Approved");
    await theirs.close();
    await page.reload();
    await expect(page.getByTestId("pm-thread")).toHaveAttribute("data-section", "Lessons learned");
    await page.getByTestId("pm-thread").getByRole("button", { name: "Resolve" }).click();
    await expect(page.getByTestId("pm-thread")).toContainText("resolved by user:e2e-admin");
    await page.getByTestId("pm-publish").getByRole("button", { name: "Publish" }).click();
    await expect(page.getByTestId("pm-review-state")).toHaveText("Published");
    // The review is in the history beside the saves.
    await expect(page.locator('[data-testid="pm-revisions"] tr[data-action="approved"]')).toHaveCount(1);
    const amend = page.getByTestId("pm-amend");
    await page.getByText("Amend the published post-mortem").click();
    await amend.getByLabel("Update (goes on top, dated today)").fill("Grafana now has its own ingress.");
    await amend.getByRole("button", { name: "Add update" }).click();
    await expect(preview).toContainText("Grafana now has its own ingress.");

    // Graphs are private until their author shows them, then without addresses.
    await page.goto(`/postmortems/${id}`);
    await expect(page.getByTestId("pm-body")).toContainText("Keep Grafana off the ingress it watches.");
    await expect(page.getByTestId("snapshot")).toHaveCount(0);
    await page.goto(editorUrl);
    await expect(page.getByTestId("snapshot-visibility").first()).toHaveText("Private: not on the public post-mortem");
    await page.getByRole("button", { name: "Show publicly without addresses" }).first().click();
    await expect(page.getByTestId("snapshot-visibility").first()).toHaveText("Public, with addresses left out");
    await page.goto(`/postmortems/${id}`);
    await expect(page.getByTestId("snapshot").first()).toBeVisible();
    await page.goto("/history");
    await expect(page.getByRole("link", { name: "Read the post-mortem" }).first()).toBeVisible();
  });
});

// Two people edit the same revision; the second save does not overwrite the first and its text
// is kept where its author can find it.
test("a conflicting save is kept as its own revision, not lost", async ({ page, context }) => {
  const a = page;
  const panics: string[] = [];
  context.on("console", (m) => {
    if (m.type() === "error" && m.text().includes("panicked")) panics.push(m.text());
  });
  context.on("weberror", (e) => panics.push(String(e.error())));
  await signIn(a, "/ops/incidents");
  await resolvedIncident(a, `Grafana dark ${Date.now()}`);
  await a.getByTestId("draft-postmortem").getByRole("button").click();
  await expect(a).toHaveURL(/\/ops\/postmortems\/\d+$/);
  const editorUrl = a.url();

  const b = await context.newPage();
  await b.goto(editorUrl);
  // Both pages hydrated: their saves go through the server function, not a plain form post.
  for (const p of [a, b]) {
    await expect(p.getByTestId("pm-editor").getByLabel("Post-mortem (Markdown)")).toHaveAttribute("data-kept", "browser");
  }

  await a.getByTestId("pm-editor").getByLabel("Post-mortem (Markdown)").fill("## Leadup\n\nA's version.\n");
  await a.getByTestId("pm-editor").getByRole("button", { name: "Save revision" }).click();
  await expect(a.getByTestId("pm-preview")).toContainText("A's version.");

  await b.getByTestId("pm-editor").getByLabel("Post-mortem (Markdown)").fill("## Leadup\n\nB's version.\n");
  await b.getByTestId("pm-editor").getByRole("button", { name: "Save revision" }).click();
  await expect(b.getByTestId("pm-error")).toContainText("kept as revision 3");

  await b.goto(editorUrl);
  await expect(b.getByTestId("pm-preview")).toContainText("A's version.");
  await expect(b.getByTestId("pm-conflicts")).toBeVisible();
  await b.getByTestId("pm-revisions").getByRole("link", { name: "3", exact: true }).click();
  await expect(b.getByTestId("pm-diff")).toContainText("B's version.");

  // Text typed and never saved survives a reload (or a closed tab) in this browser.
  await b.goto(editorUrl);
  const body = b.getByTestId("pm-editor").getByLabel("Post-mortem (Markdown)");
  await expect(b.getByTestId("pm-unsaved")).toHaveCount(0);
  await expect(body).toHaveAttribute("data-kept", "browser");
  await body.fill("## Leadup\n\nHalf-written, never saved.\n");
  await b.reload();
  await expect(b.getByTestId("pm-unsaved")).toBeVisible();
  await expect(body).toHaveValue("## Leadup\n\nA's version.\n");
  await b.getByRole("button", { name: "Put my unsaved text back" }).click();
  await expect(body).toHaveValue("## Leadup\n\nHalf-written, never saved.\n");
  expect(panics).toEqual([]);
});

// The editor with JavaScript: the preview follows typing, the outline jumps, a snapshot goes
// where the text refers to it; the reviewer's open editor is announced; a review round; export
// and print.
test("a review round in the live editor, then export and print", async ({ page, browser }) => {
  // Two people, a whole review round: longer than one page's worth of steps.
  test.setTimeout(120_000);
  const panics: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" && m.text().includes("panicked")) panics.push(m.text());
  });
  await signIn(page, "/ops/incidents");
  await resolvedIncident(page, `Nodes under pressure ${Date.now()}`);
  await page.getByTestId("draft-postmortem").getByRole("button").click();
  await expect(page).toHaveURL(/\/ops\/postmortems\/\d+$/);
  const editorUrl = page.url();
  const id = editorUrl.split("/").pop();
  const body = page.getByTestId("pm-editor").getByLabel("Post-mortem (Markdown)");
  await expect(body).toHaveAttribute("data-kept", "browser");
  const preview = page.getByTestId("pm-preview");

  // Side by side, and the preview renders what is typed before any save.
  const [eb, pb] = [await body.boundingBox(), await preview.boundingBox()];
  expect(pb!.x).toBeGreaterThan(eb!.x + eb!.width - 1);
  await body.press("Control+End");
  await body.pressSequentially("\n## Appendix\n\nTyped, *not saved*.\n<script>window.bad=1</script>\n");
  await expect(preview.locator("em", { hasText: "not saved" })).toBeVisible();
  await expect(preview.getByRole("heading", { name: "Appendix" })).toBeVisible();
  expect(await page.evaluate(() => (window as any).bad)).toBeUndefined();
  await expect(page.getByTestId("pm-outline").getByRole("link", { name: "Appendix" })).toBeVisible();
  // The outline puts the cursor on the heading's line.
  await page.getByTestId("pm-outline").getByRole("link", { name: "Five Whys" }).click();
  const caretLine = await body.evaluate((el: HTMLTextAreaElement) =>
    el.value.slice(el.selectionStart).split("\n")[0]);
  expect(caretLine).toBe("## Five Whys");

  // A snapshot put at the cursor shows in place in the preview.
  await page.getByTestId("pm-outline").getByRole("link", { name: "Impact" }).click();
  await page.getByRole("button", { name: "Insert at the cursor" }).first().click();
  await expect(body).toHaveValue(/\{\{snapshot:\d+\}\}\n\n## Impact/);
  await expect(preview.getByTestId("snapshot")).toHaveCount(1);
  await page.getByTestId("pm-editor").getByRole("button", { name: "Save revision" }).click();
  await expect(page.getByTestId("pm-revisions").locator('tr[data-kind="saved"]')).toHaveCount(1);

  const ask = page.getByTestId("pm-request-review");
  await ask.getByLabel("Reviewers").fill(reviewer.user);
  await ask.getByRole("button", { name: "Request review" }).click();
  await expect(page.getByTestId("pm-review-state")).toHaveText("In review");

  // The reviewer opens it: the author's editor says so.
  const theirs = await browser.newContext({ baseURL: new URL(editorUrl).origin });
  const rp = await theirs.newPage();
  await signIn(rp, `/ops/postmortems/${id}`, reviewer);
  await expect(page.getByTestId("pm-presence")).toContainText(`user:${reviewer.user}`, { timeout: 20_000 });
  await expect(rp.getByTestId("pm-presence")).toContainText(`user:${author.user}`, { timeout: 20_000 });

  const comment = rp.getByTestId("pm-comment");
  await comment.getByLabel("Section").selectOption("Impact");
  await comment.getByLabel("Comment").fill("How many minutes were the sites dark?");
  await comment.getByRole("button", { name: "Comment" }).click();
  await expect(rp.getByTestId("pm-thread")).toContainText("How many minutes");
  await rp.getByTestId("pm-approve").getByRole("button").click();
  await expect(rp.getByTestId("pm-review-state")).toHaveText("Approved");

  // The author answers and changes the text: the approval is asked again, for what changed.
  await page.reload();
  const thread = page.getByTestId("pm-thread");
  await thread.getByPlaceholder("Reply").fill("47 minutes; added under Impact.");
  await thread.getByRole("button", { name: "Reply" }).click();
  await expect(thread).toContainText("47 minutes; added under Impact.");
  await body.press("Control+End");
  await body.pressSequentially("\nThe sites were dark for 47 minutes.\n");
  await page.getByTestId("pm-editor").getByRole("button", { name: "Save revision" }).click();
  await expect(page.getByTestId("pm-review-state")).toHaveText("In review");
  await expect(page.getByTestId("pm-publish").getByRole("button", { name: "Publish" })).toBeDisabled();
  await rp.reload();
  await expect(rp.getByTestId("pm-reviewers")).toContainText("asked again for what changed");
  await rp.getByRole("link", { name: /What changed since revision/ }).click();
  await expect(rp.getByTestId("pm-diff").locator(".diff-add")).toContainText(["The sites were dark for 47 minutes."]);
  await rp.goto(`/ops/postmortems/${id}`);
  await rp.getByTestId("pm-approve").getByRole("button", { name: /Approve the changes/ }).click();
  await expect(rp.getByTestId("pm-review-state")).toHaveText("Approved");
  await theirs.close();

  await page.reload();
  await page.getByTestId("pm-thread").getByRole("button", { name: "Resolve" }).click();
  await expect(page.getByTestId("pm-thread")).toContainText("resolved by");
  await page.getByTestId("pm-publish").getByRole("button", { name: "Publish" }).click();
  await expect(page.getByTestId("pm-review-state")).toHaveText("Published");

  // Export: Markdown and SVG, zipped.
  const href = await page.getByTestId("pm-export").getAttribute("href");
  const zip = await page.request.get(href!);
  expect(zip.status()).toBe(200);
  expect(zip.headers()["content-type"]).toBe("application/zip");
  expect((await zip.body()).subarray(0, 2).toString()).toBe("PK");

  // Print: the document alone.
  await page.emulateMedia({ media: "print" });
  await expect(page.locator(".ops-nav")).toBeHidden();
  await expect(page.getByTestId("pm-editor")).toBeHidden();
  await expect(page.getByTestId("pm-review")).toBeHidden();
  await expect(preview).toBeVisible();
  await expect(preview).toContainText("The sites were dark for 47 minutes.");
  await page.emulateMedia({ media: "screen" });
  expect(panics).toEqual([]);
});
