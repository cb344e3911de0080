// Health library enhancements; every page works without them.
// 1. The library's filter box narrows the A to Z list as you type.
// 2. Save buttons of signed-in members save through the API without leaving the page.
(function () {
  "use strict";

  var box = document.querySelector("[data-library-filter]");
  var list = document.getElementById("library-list");
  var count = document.getElementById("library-count");
  if (box && list) {
    box.addEventListener("input", function () {
      var wanted = box.value.trim().toLowerCase();
      var shown = 0;
      list.querySelectorAll(".library-item").forEach(function (item) {
        var hit = !wanted || (item.getAttribute("data-filter-text") || "").indexOf(wanted) !== -1;
        item.hidden = !hit;
        if (hit) shown += 1;
      });
      if (count) {
        count.textContent = shown + (shown === 1 ? " condition" : " conditions") +
          (wanted ? " matching \u201c" + box.value.trim() + "\u201d" : "");
      }
    });
  }

  document.querySelectorAll("form[data-save-form]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      var button = form.querySelector("button[type=submit]");
      var status = form.querySelector(".save-status");
      if (!button || !window.fetch) return;
      event.preventDefault();
      var data = new FormData(form);
      var body = { kind: data.get("kind") };
      if (data.get("slug")) body.slug = data.get("slug");
      if (data.get("discussion_id")) body.discussion_id = Number(data.get("discussion_id"));
      button.disabled = true;
      fetch("/api/v1/saved", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": data.get("csrf_token") },
        body: JSON.stringify(body)
      }).then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        button.textContent = "Saved";
        button.setAttribute("aria-disabled", "true");
        if (status) status.textContent = "Saved for later. Find it under Saved.";
      }).catch(function () {
        button.disabled = false;
        form.submit(); // fall back to the plain form
      });
    });
  });
})();
