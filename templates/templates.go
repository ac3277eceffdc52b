// Package templates embeds the html/template pages that people see:
// sign-in, consent, sign-out, errors and the development result page.
//
// layout.html defines the "base" template with a "title" and a "content"
// block. Each page file redefines those blocks and is parsed together with
// layout.html into a template set of its own, so pages never see each
// other's blocks.
package templates

import "embed"

// FS contains every page template and the shared layout.
//
//go:embed *.html
var FS embed.FS
