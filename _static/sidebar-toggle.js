// The phone's ☰ and contents buttons: pydata-sphinx-theme 0.17 binds its click handler to the first
// .primary-toggle / .secondary-toggle on the page only, a hidden copy in the top bar, so the buttons a
// reader can see did nothing (pydata-sphinx-theme#2451, sphinx-book-theme#988). Each visible button
// now passes its click on to the bound one.
document.addEventListener("DOMContentLoaded", () => {
  for (const kind of ["primary-toggle", "secondary-toggle"]) {
    const [bound, ...others] = document.querySelectorAll("." + kind);
    for (const button of others) {
      button.addEventListener("click", (event) => {
        event.preventDefault();
        event.stopPropagation();
        bound.click();
      });
    }
  }
});
