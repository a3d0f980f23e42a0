package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Eval evaluates a JavaScript expression in the tab, awaiting it when it is
// a promise, and decodes its value into T; a thrown error fails the test.
func Eval[T any](tb testing.TB, ctx context.Context, expr string) T {
	tb.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.Fatalf("browser: evaluating %.200s: %v", expr, err)
	}
	return v
}

// Navigate loads url in the tab and waits for it to load.
func Navigate(tb testing.TB, ctx context.Context, url string) {
	tb.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		tb.Fatalf("browser: opening %s: %v", url, err)
	}
}

// WaitFor polls a JavaScript expression until it is truthy, failing the
// test after timeout with what describes the wait and the last value of
// show (an expression; "" shows nothing).
func WaitFor(tb testing.TB, ctx context.Context, timeout time.Duration, what, cond, show string) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+cond+")", chromedp.EvalAwaitPromise))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			var last string
			if show != "" {
				raw, _ := chromedp.Run(ctx, chromedp.Evaluate[[]byte]("String("+show+")"))
				last = string(raw)
			}
			tb.Fatalf("browser: waited %s for %s (%v): %s", timeout, what, err, last)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// Keys types keys (chromedp key names, e.g. "\t" or kb.ArrowDown) into the
// focused element.
func Keys(tb testing.TB, ctx context.Context, keys string) {
	tb.Helper()
	if err := chromedp.Do(ctx, chromedp.KeyEvent(keys)); err != nil {
		tb.Fatalf("browser: typing %q: %v", keys, err)
	}
}

// Viewport sets the tab's viewport size in CSS pixels (scale 1).
func Viewport(tb testing.TB, ctx context.Context, w, h int64) {
	tb.Helper()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(w, h)); err != nil {
		tb.Fatalf("browser: viewport: %v", err)
	}
}

// Screenshot returns a PNG of the tab's viewport.
func Screenshot(tb testing.TB, ctx context.Context) []byte {
	tb.Helper()
	shot := func(ctx context.Context, t *chromedp.Target) ([]byte, error) {
		r, err := cdp.Call(ctx, t, page.CaptureScreenshot, page.CaptureScreenshotParams{Format: page.CaptureScreenshotFormatPng})
		if err != nil {
			return nil, err
		}
		return r.Data, nil
	}
	b, err := chromedp.Run(ctx, chromedp.Action[[]byte](shot))
	if err != nil {
		tb.Fatalf("browser: screenshot: %v", err)
	}
	return b
}

// SaveScreenshot writes the viewport as dir/name.png when the environment
// variable HASHTRAIL_SCREENSHOTS is 1 (the test that documents the UI sets
// it to refresh docs/screenshots).
func SaveScreenshot(tb testing.TB, ctx context.Context, dir, name string) {
	tb.Helper()
	if os.Getenv("HASHTRAIL_SCREENSHOTS") != "1" {
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), Screenshot(tb, ctx), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// JSON returns v as a JavaScript literal.
func JSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("browser: %v", err))
	}
	return string(b)
}

// AllowDownloads saves the tab's downloads into dir (the default browser
// context's setting: every tab of the browser).
func AllowDownloads(tb testing.TB, ctx context.Context, dir string) {
	tb.Helper()
	_, err := chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir})
	if err != nil {
		tb.Fatalf("browser: allowing downloads: %v", err)
	}
}
