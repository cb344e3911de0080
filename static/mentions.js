/* Kindred: @mention autocomplete in the composers. Every form works without this file.
 *
 * Typing "@" and the start of a name in a reply or discussion box asks
 * /api/v1/users/suggest (the discussion's participants first) and shows a list under the
 * box. The pattern is the ARIA 1.2 combobox with a listbox popup: the textarea keeps focus
 * and points at the highlighted option with aria-activedescendant; Down/Up move, Enter or
 * Tab insert the name, Escape closes the list. A polite live region says how many members
 * match and what was inserted.
 *
 * Loaded with `defer`; no inline handlers, so it runs under script-src 'self'.
 */
(function () {
  "use strict";

  var doc = document;
  // "@" starting a name: not after a word character or inside an address or a path
  var TRIGGER = /(^|[^\w\/.+\-=&?#%@:~$\\`])@([A-Za-z0-9_.\-]{0,30})$/;
  var DEBOUNCE_MS = 120;
  var counter = 0;

  function discussionIdOf(form) {
    var match = /\/discussions\/(\d+)\//.exec(form.getAttribute("action") || "");
    if (match) {
      return match[1];
    }
    var holder = form.closest("[data-discussion-id]");
    return holder ? holder.getAttribute("data-discussion-id") : null;
  }

  function setup(textarea) {
    var form = textarea.form;
    if (!form || textarea.dataset.mentions) {
      return;
    }
    textarea.dataset.mentions = "on";
    counter += 1;
    var listId = "mention-list-" + counter;
    var discussionId = discussionIdOf(form);

    var wrapper = doc.createElement("div");
    wrapper.className = "mention-box";
    textarea.parentNode.insertBefore(wrapper, textarea);
    wrapper.appendChild(textarea);

    var list = doc.createElement("ul");
    list.id = listId;
    list.className = "mention-suggestions";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Members to mention");
    list.hidden = true;
    wrapper.appendChild(list);

    var status = doc.createElement("p");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    wrapper.appendChild(status);

    var hint = doc.createElement("p");
    hint.className = "visually-hidden";
    hint.id = listId + "-hint";
    hint.textContent = "Type @ and the start of a name to mention a member.";
    wrapper.appendChild(hint);
    var described = textarea.getAttribute("aria-describedby");
    textarea.setAttribute("aria-describedby", (described ? described + " " : "") + hint.id);

    textarea.setAttribute("role", "combobox");
    textarea.setAttribute("aria-autocomplete", "list");
    textarea.setAttribute("aria-controls", listId);
    textarea.setAttribute("aria-expanded", "false");

    var items = [];
    var active = -1;
    var query = null; // {start, end, text} of the "@name" being typed
    var timer = null;
    var requestNo = 0;

    function announce(message) {
      status.textContent = "";
      window.setTimeout(function () {
        status.textContent = message;
      }, 30);
    }

    function close() {
      list.hidden = true;
      list.textContent = "";
      items = [];
      active = -1;
      textarea.setAttribute("aria-expanded", "false");
      textarea.removeAttribute("aria-activedescendant");
    }

    function highlight(index) {
      var options = list.querySelectorAll('[role="option"]');
      for (var i = 0; i < options.length; i++) {
        options[i].setAttribute("aria-selected", i === index ? "true" : "false");
      }
      active = index;
      if (index >= 0 && options[index]) {
        textarea.setAttribute("aria-activedescendant", options[index].id);
        options[index].scrollIntoView({ block: "nearest" });
      } else {
        textarea.removeAttribute("aria-activedescendant");
      }
    }

    function show(found) {
      list.textContent = "";
      items = found;
      if (!found.length) {
        close();
        announce("No member matches.");
        return;
      }
      found.forEach(function (member, i) {
        var option = doc.createElement("li");
        option.id = listId + "-option-" + i;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        var name = doc.createElement("span");
        name.textContent = "@" + member.username;
        option.appendChild(name);
        if (member.badge || member.participant) {
          var extra = doc.createElement("span");
          extra.className = "participant";
          extra.textContent = [member.badge, member.participant ? "in this discussion" : ""]
            .filter(Boolean)
            .join(" · ");
          option.appendChild(extra);
        }
        option.addEventListener("mousedown", function (event) {
          event.preventDefault(); // keep focus in the textarea
          choose(i);
        });
        list.appendChild(option);
      });
      list.hidden = false;
      textarea.setAttribute("aria-expanded", "true");
      highlight(0);
      announce(
        found.length + (found.length === 1 ? " member matches" : " members match") +
          ": " + found[0].username + ". Up and down to move, Enter to choose, Escape to close."
      );
    }

    function currentQuery() {
      var caret = textarea.selectionStart;
      if (caret !== textarea.selectionEnd) {
        return null;
      }
      var before = textarea.value.slice(0, caret);
      var match = TRIGGER.exec(before);
      if (!match) {
        return null;
      }
      var text = match[2];
      return { start: caret - text.length - 1, end: caret, text: text };
    }

    function lookup() {
      query = currentQuery();
      if (!query || (!query.text && !discussionId)) {
        close();
        return;
      }
      var params = new URLSearchParams({ q: query.text });
      if (discussionId) {
        params.set("discussion_id", discussionId);
      }
      var mine = ++requestNo;
      fetch("/api/v1/users/suggest?" + params.toString(), {
        credentials: "same-origin",
        headers: { Accept: "application/json" }
      })
        .then(function (response) {
          return response.ok ? response.json() : [];
        })
        .then(function (found) {
          if (mine === requestNo && doc.activeElement === textarea && currentQuery()) {
            show(found);
          }
        })
        .catch(function () {
          close();
        });
    }

    function choose(index) {
      var member = items[index];
      if (!member || !query) {
        return;
      }
      var value = textarea.value;
      var after = value.slice(query.end);
      var insert = "@" + member.username + (/^\s/.test(after) ? "" : " ");
      textarea.value = value.slice(0, query.start) + insert + after;
      var caret = query.start + insert.length;
      textarea.setSelectionRange(caret, caret);
      close();
      announce("@" + member.username + " inserted.");
    }

    textarea.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(lookup, DEBOUNCE_MS);
    });

    textarea.addEventListener("keydown", function (event) {
      if (list.hidden || !items.length) {
        return;
      }
      if (event.key === "ArrowDown") {
        event.preventDefault();
        highlight((active + 1) % items.length);
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        highlight((active - 1 + items.length) % items.length);
      } else if (event.key === "Enter" || event.key === "Tab") {
        if (active >= 0) {
          event.preventDefault();
          choose(active);
        }
      } else if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation(); // closing the list, not cancelling the reply
        close();
        announce("Suggestions closed.");
      }
    });

    textarea.addEventListener("blur", function () {
      window.setTimeout(close, 150);
    });
  }

  function init() {
    var boxes = doc.querySelectorAll("form.composer textarea[name='body']");
    for (var i = 0; i < boxes.length; i++) {
      setup(boxes[i]);
    }
  }

  if (doc.readyState === "loading") {
    doc.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
