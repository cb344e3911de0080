/* Kindred: similar discussions under a new discussion's title, while it is typed.
 *
 * After a few characters and a pause (debounced), GET /api/v1/discussions/similar?title=
 * and show up to five discussions, with their reply counts and whether they were answered,
 * in the polite live region #similar-live under the title. Without this script the form's
 * "Preview" button shows the same list. Built with textContent only: no markup from titles.
 */
(function () {
  "use strict";
  var MIN_CHARS = 4;
  var WAIT_MS = 300;

  function plural(n, one, many) {
    return n.toLocaleString("en") + " " + (n === 1 ? one : many);
  }

  function render(box, found) {
    while (box.firstChild) {
      box.removeChild(box.firstChild);
    }
    if (!found.length) {
      return;
    }
    var section = document.createElement("section");
    section.className = "similar-discussions";
    section.setAttribute("aria-labelledby", "similar-heading");
    var heading = document.createElement("h2");
    heading.id = "similar-heading";
    heading.textContent = "Similar discussions";
    var hint = document.createElement("p");
    hint.className = "hint";
    hint.textContent = "Your question may already have an answer:";
    var list = document.createElement("ul");
    found.forEach(function (item) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = item.url;
      a.dir = "auto";
      a.textContent = item.title;
      var meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent =
        " in " + item.group_name + ", " + plural(item.reply_count, "reply", "replies") + ", " +
        (item.answered ? "answered" : "not answered yet");
      li.appendChild(a);
      li.appendChild(meta);
      list.appendChild(li);
    });
    section.appendChild(heading);
    section.appendChild(hint);
    section.appendChild(list);
    box.appendChild(section);
  }

  function start() {
    var input = document.getElementById("title");
    var box = document.getElementById("similar-live");
    if (!input || !box) {
      return;
    }
    var timer = null;
    var requestNo = 0;
    var last = "";
    input.addEventListener("input", function () {
      if (timer) {
        clearTimeout(timer);
      }
      timer = setTimeout(function () {
        var title = input.value.trim();
        if (title === last) {
          return;
        }
        last = title;
        if (title.length < MIN_CHARS) {
          render(box, []);
          return;
        }
        var mine = ++requestNo;
        fetch("/api/v1/discussions/similar?" + new URLSearchParams({ title: title }).toString(), {
          credentials: "same-origin",
          headers: { Accept: "application/json" }
        })
          .then(function (response) {
            return response.ok ? response.json() : [];
          })
          .then(function (found) {
            if (mine === requestNo) {
              render(box, found);
            }
          })
          .catch(function () {});
      }, WAIT_MS);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
