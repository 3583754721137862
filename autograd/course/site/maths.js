// Typeset the $...$ and $$...$$ maths of every page with the KaTeX served by the site itself.
document.addEventListener("DOMContentLoaded", function () {
  renderMathInElement(document.querySelector(".md-content") || document.body, {
    delimiters: [
      { left: "$$", right: "$$", display: true },
      { left: "\\[", right: "\\]", display: true },
      { left: "\\begin{align}", right: "\\end{align}", display: true },
      { left: "$", right: "$", display: false },
      { left: "\\(", right: "\\)", display: false },
    ],
    throwOnError: false,
  });
});
