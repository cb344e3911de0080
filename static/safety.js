/* Kindred: the personal-information check in the composers. Every form works without this
 * file (the server answers a post with findings with the same choice, app/safety).
 *
 * While typing (debounced) and when the form is sent, the title and body are checked with
 * POST /api/v1/posts/check. Findings are listed under the form, each with "Remove it"
 * (which puts a neutral placeholder in its place in the text) and, for the lot, "Post
 * anyway" (which sends the form with confirm_personal_information). Phrases that read as
 * medical instructions get a gentle hint, never a refusal. A polite live region says what
 * happened. Loaded with `defer`; no inline handlers, so it runs under script-src 'self'.
 */
(function () {
  "use strict";

  var doc = document;
  var DEBOUNCE_MS = 700;

  function el(tag, className, text) {
    var node = doc.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text) {
      node.textContent = text;
    }
    return node;
  }

  // The UTF-16 index of the code point at `points` (an emoji is one code point, two units).
  function unitIndex(value, points) {
    var i = 0;
    for (var n = 0; n < points && i < value.length; n += 1) {
      var c = value.charCodeAt(i);
      i += c >= 0xd800 && c <= 0xdbff && i + 1 < value.length ? 2 : 1;
    }
    return i;
  }

  function setup(form) {
    var body = form.querySelector("textarea[name=body]");
    var csrf = form.querySelector("input[name=csrf_token]");
    if (!body || !csrf || form.dataset.safety) {
      return;
    }
    form.dataset.safety = "on";
    var title = form.querySelector("input[name=title]");
    var confirm = el("input");
    confirm.type = "hidden";
    confirm.name = "confirm_personal_information";
    confirm.value = "";
    form.appendChild(confirm);
    // set once the advice hint has been shown: the server then posts without pausing
    var adviceSeen = el("input");
    adviceSeen.type = "hidden";
    adviceSeen.name = "advice_seen";
    adviceSeen.value = "";
    form.appendChild(adviceSeen);

    var panel = form.querySelector("[data-safety-panel]");
    if (!panel) {
      panel = el("section", "safety-findings");
      panel.setAttribute("data-safety-panel", "");
      panel.setAttribute("aria-label", "Personal information check");
      form.appendChild(panel);
    }
    var status = el("p", "visually-hidden");
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    form.appendChild(status);

    var findings = [];
    var checkedText = null;
    var timer = null;
    var pending = null;

    function texts() {
      return { title: title ? title.value : "", body: body.value };
    }

    function key(t) {
      return t.title + "\u0000" + t.body;
    }

    function check() {
      var t = texts();
      var k = key(t);
      if (k === checkedText && !pending) {
        return Promise.resolve(findings);
      }
      pending = fetch("/api/v1/posts/check", {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "content-type": "application/json",
          accept: "application/json",
          "x-csrf-token": csrf.value,
        },
        body: JSON.stringify({ title: t.title.slice(0, 200), body: t.body.slice(0, 20000) }),
      })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("check failed");
          }
          return response.json();
        })
        .then(function (data) {
          pending = null;
          checkedText = k;
          findings = data.findings || [];
          show(data);
          return findings;
        })
        .catch(function () {
          pending = null;
          return []; // the server checks again when the form is sent
        });
      return pending;
    }

    function removeFinding(finding) {
      var field = finding.field === "title" && title ? title : body;
      var value = field.value;
      // the server counts characters (code points); a string here counts UTF-16 units
      var start = unitIndex(value, finding.start);
      var end = unitIndex(value, finding.end);
      if (value.slice(start, end) !== finding.text) {
        return; // the text changed since: check again
      }
      field.value = value.slice(0, start) + finding.placeholder + value.slice(end);
      status.textContent = "Removed " + finding.label + ".";
      checkedText = null;
      check().then(function (left) {
        var next = panel.querySelector("button");
        if (next && left.length) {
          next.focus();
        } else {
          field.focus();
        }
      });
    }

    function show(data) {
      panel.textContent = "";
      if (findings.length) {
        panel.appendChild(el("h2", "", "Before you post: this may be personal information"));
        panel.appendChild(
          el(
            "p",
            "",
            "Everyone can read posts here, and search engines too. Phone numbers, addresses, " +
              "dates of birth and record numbers are best kept out."
          )
        );
        var list = el("ul", "finding-list");
        findings.forEach(function (finding) {
          var item = el("li", "finding");
          var line = el("p");
          var label = finding.label.charAt(0).toUpperCase() + finding.label.slice(1);
          line.appendChild(el("strong", "", label));
          line.appendChild(doc.createTextNode(finding.field === "title" ? " in the title: " : ": "));
          var mark = el("mark", "", finding.text);
          mark.setAttribute("dir", "auto");
          line.appendChild(mark);
          item.appendChild(line);
          var remove = el("button", "secondary small", "Remove it");
          remove.type = "button";
          remove.setAttribute("aria-label", "Remove it: " + finding.text);
          remove.addEventListener("click", function () {
            removeFinding(finding);
          });
          item.appendChild(remove);
          list.appendChild(item);
        });
        panel.appendChild(list);
        var anyway = el("button", "danger", "Post anyway");
        anyway.type = "button";
        anyway.addEventListener("click", function () {
          confirm.value = "true";
          form.dataset.safetyConfirmed = "yes";
          if (form.requestSubmit) {
            form.requestSubmit();
          } else {
            form.submit();
          }
        });
        var p = el("p");
        p.appendChild(anyway);
        p.appendChild(doc.createTextNode(" "));
        p.appendChild(el("span", "hint", "Moderators will take a look."));
        panel.appendChild(p);
      }
      if (data && data.advice_hint) {
        var hint = el("p", "advice-hint", data.advice_hint);
        hint.setAttribute("role", "note");
        panel.appendChild(hint);
        adviceSeen.value = "1";
      }
    }

    function later() {
      confirm.value = "";
      form.dataset.safetyConfirmed = "";
      clearTimeout(timer);
      timer = setTimeout(check, DEBOUNCE_MS);
    }

    body.addEventListener("input", later);
    if (title) {
      title.addEventListener("input", later);
    }

    form.addEventListener("submit", function (event) {
      var submitter = event.submitter;
      var name = submitter ? submitter.getAttribute("name") : null;
      if (name === "remove_finding" || name === "confirm_personal_information") {
        // the server's own buttons (the page it answered without this script's help)
        if (name === "confirm_personal_information") {
          confirm.value = "true";
        }
        return;
      }
      if (form.dataset.safetyConfirmed === "yes" || form.dataset.safetyChecked === "yes") {
        form.dataset.safetyChecked = "";
        return;
      }
      event.preventDefault();
      var hintSeenBefore = adviceSeen.value === "1";
      check().then(function (found) {
        if (found.length) {
          status.textContent =
            "Your post is not sent yet: it may include personal information. Review it below.";
          var first = panel.querySelector("button");
          if (first) {
            first.focus();
          }
          return;
        }
        if (!hintSeenBefore && adviceSeen.value === "1") {
          // the hint appeared only now: show it once; sending again posts as it is
          status.textContent = "A thought before you post, below. Send again to post as it is.";
          return;
        }
        form.dataset.safetyChecked = "yes";
        // later, not in this microtask: while the submit event is still being dispatched
        // the browser ignores a new requestSubmit()
        window.setTimeout(function () {
          if (form.requestSubmit) {
            form.requestSubmit();
          } else {
            form.submit();
          }
        }, 0);
      });
    });
  }

  function init() {
    var forms = doc.querySelectorAll("form.composer");
    for (var i = 0; i < forms.length; i += 1) {
      setup(forms[i]);
    }
  }

  if (doc.readyState === "loading") {
    doc.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
