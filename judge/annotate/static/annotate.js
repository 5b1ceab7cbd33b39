// Keyboard shortcuts for the rating form. The form works without this file: it only moves
// focus, checks radio buttons and boxes, and shows a step's question that applies (`when:`),
// which a mouse or the Tab and arrow keys do as well (the server checks every answer).
"use strict";

// The case's images: a thumbnail opens the viewer; the arrow keys step through the images
// while it is open, Esc (the dialog's own) closes it. Without this file a thumbnail's link
// opens the image.
document.addEventListener("DOMContentLoaded", () => {
  const viewer = document.getElementById("viewer");
  if (!viewer) return;
  const thumbs = Array.from(document.querySelectorAll("a.thumb"));
  const image = document.getElementById("viewer-image");
  const caption = document.getElementById("viewer-caption");
  let shown = 0;
  const show = (i) => {
    shown = (i + thumbs.length) % thumbs.length;
    const thumb = thumbs[shown];
    image.src = thumb.href;
    image.alt = thumb.querySelector("img").alt;
    // textContent: a caption is data, never markup.
    caption.textContent = `${shown + 1} of ${thumbs.length} · ` +
      thumb.closest("li").querySelector(".caption").textContent.trim();
  };
  for (const [i, thumb] of thumbs.entries()) {
    thumb.addEventListener("click", (event) => {
      event.preventDefault();
      show(i);
      if (!viewer.open) viewer.showModal();
    });
  }
  document.getElementById("viewer-close").addEventListener("click", () => viewer.close());
  viewer.addEventListener("keydown", (event) => {
    if (event.key !== "ArrowRight" && event.key !== "ArrowLeft") return;
    event.preventDefault();
    event.stopPropagation();
    show(shown + (event.key === "ArrowRight" ? 1 : -1));
  });
});

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("rating");
  if (!form) return;
  const groups = Array.from(form.querySelectorAll("fieldset.criterion"));
  const visible = () => groups.filter((g) => !g.hidden);
  const multiple = (group) => group.classList.contains("multiple");

  const focusGroup = (group) => {
    const input = group.querySelector("input:checked") || group.querySelector("input");
    if (input) input.focus();
  };

  const current = () => {
    const active = document.activeElement;
    return active ? active.closest("fieldset.criterion") : null;
  };

  // A question asked only when other answers have given levels (`data-when`: [[name, value]]).
  const applyWhen = () => {
    for (const group of groups) {
      if (!group.dataset.when) continue;
      const met = JSON.parse(group.dataset.when).every(([name, value]) => {
        const checked = form.querySelector(`input[name="${CSS.escape(name)}"]:checked`);
        return checked !== null && checked.value === value;
      });
      group.hidden = !met;
      for (const input of group.querySelectorAll("input")) input.disabled = !met;
    }
  };

  const moveOn = (group) => {
    const shown = visible();
    const next = shown[shown.indexOf(group) + 1];
    if (next) {
      focusGroup(next);
    } else {
      document.getElementById("save-next").focus();
    }
  };

  applyWhen();
  // Start on the first question not answered yet.
  const first =
    visible().find((g) => !multiple(g) && !g.querySelector("input:checked")) || groups[0];
  if (first) focusGroup(first);

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const group = current();
    if (!group) return;
    if (multiple(group) && event.key === "Enter") {
      event.preventDefault();
      moveOn(group);
      return;
    }
    const input = group.querySelector(`input[data-key="${CSS.escape(event.key)}"]`);
    if (!input) return;
    event.preventDefault();
    if (multiple(group)) {
      // A box: tick or untick it and stay, since several may apply.
      input.checked = !input.checked;
      input.focus();
      group.classList.toggle("answered", group.querySelector("input:checked") !== null);
      return;
    }
    input.checked = true;
    group.classList.add("answered");
    applyWhen();
    moveOn(group);
  });

  form.addEventListener("change", (event) => {
    const group = event.target.closest("fieldset.criterion");
    if (group) group.classList.add("answered");
    applyWhen();
  });
});
