/* Shows the chosen files before they are sent. Without it the form
 * works the same; nothing here is needed to classify. */
(function () {
	var input = document.getElementById("predict-images");
	var box = document.getElementById("preview");
	if (!input || !box || !window.FileReader)
		return;
	input.addEventListener("change", function () {
		while (box.firstChild)
			box.removeChild(box.firstChild);
		for (var i = 0; i < input.files.length && i < 64; i++) {
			var f = input.files[i];
			var fig = document.createElement("figure");
			var img = document.createElement("img");
			var cap = document.createElement("figcaption");
			fig.className = "result";
			img.className = "thumb";
			img.alt = f.name;
			img.width = 96;
			img.height = 96;
			/* a data: URL: the page's CSP allows those, not blob: */
			(function (im, file) {
				var rd = new FileReader();
				rd.onload = function () { im.src = rd.result; };
				rd.readAsDataURL(file);
			})(img, f);
			cap.textContent = f.name;
			fig.appendChild(img);
			fig.appendChild(cap);
			box.appendChild(fig);
		}
	});
})();
