// The review desk's only script, served by the desk itself (no CDN). Reading works without it.
// Play links move the player to their second; on a call page a reviewer answers from the keyboard:
// j / k move between answers, y / n / a answer the one in focus, c is "complete + next".
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var link = event.target.closest("a.play");
    var player = document.getElementById("player");
    if (!link || !player) return;
    event.preventDefault();
    player.currentTime = parseFloat(link.dataset.t);
    player.play();
  });

  var answers = Array.prototype.slice.call(document.querySelectorAll(".verdict"));
  if (!answers.length) return;
  var focused = -1;
  function focus(index) {
    if (index < 0 || index >= answers.length) return;
    if (focused >= 0) answers[focused].classList.remove("focused");
    focused = index;
    answers[focused].classList.add("focused");
    answers[focused].scrollIntoView({block: "nearest"});
    if (history.replaceState) history.replaceState(null, "", "#" + answers[focused].id);
  }
  var start = answers.findIndex(function (a) { return "#" + a.id === location.hash; });
  focus(start >= 0 ? start : 0);

  function answer(value) {
    var form = answers[focused] && answers[focused].querySelector("form.review-form");
    if (!form) return;
    var button = Array.prototype.find.call(form.querySelectorAll("button[name=answer]"), function (b) {
      return b.value === value;
    });
    if (button) button.click();
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "select" || tag === "textarea" || event.target.isContentEditable) return;
    var key = event.key;
    if (key === "j") focus(focused + 1);
    else if (key === "k") focus(focused - 1);
    else if (key === "y") answer("yes");
    else if (key === "n") answer("no");
    else if (key === "a") answer("n.a.");
    else if (key === "c") { var next = document.getElementById("complete-next"); if (next) next.click(); }
    else return;
    event.preventDefault();
  });
})();
