package main

import (
	"bufio"
	"context"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/idp/idp/clients"
)

// buildBinary compiles idp into a temporary directory once per test.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "idp")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// devServer is the real binary running idp serve --dev.
type devServer struct {
	startURL string
	password string
}

// startDevServer runs idp serve --dev as the README instructs a new
// user, on a free port and a database of its own, and reads the
// demo credentials it prints.
func startDevServer(t *testing.T) devServer {
	t.Helper()
	bin := buildBinary(t)
	port := freePort(t)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "serve", "--dev",
		"--issuer", fmt.Sprintf("http://localhost:%d", port), "--admin-listen", "127.0.0.1:0")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "IDP_SYSTEM_SECRET=", "IDP_CONFIG=")
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(dir, "stderr.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			logs, _ := os.ReadFile(logFile.Name())
			t.Logf("server log:\n%s", logs)
		}
	})

	var s devServer
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	deadline := time.After(30 * time.Second)
	for s.startURL == "" || s.password == "" {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatal("idp serve --dev exited before printing the demo credentials")
			}
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Try a sign-in:"); ok {
				s.startURL = strings.TrimSpace(v)
			}
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Password:"); ok {
				s.password = strings.TrimSpace(v)
			}
		case <-deadline:
			t.Fatal("idp serve --dev printed no demo credentials within 30s")
		}
	}
	go func() {
		for range lines {
		}
	}()
	waitListening(t, port)
	return s
}

func waitListening(t *testing.T, port int) {
	t.Helper()
	for range 100 {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nothing listens on port %d", port)
}

// newChromium starts a headless Debian chromium, or skips the test
// when it is not installed.
func newChromium(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("browser test needs chromium: apt-get install chromium")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 30*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	return ctx
}

// TestBrowserSignInDevMode follows the README: start idp serve --dev,
// open the printed URL in a real browser, sign in as the demo user,
// approve, and see the ID token claims and the UserInfo response.
func TestBrowserSignInDevMode(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	ctx := newChromium(t)
	srv := startDevServer(t)

	step := func(name string, err error) {
		t.Helper()
		if err != nil {
			location, _ := chromedp.Run(ctx, chromedp.Location())
			body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
			t.Fatalf("%s: %v (at %s)\n%s", name, err, location, body)
		}
	}
	step("open the start URL", chromedp.Do(ctx,
		chromedp.Navigate(srv.startURL),
		chromedp.WaitVisible(chromedp.CSS(`input[name=password]`)),
	))
	banner, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	step("read the login page", err)
	step("sign in", chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), demoUsername),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), srv.password),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`button[value=approve]`)),
	))
	step("approve", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`button[value=approve]`)),
		chromedp.WaitVisible(chromedp.CSS(`pre.json`)),
	))
	result, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	step("read the result page", err)
	location, err := chromedp.Run(ctx, chromedp.Location())
	step("read the location", err)

	if !strings.Contains(banner, "Development mode") {
		t.Errorf("login page lacks the development banner:\n%s", banner)
	}
	for _, want := range []string{`"email": "demo@example.com"`, `"nonce"`, `"sid"`, "UserInfo"} {
		if !strings.Contains(result, want) {
			t.Errorf("result page lacks %s:\n%s", want, result)
		}
	}
	if !strings.Contains(location, "/dev/callback") {
		t.Errorf("browser ended at %s, want the dev callback page", location)
	}
}

// TestBrowserConsentRedirectsToOtherOrigin signs in over HTTPS with the
// app on another origin. Chromium applies the consent page's
// form-action policy to every redirect that follows the form post, so
// this fails if the policy does not allow the app's redirect URI.
func TestBrowserConsentRedirectsToOtherOrigin(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("browser test needs chromium: apt-get install chromium")
	}
	p := newTestProvider(t)
	p.createUser("alice")

	app := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "<!doctype html><title>app</title><p id=code>%s</p>", html.EscapeString(r.URL.Query().Get("code")))
	}))
	t.Cleanup(app.Close)
	md := p.createClient(clients.Metadata{RedirectURIs: []string{app.URL + "/callback"}})
	rp := p.newRelyingParty(md)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.IgnoreCertErrors,
		chromedp.UserDataDir(t.TempDir()),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 30*time.Second)
	t.Cleanup(cancelTimeout)

	err = chromedp.Do(ctx,
		chromedp.Navigate(rp.authURL(oauth2.GenerateVerifier(), nil)),
		chromedp.WaitVisible(chromedp.CSS(`input[name=password]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "alice"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), testPassword),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`button[value=approve]`)),
		chromedp.Click(chromedp.CSS(`button[value=approve]`)),
		chromedp.WaitVisible(chromedp.CSS(`#code`)),
	)
	location, _ := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		t.Fatalf("browser sign-in: %v (at %s)\n%s", err, location, body)
	}
	code, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#code`)))
	if err != nil || !strings.HasPrefix(code, "idp_ac_") {
		t.Fatalf("app received code %q (%v) at %s", code, err, location)
	}
}
