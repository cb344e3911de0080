/* Kindred: small progressive enhancements. Every page works without this file.
 *
 * - "Reply" links on a discussion page open the reply box under the post being answered
 *   (instead of loading /posts/{id}/reply), with a "Replying to @name" line and a cancel
 *   button; the change is announced politely to screen readers.
 * - A form's submit button is disabled once the form is sent, to avoid double posts (the
 *   server also ignores a repeated client_key).
 *
 * Loaded with `defer`; no inline handlers, so it runs under script-src 'self'.
 */
(function () {
  "use strict";

  var doc = document;

  function byId(id) {
    return doc.getElementById(id);
  }

  /* ---- Reply in place ------------------------------------------------------------------ */

  function setupReplies() {
    var form = byId("composer");
    var replyTo = byId("reply_to");
    var body = byId("body");
    var replyingTo = byId("replying-to");
    if (!form || !replyTo || !body || !replyingTo) {
      return;
    }
    var section = form.closest(".composer-section") || form;
    var heading = byId("composer-heading");
    var status = byId("composer-status");
    var homeMarker = doc.createComment("composer home");
    section.parentNode.insertBefore(homeMarker, section);
    var originalHeading = heading ? heading.textContent : "";
    var baseDescribedBy = body.getAttribute("aria-describedby") || "";
    var opener = null; // the Reply link that opened the composer, to return focus on cancel
    var target = null; // the post being answered

    function announce(message) {
      if (!status) {
        return;
      }
      // Clear first so the same message is announced again when repeated.
      status.textContent = "";
      window.setTimeout(function () {
        status.textContent = message;
      }, 50);
    }

    function setDescribedBy(replying) {
      var ids = baseDescribedBy ? baseDescribedBy.split(/\s+/) : [];
      if (replying) {
        ids.unshift("replying-to");
      }
      if (ids.length) {
        body.setAttribute("aria-describedby", ids.join(" "));
      } else {
        body.removeAttribute("aria-describedby");
      }
    }

    function markTarget(post) {
      if (target) {
        target.classList.remove("is-reply-target");
      }
      target = post;
      if (target) {
        target.classList.add("is-reply-target");
      }
    }

    function reset(options) {
      var returnFocus = options && options.returnFocus;
      replyTo.value = "";
      replyingTo.hidden = true;
      replyingTo.textContent = "";
      setDescribedBy(false);
      markTarget(null);
      section.classList.remove("is-inline");
      section.removeAttribute("data-indent");
      if (heading) {
        heading.textContent = originalHeading;
      }
      if (homeMarker.parentNode && section.previousSibling !== homeMarker) {
        homeMarker.parentNode.insertBefore(section, homeMarker.nextSibling);
      }
      if (returnFocus && opener && doc.body.contains(opener)) {
        opener.focus();
      }
      opener = null;
    }

    function indentOf(post) {
      var match = /(?:^|\s)indent-(\d)(?:\s|$)/.exec(post.className);
      return match ? parseInt(match[1], 10) : 0;
    }

    function startReply(link) {
      // the post answered is the article the link sits in ("post-<id>"), its author the
      // name at its head
      var post = link.closest ? link.closest("article.post") : null;
      var postId = post ? post.id.replace(/^post-/, "") : "";
      var name = post ? post.querySelector(".post-head .author") : null;
      var author = name ? name.textContent : "";
      if (!postId || !/^\d+$/.test(postId)) {
        return false;
      }
      opener = link;

      if (post.classList.contains("opening")) {
        // Answering the question is answering the discussion: use the box at the end.
        reset();
        opener = link;
        body.focus();
        announce("Replying to the discussion.");
        return true;
      }

      replyTo.value = postId;
      markTarget(post);

      // "Replying to @name" and a cancel button, built with textContent (no HTML).
      replyingTo.textContent = "";
      var text = doc.createElement("span");
      text.textContent = "Replying to @" + author;
      var cancel = doc.createElement("button");
      cancel.type = "button";
      cancel.className = "secondary small";
      cancel.textContent = "Cancel";
      cancel.setAttribute("aria-label", "Cancel reply to " + author);
      cancel.addEventListener("click", function () {
        reset({ returnFocus: true });
        announce("Reply cancelled. The reply box is back at the end of the discussion.");
      });
      replyingTo.appendChild(text);
      replyingTo.appendChild(doc.createTextNode(" "));
      replyingTo.appendChild(cancel);
      replyingTo.hidden = false;
      setDescribedBy(true);

      if (heading) {
        heading.textContent = "Reply to " + author;
      }

      // Move the reply box right after the post (the draft text moves with it).
      section.classList.add("is-inline");
      section.setAttribute("data-indent", String(Math.min(indentOf(post) + 1, 3)));
      post.parentNode.insertBefore(section, post.nextSibling);

      body.focus();
      announce("Replying to @" + author + ". The reply box is under their post.");
      return true;
    }

    doc.addEventListener("click", function (event) {
      if (event.defaultPrevented || event.button !== 0) {
        return;
      }
      if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
        return; // let "open in new tab/window" work as usual
      }
      var link = event.target.closest ? event.target.closest("a.reply-link") : null;
      if (!link) {
        return;
      }
      if (startReply(link)) {
        event.preventDefault();
      }
    });

    // Escape in the reply box (while answering a post) puts it back, keeping the draft.
    section.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && replyTo.value) {
        reset({ returnFocus: true });
        announce("Reply cancelled. Your draft is kept in the reply box at the end of the discussion.");
      }
    });

    // After "back" from another page the browser may restore the hidden reply_to value while
    // the page looks like a plain reply: keep them consistent.
    window.addEventListener("pageshow", function () {
      if (!replyTo.value || replyingTo.hidden) {
        reset();
      }
    });
  }

  /* ---- Avoid double submits ------------------------------------------------------------ */

  var BUSY_MS = 15000;

  function submitButtons(form) {
    var out = [];
    var elements = form.elements;
    for (var i = 0; i < elements.length; i++) {
      var el = elements[i];
      if ((el.tagName === "BUTTON" && (el.type || "submit") === "submit") ||
          (el.tagName === "INPUT" && el.type === "submit")) {
        out.push(el);
      }
    }
    return out;
  }

  function release(form) {
    submitButtons(form).forEach(function (button) {
      button.disabled = false;
      button.removeAttribute("aria-disabled");
    });
    form.removeAttribute("aria-busy");
    delete form.dataset.submitting;
  }

  function setupSubmitGuard() {
    doc.addEventListener("submit", function (event) {
      var form = event.target;
      if (event.defaultPrevented || !(form instanceof HTMLFormElement)) {
        return;
      }
      // Only forms that change something (GET forms such as searches are harmless to repeat).
      if ((form.getAttribute("method") || "get").toLowerCase() !== "post") {
        return;
      }
      if (form.dataset.submitting) {
        event.preventDefault(); // a second click or Enter while the first is on its way
        return;
      }
      form.dataset.submitting = "1";
      form.setAttribute("aria-busy", "true");
      // Disable after the browser has collected the form data (a disabled submitter would
      // otherwise be left out of it), and only if no other script took the submit over.
      window.setTimeout(function () {
        if (event.defaultPrevented) {
          release(form); // another script sends this form itself (fetch): leave it usable
          return;
        }
        submitButtons(form).forEach(function (button) {
          button.disabled = true;
          button.setAttribute("aria-disabled", "true");
        });
      }, 0);
      // If the answer never comes (network trouble), let the person try again.
      window.setTimeout(function () {
        release(form);
      }, BUSY_MS);
    });

    // Coming back with the back button shows the page from the cache: enable the buttons.
    window.addEventListener("pageshow", function (event) {
      if (event.persisted) {
        var forms = doc.forms;
        for (var i = 0; i < forms.length; i++) {
          release(forms[i]);
        }
      }
    });
  }

  function init() {
    doc.documentElement.classList.add("js");
    setupReplies();
    setupSubmitGuard();
  }

  if (doc.readyState === "loading") {
    doc.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
