// WOMS — the few lines of plain JavaScript the pages need (no library, nothing fetched).
// The general-criteria total follows what is typed (display only: the service checks).
(function () {
  function parse(text) {
    var value = String(text || "").trim().replace(",", ".");
    if (!/^\d+(\.\d{1,2})?$/.test(value)) return null;
    return Math.round(parseFloat(value) * 100);
  }
  function update() {
    var inputs = document.querySelectorAll("input.points");
    var total = document.getElementById("general-total");
    if (!total || !inputs.length) return;
    var sum = 0, complete = true;
    inputs.forEach(function (input) {
      var cents = parse(input.value);
      if (cents === null) { complete = false; } else { sum += cents; }
    });
    total.textContent = complete ? (sum / 100).toFixed(2).replace(/\.?0+$/, "").replace(".", ",") : "—";
  }
  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("input.points")) update();
  });
  document.addEventListener("DOMContentLoaded", update);
})();
