/* Kindred: the canned-response picker in the reply box (mentors and moderators).
 *
 * The server renders a plain fallback inside every [data-canned-picker]: on the reply page a
 * GET form (?canned=ID) that fills the textarea, on the discussion page a link to the reply
 * page. This script replaces it with a searchable list:
 *
 *   search box  -> the list updates (titles, categories and text, via the JSON API)
 *   list        -> a native <select size>: arrow keys move, Enter or "Insert" inserts
 *   insert      -> POST /api/v1/canned-responses/{id}/render for this discussion and the
 *                  post being answered; the filled-in Markdown goes into the textarea at the
 *                  cursor, still editable, and the form's hidden canned_response_id is set so
 *                  the use is counted when the reply is posted.
 *
 * Announcements go to a polite status line; errors (a retired response, an appointment link
 * that is no longer configured) to an alert next to the list. No inline handlers or styles:
 * it runs under the strict CSP.
 */
(function () {
  "use strict";

  var doc = document;
  var SEARCH_DELAY_MS = 200;

  function el(tag, attrs, text) {
    var node = doc.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      node.setAttribute(name, attrs[name]);
    });
    if (text) {
      node.textContent = text;
    }
    return node;
  }

  function errorDetail(response, fallback) {
    return response
      .json()
      .then(function (data) {
        return (data && typeof data.detail === "string" && data.detail) || fallback;
      })
      .catch(function () {
        return fallback;
      });
  }

  function setup(picker, index) {
    var form = doc.getElementById(picker.getAttribute("data-form") || "");
    var discussionId = picker.getAttribute("data-discussion-id");
    if (!form || !discussionId || !window.fetch) {
      return; // the server-rendered fallback keeps working
    }
    var textarea = form.querySelector("textarea[name=body]");
    var csrfInput = form.querySelector("input[name=csrf_token]");
    var replyTo = form.querySelector("input[name=reply_to]");
    var used = form.querySelector("input[name=canned_response_id]");
    if (!textarea || !csrfInput) {
      return;
    }
    if (!used) {
      used = el("input", { type: "hidden", name: "canned_response_id", value: "" });
      form.appendChild(used);
    }

    // Keep the server's choices (reply page) to show at once; the API refreshes them.
    var initial = [];
    var initialChoice = "";
    picker.querySelectorAll("select option").forEach(function (option) {
      if (option.selected) {
        initialChoice = option.value;
      }
      var group = option.parentNode.tagName === "OPTGROUP" ? option.parentNode.label : "";
      initial.push({ id: option.value, title: option.textContent, category: group });
    });

    var prefix = "canned-" + index + "-";
    picker.textContent = "";
    picker.classList.add("is-enhanced");
    var label = el("label", { for: prefix + "search" }, "Canned responses");
    var hint = el(
      "p",
      { class: "hint", id: prefix + "hint" },
      "Search, choose one with the arrow keys, then press Enter or Insert. It goes into your " +
        "reply at the cursor, filled in for the member you are answering, and you can edit it."
    );
    var search = el("input", {
      type: "search",
      id: prefix + "search",
      autocomplete: "off",
      "aria-describedby": prefix + "hint",
      "aria-controls": prefix + "list",
      placeholder: "Search canned responses",
    });
    var listLabel = el("span", { id: prefix + "list-label", class: "visually-hidden" }, "Matching responses");
    var list = el("select", {
      id: prefix + "list",
      size: "5",
      "aria-labelledby": prefix + "list-label",
      "aria-describedby": prefix + "hint",
    });
    var insert = el("button", { type: "button", class: "secondary" }, "Insert into reply");
    var status = el("p", { class: "visually-hidden", role: "status", id: prefix + "status" });
    var error = el("p", { class: "field-error", role: "alert", id: prefix + "error" });
    error.hidden = true;
    var row = el("div", { class: "canned-row" });
    row.appendChild(list);
    row.appendChild(insert);
    [label, hint, search, listLabel, row, error, status].forEach(function (node) {
      picker.appendChild(node);
    });

    function announce(message) {
      status.textContent = "";
      window.setTimeout(function () {
        status.textContent = message;
      }, 50);
    }

    function showError(message) {
      error.textContent = message;
      error.hidden = !message;
    }

    function fillList(items) {
      var previous = list.value;
      list.textContent = "";
      var groups = {};
      items.forEach(function (item) {
        var parent = list;
        if (item.category) {
          if (!groups[item.category]) {
            groups[item.category] = el("optgroup", { label: item.category });
            list.appendChild(groups[item.category]);
          }
          parent = groups[item.category];
        }
        parent.appendChild(el("option", { value: String(item.id) }, item.title));
      });
      if (!items.length) {
        var none = el("option", { value: "" }, "No response matches");
        none.disabled = true;
        list.appendChild(none);
      } else {
        list.value = previous; // keep the choice when it still matches
        if (list.selectedIndex < 0) {
          list.selectedIndex = 0;
        }
      }
      insert.disabled = !items.length;
    }

    var searchTimer = null;
    var searchSerial = 0;

    function load(query) {
      var serial = ++searchSerial;
      var url = "/api/v1/canned-responses" + (query ? "?q=" + encodeURIComponent(query) : "");
      return fetch(url, { credentials: "same-origin", headers: { accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) {
            return errorDetail(response, "The canned responses could not be loaded.").then(
              function (detail) {
                throw new Error(detail);
              }
            );
          }
          return response.json();
        })
        .then(function (items) {
          if (serial !== searchSerial) {
            return; // an older search answered late
          }
          fillList(items);
          showError("");
          if (query) {
            announce(items.length + (items.length === 1 ? " response matches." : " responses match."));
          }
        })
        .catch(function (err) {
          if (serial === searchSerial) {
            showError(err.message || "The canned responses could not be loaded.");
          }
        });
    }

    function insertText(markdown) {
      var value = textarea.value;
      var start = typeof textarea.selectionStart === "number" ? textarea.selectionStart : value.length;
      var end = typeof textarea.selectionEnd === "number" ? textarea.selectionEnd : value.length;
      if (doc.activeElement !== textarea && start === 0 && end === 0 && value) {
        start = end = value.length; // never focused: add after the draft
      }
      var before = value.slice(0, start);
      var after = value.slice(end);
      var text = markdown.replace(/\s+$/, "");
      if (before && !/\n\n$/.test(before)) {
        text = (/\n$/.test(before) ? "\n" : "\n\n") + text;
      }
      if (after && !/^\n/.test(after)) {
        text += "\n\n";
      }
      textarea.value = before + text + after;
      var caret = (before + text).length;
      textarea.focus();
      textarea.setSelectionRange(caret, caret);
      textarea.dispatchEvent(new Event("input", { bubbles: true }));
    }

    function insertChosen() {
      var option = list.options[list.selectedIndex];
      if (!option || !option.value) {
        announce("Choose a response first.");
        return;
      }
      var title = option.textContent;
      insert.disabled = true;
      showError("");
      var payload = { discussion_id: parseInt(discussionId, 10) };
      if (replyTo && replyTo.value) {
        payload.reply_to = parseInt(replyTo.value, 10);
      }
      fetch("/api/v1/canned-responses/" + encodeURIComponent(option.value) + "/render", {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "content-type": "application/json",
          accept: "application/json",
          "x-csrf-token": csrfInput.value,
        },
        body: JSON.stringify(payload),
      })
        .then(function (response) {
          if (!response.ok) {
            return errorDetail(response, "That response could not be filled in.").then(
              function (detail) {
                throw new Error(detail);
              }
            );
          }
          return response.json();
        })
        .then(function (data) {
          insertText(data.markdown);
          used.value = String(data.canned_response_id);
          announce("Inserted “" + title + "” into your reply. You can edit it before posting.");
        })
        .catch(function (err) {
          showError(err.message || "That response could not be filled in.");
        })
        .then(function () {
          insert.disabled = false;
        });
    }

    search.addEventListener("input", function () {
      window.clearTimeout(searchTimer);
      searchTimer = window.setTimeout(function () {
        load(search.value.trim());
      }, SEARCH_DELAY_MS);
    });
    search.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" && list.options.length) {
        event.preventDefault();
        list.focus();
      } else if (event.key === "Enter") {
        event.preventDefault(); // not a form: Enter inserts the highlighted response
        insertChosen();
      }
    });
    list.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        insertChosen();
      }
    });
    list.addEventListener("dblclick", insertChosen);
    insert.addEventListener("click", insertChosen);
    // Emptying the reply box means the response is no longer used.
    textarea.addEventListener("input", function () {
      if (!textarea.value.trim()) {
        used.value = "";
      }
    });

    if (initial.length) {
      fillList(initial);
      list.value = initialChoice || list.value;
    } else {
      var loading = el("option", { value: "" }, "Loading…");
      loading.disabled = true;
      list.appendChild(loading);
      insert.disabled = true;
    }
    load("");
  }

  function init() {
    var pickers = doc.querySelectorAll("[data-canned-picker]");
    for (var i = 0; i < pickers.length; i++) {
      setup(pickers[i], i);
    }
  }

  if (doc.readyState === "loading") {
    doc.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
