// Package browser drives the token pages (package webui), as the example
// server mounts them, in headless Chromium through chromedp. It is a
// module of its own so that chromedp stays out of patkit's go.mod; its
// test skips without Chromium unless PATKIT_REQUIRE_BROWSER=1 (CI).
package browser
