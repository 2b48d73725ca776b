// The watchlists refresh themselves every minute (hx-trigger="every 60s" on #watchlists), except
// while the user is in one of their forms (renaming, adding a symbol). htmx would evaluate a
// trigger filter with eval, which the Content-Security-Policy refuses, so the check lives here:
// cancelling htmx:confirm skips that refresh.
document.addEventListener("htmx:confirm", (event) => {
  const focused = document.activeElement;
  if (event.detail.elt.id === "watchlists" && focused && focused.closest("#watchlists form")) {
    event.preventDefault();
  }
});
