// Package static embeds the style sheet and images that the pages load from
// /static/. Pages use no inline styles or scripts, so this style sheet is
// the only styling a strict Content-Security-Policy lets through.
package static

import "embed"

// FS contains idp.css and the SVG images served under /static/.
//
//go:embed *.css *.svg
var FS embed.FS
