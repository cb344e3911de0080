/* Kindred: live updates on a discussion page. The page works without this file (reload to
 * see new replies).
 *
 * Listens to /api/v1/discussions/{id}/events (Server-Sent Events):
 * - `post`: a reply became visible. Its HTML comes from /posts/{id}/fragment (rendered for
 *   this reader, with their buttons) and is put in its place in the thread; a polite live
 *   region says who replied. On an earlier page a link to the last page appears instead.
 * - `unread`: the reader's unread notification count, shown in the header.
 * EventSource reconnects by itself (sending Last-Event-ID, so nothing is missed); after a
 * refused connection it tries again later, more slowly each time.
 *
 * Loaded with `defer`; no inline handlers, so it runs under script-src 'self'.
 */
(function () {
  "use strict";

  var doc = document;

  function byId(id) {
    return doc.getElementById(id);
  }

  function setUnread(count) {
    var badge = byId("unread-count");
    if (!badge) {
      return;
    }
    var shown = count > 99 ? "99+" : String(count);
    badge.textContent = "";
    var before = doc.createElement("span");
    before.className = "visually-hidden";
    before.textContent = ": ";
    var after = doc.createElement("span");
    after.className = "visually-hidden";
    after.textContent = " unread";
    badge.appendChild(before);
    badge.appendChild(doc.createTextNode(shown));
    badge.appendChild(after);
    badge.hidden = count === 0;
  }

  function indentOf(post) {
    var match = /(?:^|\s)indent-(\d)(?:\s|$)/.exec(post.className);
    return match ? parseInt(match[1], 10) : 0;
  }

  function setup() {
    var root = byId("live-updates");
    if (!root || !window.EventSource) {
      return;
    }
    var status = byId("live-status");
    var more = byId("live-more");
    var onLastPage = root.getAttribute("data-last-page") === "true";
    var url = root.getAttribute("data-events") + "?after=" + encodeURIComponent(root.getAttribute("data-after") || "0");
    var replies = doc.querySelector("section.replies");
    var pending = {};
    var delay = 5000;
    var source = null;

    root.hidden = false;

    function announce(message) {
      if (!status) {
        return;
      }
      status.textContent = "";
      window.setTimeout(function () {
        status.textContent = message;
      }, 50);
    }

    function showMore() {
      if (more) {
        more.hidden = false;
      }
      announce("New replies on the last page of this discussion.");
    }

    function place(article, replyTo) {
      var parent = replyTo ? byId("post-" + replyTo) : null;
      if (parent && parent.parentNode) {
        // after the parent and everything already nested under it
        var depth = indentOf(parent);
        var next = parent.nextElementSibling;
        while (next && next.matches("article.post") && indentOf(next) > depth) {
          next = next.nextElementSibling;
        }
        parent.parentNode.insertBefore(article, next);
        return true;
      }
      if (replyTo || !onLastPage || !replies) {
        return false; // answers something on another page, or a new top-level reply there
      }
      var empty = replies.querySelector(".empty");
      if (empty) {
        empty.remove();
      }
      replies.appendChild(article);
      return true;
    }

    function insert(data) {
      var id = data.id;
      if (byId("post-" + id) || pending[id]) {
        return;
      }
      pending[id] = true;
      fetch("/posts/" + id + "/fragment", {
        credentials: "same-origin",
        headers: { Accept: "text/html" }
      })
        .then(function (response) {
          return response.ok ? response.text() : null;
        })
        .then(function (html) {
          delete pending[id];
          if (!html || byId("post-" + id)) {
            return;
          }
          var template = doc.createElement("template");
          template.innerHTML = html.trim();
          var article = template.content.querySelector("article.post");
          if (!article) {
            return;
          }
          if (!place(article, data.reply_to)) {
            showMore();
            return;
          }
          article.classList.add("live-new");
          var author = article.querySelector(".author");
          announce("New reply from " + (author ? author.textContent : "a member") + ".");
        })
        .catch(function () {
          delete pending[id];
        });
    }

    function connect() {
      source = new EventSource(url, { withCredentials: true });
      source.addEventListener("open", function () {
        delay = 5000;
      });
      source.addEventListener("post", function (event) {
        try {
          insert(JSON.parse(event.data));
        } catch (e) {
          /* a malformed event is skipped */
        }
      });
      source.addEventListener("unread", function (event) {
        try {
          setUnread(JSON.parse(event.data).count);
        } catch (e) {
          /* skipped */
        }
      });
      source.addEventListener("error", function () {
        // CONNECTING: the browser retries by itself. CLOSED: the server refused; retry later.
        if (source.readyState === EventSource.CLOSED) {
          source.close();
          window.setTimeout(connect, delay);
          delay = Math.min(delay * 2, 120000);
        }
      });
    }

    connect();
    window.addEventListener("pagehide", function () {
      if (source) {
        source.close();
      }
    });
    window.addEventListener("pageshow", function (event) {
      if (event.persisted && source && source.readyState === EventSource.CLOSED) {
        connect();
      }
    });
  }

  if (doc.readyState === "loading") {
    doc.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
})();
