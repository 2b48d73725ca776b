// The symbol box's suggestions (templates/analysis/symbol_search.html#results, swapped in by
// htmx under an input with data-suggestions="<id of the list's container>"): ArrowDown/ArrowUp
// move through them, Enter opens the highlighted one, Escape closes the list. Without a
// highlighted suggestion Enter submits the form as before.
(function () {
  "use strict";

  function optionLinks(box) {
    return Array.from(box.querySelectorAll('[role="option"] a'));
  }

  function highlight(input, links, index) {
    links.forEach((link, i) => {
      link.parentElement.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    const option = links[index].parentElement;
    input.setAttribute("aria-activedescendant", option.id);
    option.scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("keydown", (event) => {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || !input.dataset.suggestions) return;
    const box = document.getElementById(input.dataset.suggestions);
    if (!box) return;
    const links = optionLinks(box);
    const current = links.findIndex(
      (link) => link.parentElement.getAttribute("aria-selected") === "true"
    );
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!links.length) return;
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      const next =
        current < 0
          ? step > 0 ? 0 : links.length - 1
          : (current + step + links.length) % links.length;
      highlight(input, links, next);
    } else if (event.key === "Enter" && current >= 0) {
      event.preventDefault();
      // A click, not a navigation: the Radar opens the stock in place (static/js/radar.js).
      links[current].click();
    } else if (event.key === "Escape" && links.length) {
      box.replaceChildren();
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }
  });

  // A fresh list (typing swaps it) starts with nothing highlighted.
  document.addEventListener("htmx:afterSwap", (event) => {
    const box = event.detail.target;
    const input = box && box.id && document.querySelector(`[data-suggestions="${box.id}"]`);
    if (!input) return;
    input.removeAttribute("aria-activedescendant");
    input.setAttribute("aria-expanded", optionLinks(box).length ? "true" : "false");
  });
})();
