// Package browser starts Debian's Chromium headless for the browser tests
// of the web UI and the embeddable viewer, driven over the DevTools
// protocol with chromedp. One Browser serves a whole test binary; each test
// opens tabs of its own.
//
// The browser binary comes from the environment variable HASHTRAIL_CHROMIUM
// (CI sets /usr/bin/chromium; .ci/env); tests skip with a message when it is
// unset. Host names under .test resolve to 127.0.0.1 (HostSuffix).
package browser

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Env names the Chromium binary the tests run.
const Env = "HASHTRAIL_CHROMIUM"

// Browser is one headless Chromium with a temporary profile.
type Browser struct {
	alloc       context.Context
	cancelAlloc context.CancelFunc
	root        context.Context // the first tab, which keeps the browser up
	cancelRoot  context.CancelFunc
	dir         string
}

// Start launches the Chromium at path headless, with a fresh user data
// directory, no network activity of its own (updates, sync, QUIC) and no
// sandbox (tests run as root in containers).
func Start(ctx context.Context, path string) (*Browser, error) {
	dir, err := os.MkdirTemp("", "hashtrail-chromium-")
	if err != nil {
		return nil, err
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(dir),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		// Host names under .test reach the loopback interface, so a test
		// can serve a page from an origin that is not a secure context
		// (http://name.test:PORT) or from several distinct host names.
		chromedp.Flag("host-resolver-rules", "MAP *.test 127.0.0.1"),
		chromedp.WindowSize(1280, 800),
	}
	b := &Browser{dir: dir}
	b.alloc, b.cancelAlloc = chromedp.NewExecAllocator(context.WithoutCancel(ctx), opts...)
	b.root, b.cancelRoot = chromedp.NewContext(b.alloc)
	// The first run starts the browser, which lives as long as its
	// context: that context has no deadline.
	if err := chromedp.Do(b.root); err != nil {
		b.Close()
		return nil, fmt.Errorf("browser: starting %s: %w", path, err)
	}
	return b, nil
}

// Close stops the browser and removes its profile.
func (b *Browser) Close() error {
	b.cancelRoot()
	b.cancelAlloc()
	return os.RemoveAll(b.dir)
}

// Tab opens a new tab, closed when the test ends. Its context is bounded by
// timeout, so a test that waits for something that never comes fails
// instead of hanging.
func (b *Browser) Tab(tb testing.TB, timeout time.Duration) context.Context {
	tb.Helper()
	tab, cancel := chromedp.NewContext(b.root)
	if err := chromedp.Do(tab); err != nil {
		cancel()
		tb.Fatalf("browser: opening a tab: %v", err)
	}
	ctx, cancelT := context.WithTimeout(tab, timeout)
	tb.Cleanup(func() { cancelT(); cancel() })
	return ctx
}

// Shared starts a Browser once per test binary on first use and hands it
// to every test that asks; the test skips when HASHTRAIL_CHROMIUM is unset.
// Call Shared.Close from TestMain after the tests ran.
type Shared struct {
	once sync.Once
	b    *Browser
	err  error
}

// Get returns the shared browser, starting it on first use, or skips tb.
func (s *Shared) Get(tb testing.TB) *Browser {
	tb.Helper()
	path := os.Getenv(Env)
	if path == "" {
		tb.Skipf("browser test: set %s to a Chromium binary (e.g. /usr/bin/chromium) to run it", Env)
	}
	s.once.Do(func() { s.b, s.err = Start(context.Background(), path) })
	if s.err != nil {
		tb.Fatal(s.err)
	}
	return s.b
}

// Close stops the browser if it was started.
func (s *Shared) Close() error {
	if s.b == nil {
		return nil
	}
	return s.b.Close()
}
