// Keyboard shortcuts for the rating form. The form works without this file: it only moves
// focus and checks radio buttons, which a mouse or the Tab and arrow keys do as well.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("rating");
  if (!form) return;
  const groups = Array.from(form.querySelectorAll("fieldset.criterion"));

  const focusGroup = (group) => {
    const input = group.querySelector("input:checked") || group.querySelector("input");
    if (input) input.focus();
  };

  const current = () => {
    const active = document.activeElement;
    return active ? active.closest("fieldset.criterion") : null;
  };

  // Start on the first criterion not answered yet.
  const first = groups.find((g) => !g.querySelector("input:checked")) || groups[0];
  if (first) focusGroup(first);

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const group = current();
    if (!group) return;
    const input = group.querySelector(`input[data-key="${CSS.escape(event.key)}"]`);
    if (!input) return;
    event.preventDefault();
    input.checked = true;
    group.classList.add("answered");
    const next = groups[groups.indexOf(group) + 1];
    if (next) {
      focusGroup(next);
    } else {
      document.getElementById("save-next").focus();
    }
  });

  form.addEventListener("change", (event) => {
    const group = event.target.closest("fieldset.criterion");
    if (group) group.classList.add("answered");
  });
});
