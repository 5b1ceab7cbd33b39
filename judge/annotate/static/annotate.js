// Keyboard shortcuts for the rating form. The form works without this file: it only moves
// focus, checks radio buttons and boxes, and shows a step's question that applies (`when:`),
// which a mouse or the Tab and arrow keys do as well (the server checks every answer).
"use strict";

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
