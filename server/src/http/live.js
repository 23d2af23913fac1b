// Vigil's public pages are complete as the server sends them; this is the only script they load.
// It keeps an open page current: it follows the live feed (server-sent events) and, when the
// status version moves past the one the page was rendered at, fetches the page again and swaps
// in its <main>. A page without JavaScript stays correct, only no longer moves by itself.
const main = document.querySelector("main.page");
if (main && "EventSource" in window) {
  let shown = Number(document.body.dataset.statusVersion);
  let busy = false;
  let again = false;

  const refresh = async () => {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      // no-cache: revalidate (a 304 costs a few hundred bytes), never reuse a stale copy.
      const res = await fetch(location.pathname, { cache: "no-cache", headers: { accept: "text/html" } });
      if (res.ok) {
        const doc = new DOMParser().parseFromString(await res.text(), "text/html");
        const fresh = doc.querySelector("main.page");
        if (fresh) {
          main.replaceChildren(...fresh.childNodes);
          document.title = doc.title;
          const version = Number(doc.body.dataset.statusVersion);
          if (version > shown) shown = version;
        }
      }
    } catch {
      // Offline for a moment: the next change tries again.
    }
    busy = false;
    if (again) {
      again = false;
      refresh();
    }
  };

  const feed = new EventSource("/events/live");
  feed.onmessage = (event) => {
    let version;
    try {
      version = JSON.parse(event.data).status_version;
    } catch {
      return;
    }
    main.dataset.live = "live";
    if (!(version <= shown)) {
      shown = version;
      refresh();
    }
  };
  feed.onerror = () => {
    main.dataset.live = "static";
  };
}
