/* The web view's keyboard: "/" search, g/t/r/s pages, j/k move between items, Enter opens;
   and a confirmation before a form marked data-confirm (reject) is sent. */
(function () {
  "use strict";
  var ITEMS = "li.hit, li.pending, ul.day li, section.links tbody tr";
  var current = -1;

  function typing(el) {
    return el && (el.tagName === "INPUT" || el.tagName === "SELECT" ||
      el.tagName === "TEXTAREA" || el.isContentEditable);
  }

  function move(step) {
    var items = document.querySelectorAll(ITEMS);
    if (!items.length) return;
    if (current >= 0 && items[current]) items[current].classList.remove("current");
    current = Math.max(0, Math.min(items.length - 1, current + step));
    var item = items[current];
    item.classList.add("current");
    var link = item.querySelector("a");
    if (link) link.focus();
    item.scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("keydown", function (ev) {
    if (ev.defaultPrevented || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var target = ev.target;
    if (typing(target)) {
      if (ev.key === "Escape") target.blur();
      return;
    }
    if (ev.key === "/") {
      var box = document.getElementById("q") || document.getElementById("find");
      if (box) { ev.preventDefault(); box.focus(); box.select(); }
      return;
    }
    if (ev.key === "j" || ev.key === "k") { move(ev.key === "j" ? 1 : -1); return; }
    var nav = document.querySelector('header nav a[data-key="' + ev.key + '"]');
    if (nav) { ev.preventDefault(); window.location.href = nav.getAttribute("href"); }
  });

  document.addEventListener("submit", function (ev) {
    var question = ev.target.getAttribute && ev.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) ev.preventDefault();
  });

  if (document.getElementById("graph")) document.body.classList.add("graph-page");
})();
