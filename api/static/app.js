// Little script, by design: the page works without it.
// 1. A changed filter checkbox submits the search form (the "Filter anwenden" button does the same).
// 2. The document view scrolls the cited passage into view (the #p-... anchor usually does already).
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("search");
  if (form) {
    form.querySelectorAll(".filters input[type=checkbox]").forEach(function (box) {
      box.addEventListener("change", function () {
        var page = form.querySelector("input[name=page]");
        if (page) { page.remove(); }
        form.submit();
      });
    });
  }
  var cited = document.querySelector("[data-cited]");
  if (cited && !location.hash) {
    cited.scrollIntoView({block: "center"});
  }
});
